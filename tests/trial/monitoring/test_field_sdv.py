"""SDV per field: the monitor verifies single fields of a record; a later change of one of them asks for its
re-verification while the record's other verified fields stay verified (service, page, API, audit)."""

import pytest

from shine.trial.audit.models import AuditEvent
from shine.trial.errors import Refused
from shine.trial.monitoring import casebook, field_sdv
from shine.trial.monitoring.models import FieldVerification
from shine.trial.records import services as records

pytestmark = pytest.mark.django_db


def _status(p, record):
    entry = casebook.entry(p, "daily", str(record.pk))
    return {r.field: r.status for r in field_sdv.field_rows(p, entry)}


def test_a_changed_field_asks_for_reverification_the_others_stay_verified(trial, day1):
    p, monitor, nurse = day1.participant, trial["monitor"], trial["nurse_hgh"]
    assert set(_status(p, day1).values()) == {"not verified"}
    done = field_sdv.verify_fields(user=monitor, participant=p, form="daily", object_id=day1.pk,
                                   fields=["platelets", "map_mmhg"], note="ICU chart")
    assert [v.field for v in done] == ["platelets", "map_mmhg"]
    assert AuditEvent.objects.filter(object_type="monitoring.fieldverification", action="create").count() == 2
    status = _status(p, day1)
    assert status["platelets"] == status["map_mmhg"] == "verified" and status["gcs"] == "not verified"
    with pytest.raises(Refused, match="already verified in their current value: platelets") as e:
        field_sdv.verify_fields(user=monitor, participant=p, form="daily", object_id=day1.pk, fields=["platelets"])
    assert e.value.status == 409
    updated = records.update_daily_record(user=nurse, record=day1, values={"platelets": day1.platelets + 9},
                                          partial=True, reason="lab sheet")
    status = _status(p, day1)
    assert status["platelets"] == "re-verify" and status["map_mmhg"] == "verified"
    row = next(r for r in field_sdv.field_rows(p, casebook.entry(p, "daily", str(day1.pk))) if r.field == "platelets")
    change = AuditEvent.objects.filter(object_type="records.dailyrecord", object_id=str(day1.pk)).latest("id")
    assert row.changed_by_event == change.pk and "platelets" in change.changes
    assert field_sdv.reverify_count(p) == 1
    # changed back to the verified value: still a change the monitor has not seen
    records.update_daily_record(user=nurse, record=updated, values={"platelets": day1.platelets}, partial=True,
                                reason="typo")
    assert _status(p, day1)["platelets"] == "re-verify"
    field_sdv.verify_fields(user=monitor, participant=p, form="daily", object_id=day1.pk, fields=["platelets"])
    assert _status(p, day1)["platelets"] == "verified" and field_sdv.reverify_count(p) == 0


def test_bad_requests_are_refused_naming_the_field(trial, day1):
    p, monitor = day1.participant, trial["monitor"]
    with pytest.raises(Refused, match="is not a field of day 1"):
        field_sdv.verify_fields(user=monitor, participant=p, form="daily", object_id=day1.pk, fields=["arm"])
    with pytest.raises(Refused, match="choose at least one field"):
        field_sdv.verify_fields(user=monitor, participant=p, form="daily", object_id=day1.pk, fields=[])
    with pytest.raises(Refused, match="has no daily record"):
        field_sdv.verify_fields(user=monitor, participant=p, form="daily", object_id="999999", fields=["gcs"])
    from django.core.exceptions import PermissionDenied
    with pytest.raises(PermissionDenied):
        field_sdv.verify_fields(user=trial["nurse_hgh"], participant=p, form="daily", object_id=day1.pk,
                                fields=["gcs"])
    assert not FieldVerification.objects.exists()  # the valid names before a bad one were not half-saved
    with pytest.raises(Refused):
        field_sdv.verify_fields(user=monitor, participant=p, form="daily", object_id=day1.pk,
                                fields=["gcs", "nonsense"])
    assert not FieldVerification.objects.exists()


def test_page_and_api(trial, day1, client_for, api_for):
    p = day1.participant
    url = f"/participants/{p.number}/sdv/daily/{day1.pk}/"
    monitor = client_for("monitor")
    assert url in monitor.get(f"/participants/{p.number}/sdv/").content.decode()
    r = monitor.post(url, {"fields": ["platelets", "gcs"], "note": "chart"})
    assert r.status_code == 302
    page = monitor.get(url).content.decode()
    assert page.count("sdv-verified") == 2
    bad = monitor.post(url, {"fields": ["platelets"]})
    assert bad.status_code == 409 and "already verified" in bad.content.decode()
    assert client_for("nurse_hgh").get(url).status_code == 403
    records.update_daily_record(user=trial["nurse_hgh"], record=day1, values={"gcs": 9}, partial=True,
                                reason="chart")
    assert "1 re-verify" in monitor.get(f"/participants/{p.number}/sdv/").content.decode()
    api = api_for("monitor")
    rows = {r["field"]: r for r in api.get(f"/api/v1/participants/{p.number}/sdv/daily/{day1.pk}").json()}
    assert rows["gcs"]["status"] == "re-verify" and rows["platelets"]["status"] == "verified"
    assert rows["gcs"]["changed_by_event"] and rows["platelets"]["verified_by"] == "monitor"
    r = api.post(f"/api/v1/participants/{p.number}/sdv/field-verifications",
                 {"form": "daily", "object_id": str(day1.pk), "fields": ["gcs"]}, content_type="application/json")
    assert r.status_code == 201 and {x["field"]: x["status"] for x in r.json()}["gcs"] == "verified"
    r = api.post(f"/api/v1/participants/{p.number}/sdv/field-verifications",
                 {"form": "daily", "object_id": str(day1.pk), "fields": ["nope"]}, content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "fields"
    daily = next(x for x in api.get(f"/api/v1/participants/{p.number}/sdv").json() if x["form"] == "daily")
    assert daily["fields_verified"] == 2 and daily["fields_reverify"] == 0
