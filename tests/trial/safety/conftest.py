import datetime as dt

import pytest
from django.utils import timezone

from shine import protocol
from shine.demo.randomisation import setup_randomisation
from shine.trial.allocation.models import Allocation
from shine.trial.safety import services
from tests.support import TEST_SITES
from tests.trial.records.factories import randomised_ago


@pytest.fixture
def trial(users, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    setup_randomisation(pharmacist=users["pharmacist"], length_per_site=30, packs_per_arm_per_site=12,
                        sites=TEST_SITES)
    return users


@pytest.fixture
def participant(trial):
    return randomised_ago(trial["nurse_hgh"], days=2)


@pytest.fixture
def rsi(trial):
    return services.add_rsi(user=trial["pharmacovigilance"], version="SmPC 2019-05", approved_on=dt.date(2019, 5, 1),
                            in_force_from=timezone.now() - dt.timedelta(days=400),
                            expected_reactions="headache\nflushing\nhypotension")


def sae(p, **over) -> dict:
    now = timezone.now()
    return {"term": "severe bleeding from the gastrointestinal tract", "onset_at": now - dt.timedelta(hours=5),
            "aware_at": now - dt.timedelta(hours=2), "serious": True, "hospitalisation": True,
            "life_threatening": False, "death": False, "severity": "severe", "outcome": "recovering",
            "action": "stopped", "prespecified": "severe_bleeding", "related": True, **over}


def of_arm(trial, arm: str, n: int = 1, *, days: float = 2):
    """Randomised participants at HGH with the given arm (tests may read the arm; the platform's blinded
    views may not)."""
    out = []
    while len(out) < n:
        p = randomised_ago(trial["nurse_hgh"], days=days)
        if Allocation.objects.get(participant=p).slot.arm == arm:
            out.append(p)
    return out


ACTIVE = protocol.load().active_arm
CONTROL = protocol.load().control_arm
