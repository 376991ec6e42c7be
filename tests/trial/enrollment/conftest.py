import pytest

from .factories import trial_setup


@pytest.fixture
def trial(users):
    """Personas, an active randomisation list and 5 packs per arm at every site."""
    trial_setup(users["pharmacist"])
    return users
