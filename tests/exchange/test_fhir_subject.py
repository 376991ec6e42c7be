"""A FHIR Observation whose subject is not the participant being imported is refused with its subject named;
one that names the participant (by reference or identifier), or names nobody, is read."""

import datetime as dt

import pytest

from shine.exchange import fhir_labs as fl

AT = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def obs(rid, subject=None):
    o = {"resourceType": "Observation", "id": rid, "status": "final",
         "code": {"coding": [{"system": fl.LOINC, "code": "777-3"}]}, "effectiveDateTime": AT.isoformat(),
         "valueQuantity": {"value": 90, "unit": "10*9/L", "system": fl.UCUM, "code": "10*9/L"}}
    if subject is not None:
        o["subject"] = subject
    return o


def bundle(*observations):
    return {"resourceType": "Bundle", "type": "collection", "meta": {"source": "urn:lab"},
            "entry": [{"resource": o} for o in observations]}


def test_the_participants_own_observations_are_read():
    values = fl.parse_bundle(bundle(obs("a", {"reference": "Patient/HGH-0007"}),
                                    obs("b", {"identifier": {"system": "urn:shine", "value": "HGH-0007"}}),
                                    obs("c")), received_at=AT, participant="HGH-0007")
    assert [v.resource_id for v in values] == ["a", "b", "c"]


@pytest.mark.parametrize("subject, shown", [
    ({"reference": "Patient/HGH-0008"}, "'Patient/HGH-0008'"),
    ({"reference": "Patient/HGH-00077"}, "'Patient/HGH-00077'"),
    ({"identifier": {"system": "urn:cpr", "value": "0101011234"}}, "'urn:cpr|0101011234'"),
    ({"display": "Jens Hansen"}, "'Jens Hansen'"),
])
def test_another_subject_is_refused_by_name_and_nothing_is_read(subject, shown):
    with pytest.raises(fl.LabRefused) as e:
        fl.parse_bundle(bundle(obs("mine", {"reference": "Patient/HGH-0007"}), obs("theirs", subject)),
                        received_at=AT, participant="HGH-0007")
    assert str(e.value) == f"Observation theirs: its subject {shown} is not participant HGH-0007"
