"""Monitoring visits: recorded by the monitor, listed per site, signed with the password (then unchangeable)."""

import datetime as dt

import pytest
from django.utils import timezone

from shine.trial.audit.models import AuditEvent
from shine.trial.errors import Refused
from shine.trial.monitoring import field_sdv, visits
from tests.trial.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_record_list_sign_then_no_change(trial, day1, client_for, api_for):
    monitor = trial["monitor"]
    field_sdv.verify_fields(user=monitor, participant=day1.participant, form="daily", object_id=day1.pk,
                            fields=["gcs", "platelets"])
    v = visits.record_visit(user=monitor, site_code="hgh", visit_date=timezone.localdate(), kind="routine",
                            findings="ISF complete; one consent form unsigned by the investigator.",
                            actions="Investigator to sign the consent form\nRe-train on the lactate entry")
    assert v.label == "MV-0001" and v.action_list[1] == "Re-train on the lactate entry"
    assert visits.verified_at_visit(v) == {"records": 0, "fields": 2, "participants": [day1.participant.number]}
    with pytest.raises(Refused, match="visit date must be from"):
        visits.record_visit(user=monitor, site_code="HGH", visit_date=timezone.localdate() + dt.timedelta(days=2),
                            kind="routine", findings="x")
    with pytest.raises(Refused, match="site must be one of"):
        visits.record_visit(user=monitor, site_code="XX", visit_date=timezone.localdate(), kind="routine",
                            findings="x")
    with pytest.raises(Refused, match="password is wrong"):
        visits.sign_visit(user=monitor, visit=v, password="nope")
    signed = visits.sign_visit(user=monitor, visit=v, password=PASSWORD)
    assert signed.content_hash == visits.content_hash(signed) and signed.printed_name
    with pytest.raises(Refused, match="is signed"):
        visits.update_visit(user=monitor, visit=signed, findings="changed", actions="", reason="typo")
    assert AuditEvent.objects.filter(object_type="monitoring.monitoringvisit").count() >= 3
    page = client_for("monitor").get("/monitoring/visits/?site=HGH").content.decode()
    assert "MV-0001" in page
    detail = client_for("data_manager").get("/monitoring/visits/1/").content.decode()
    assert "Re-train on the lactate entry" in detail and "valid" in detail
    assert client_for("nurse_hgh").get("/monitoring/visits/").status_code == 403
    api = api_for("monitor")
    r = api.post("/api/v1/monitoring/visits", {"site": "RH", "visit_date": str(timezone.localdate()),
                                               "kind": "remote", "findings": "Remote SDV of the eCRF."},
                 content_type="application/json")
    assert r.status_code == 201 and r.json()["visit_id"] == "MV-0002" and r.json()["signed_at"] is None
    r = api.post("/api/v1/monitoring/visits/MV-0002/signature", {"password": PASSWORD},
                 content_type="application/json")
    assert r.status_code == 200 and r.json()["signature_valid"] is True
    assert [x["visit_id"] for x in api.get("/api/v1/monitoring/visits?site=RH").json()] == ["MV-0002"]
    r = api.post("/api/v1/monitoring/visits", {"site": "RH", "visit_date": "2026-01-01", "kind": "party",
                                               "findings": "x"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "kind"
    assert api_for("nurse_hgh").get("/api/v1/monitoring/visits").status_code == 403
