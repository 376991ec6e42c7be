import pytest

from shine.demo.trial import load_demo_trial


@pytest.fixture
def interim_trial(users, settings, tmp_path):
    """A simulated trial entered through the services: 40 participants at HGH and RH (seed 7), about half of
    them past day 90; var folder (freezes, reports) in a temporary directory."""
    settings.VAR_DIR = tmp_path / "var"
    load_demo_trial(users={"HGH": users["nurse_hgh"], "RH": users["nurse_rh"]}, pharmacist=users["pharmacist"],
                    n_patients=40, seed=7)
    return users
