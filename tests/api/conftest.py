"""The personas of tests/trial (same users, same tokens) and a populated trial for the API tests."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.trial.conftest import (  # noqa: F401
    PASSWORD,
    PERSONAS,
    SYSTEM,
    api_for,
    client_for,
    fast_password_hashing,
    sites,
    users,
)


@pytest.fixture
def populated(users):  # noqa: F811  (the fixture imported above, as pytest passes it)
    """An active randomisation list and packs at every site; at HGH and RH: screenings (eligible, not eligible,
    not assessable), an enrolled participant awaiting randomisation and randomised participants with baseline,
    daily records, a blood sample, a follow-up visit and a deviation. Returns the real keys the fuzzer mixes
    into path parameters and bodies."""
    from shine.demo.randomisation import setup_randomisation
    from shine.trial.allocation.models import Pack, RandomisationList
    from shine.trial.enrollment.models import Participant, Screening
    from shine.trial.records import services as records
    from shine.trial.safety import services as safety
    from tests.trial.enrollment.factories import enrolled, screening
    from tests.trial.records.factories import SOFA_DAY, baseline_values, randomised_ago

    setup_randomisation(pharmacist=users["pharmacist"], length_per_site=12, packs_per_arm_per_site=3)
    for site, nurse in (("HGH", users["nurse_hgh"]), ("RH", users["nurse_rh"])):
        screening(nurse, site)                                  # eligible, awaiting a decision
        screening(nurse, site, age=12)                          # not eligible
        screening(nurse, site, lactate_mmol_l=None)             # not assessable
        enrolled(nurse, site)                                   # enrolled, not randomised
        p = randomised_ago(nurse, days=4, site=site)
        records.save_baseline(user=nurse, participant=p, values=baseline_values(p))
        for day in (1, 2):
            records.create_daily_record(user=nurse, participant=p, study_day=day, values=dict(SOFA_DAY))
        records.record_blood_sample(user=nurse, participant=p, study_day=1, sample_id=f"{site}-S1",
                                    drawn_at=p.randomised_at + dt.timedelta(hours=20))
        case = safety.report_event(user=nurse, participant=p, values={
            "term": "bleeding", "onset_at": p.randomised_at + dt.timedelta(hours=1), "serious": True,
            "aware_at": p.randomised_at + dt.timedelta(hours=2), "hospitalisation": True, "severity": "severe",
            "outcome": "recovering", "action": "stopped", "prespecified": "", "related": True})
    participants = list(Participant.objects.order_by("pk"))
    return {
        "case_id": [case.number, case.number.lower()],
        "participant_id": [str(p.pk) for p in participants] + [p.number for p in participants],
        "screening_id": [str(s.pk) for s in Screening.objects.all()] + [s.label for s in Screening.objects.all()],
        "list_id": [str(rl.pk) for rl in RandomisationList.objects.all()],
        "code": ["HGH", "RH", "hgh"],
        "day": ["0", "1", "2", "3"],
        "numbers": [list(Pack.objects.order_by("number").values_list("number", flat=True)[:2])],
        "site": ["HGH", "RH"],
        "screening_id_body": [s.pk for s in Screening.objects.all()],
    }
