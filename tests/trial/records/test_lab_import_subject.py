"""Lab import through the API: a Bundle with an Observation of another patient is refused by name, nothing saved."""

import pytest

from shine.trial.records.models import LabObservation
from tests.trial.records.test_lab_import import bundle, day1, obs, post

pytestmark = pytest.mark.django_db


def test_an_observation_of_another_patient_is_refused_with_its_subject(api_for, participant):
    mine = obs("plt-1", "777-3", 90, "10*9/L", day1(participant, 1)) | {
        "subject": {"reference": f"Patient/{participant.number}"}}
    theirs = obs("plt-2", "777-3", 40, "10*9/L", day1(participant, 2)) | {"subject": {"reference": "Patient/RH-0001"}}
    r = post(api_for("nurse_hgh"), participant, bundle(mine, theirs))
    assert r.status_code == 400, r.content
    assert f"Observation plt-2: its subject 'Patient/RH-0001' is not participant {participant.number}" in \
        r.json()["detail"]
    assert not LabObservation.objects.exists()
    assert post(api_for("nurse_hgh"), participant, bundle(mine)).status_code == 201
