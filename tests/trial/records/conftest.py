import pytest

from shine.demo.randomisation import setup_randomisation
from shine.trial.records import services
from tests.support import TEST_SITES

from .factories import baseline_values, randomised_ago


@pytest.fixture
def trial(users):
    setup_randomisation(pharmacist=users["pharmacist"], length_per_site=30, packs_per_arm_per_site=4,
                        sites=TEST_SITES)
    return users


@pytest.fixture
def participant(trial):
    """An HGH participant randomised 3 days ago, with its baseline (ICU stay 1 open)."""
    nurse = trial["nurse_hgh"]
    p = randomised_ago(nurse, days=3)
    services.save_baseline(user=nurse, participant=p, values=baseline_values(p))
    return p
