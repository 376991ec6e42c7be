"""The DSMB's recommendation: recorded by DSMB roles only, audited with the rationale blinded, and a letter to
the sponsor that carries the decision, the date and the signatures and nothing else."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from shine.trial.errors import Refused
from shine.trial.reports import services
from shine.trial.reports.models import Recommendation

RATIONALE = "Group A 14 deaths of 100 against group B 6 of 100; CP 0.04"


def _record(user, **kw):
    values = dict(meeting_date=timezone.localdate(), decision="continue", rationale=RATIONALE,
                  members=["Dr Ada Chair", "Dr Ben Stat"])
    return services.record_recommendation(user=user, **{**values, **kw})


def test_only_the_dsmb_records_and_the_letter_holds_no_result(users, client_for, api_for):
    with pytest.raises(PermissionDenied):
        _record(users["trial_manager"])
    rec = _record(users["dsmb_statistician"], decision="stop_futility")
    letter = services.sponsor_letter(rec)
    assert "Recommendation: stop for futility." in letter and "Dr Ada Chair" in letter
    for leak in ("14", "deaths", "0.04", "group a"):
        assert leak not in letter.lower()
    # the page: the DSMB sees the rationale; the trial manager (sponsor) only the letter
    assert RATIONALE in client_for("dsmb_statistician").get("/reports/recommendations/").content.decode()
    page = client_for("trial_manager").get("/reports/recommendations/").content.decode()
    assert "stop for futility" in page and "14 deaths" not in page and "Record a recommendation" not in page
    got = client_for("trial_manager").get(f"/reports/recommendations/{rec.pk}/letter.txt")
    assert got.status_code == 200 and got.content.decode() == letter
    listed = api_for("trial_manager").get("/api/v1/reports/recommendations").json()
    assert listed[0]["letter"] == letter and RATIONALE not in json.dumps(listed)
    assert client_for("nurse_hgh").get("/reports/recommendations/").status_code == 403
    assert api_for("nurse_hgh").get("/api/v1/reports/recommendations").status_code == 403
    # the audit trail masks the rationale for blinded readers
    events = api_for("auditor").get("/api/v1/audit?object_type=reports.recommendation").json()["events"]
    assert events and RATIONALE not in json.dumps(events)


def test_the_page_and_api_record_and_refuse(users, client_for, api_for):
    c = client_for("dsmb_statistician")
    today = timezone.localdate().isoformat()
    r = c.post("/reports/recommendations/", {"meeting_date": today, "decision": "continue",
                                              "rationale": "no concern", "members": "Dr A\nDr B\n"})
    assert r.status_code == 302 and Recommendation.objects.get().members == ["Dr A", "Dr B"]
    r = c.post("/reports/recommendations/", {"meeting_date": today, "decision": "continue",
                                              "rationale": "no concern", "members": "Dr A"})
    assert r.status_code == 400 and "between 2 and 12 signing members" in r.content.decode()
    assert client_for("trial_manager").post("/reports/recommendations/", {}).status_code == 403
    api = api_for("dsmb_statistician")
    r = api.post("/api/v1/reports/recommendations", {"meeting_date": today, "decision": "stop_harm",
                                                      "rationale": "x", "members": ["Dr A", "Dr C"]},
                 content_type="application/json")
    assert r.status_code == 200 and r.json()["decision"] == "stop for harm"
    r = api.post("/api/v1/reports/recommendations", {"meeting_date": today, "decision": "maybe",
                                                      "rationale": "x", "members": ["Dr A", "Dr C"]},
                 content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "decision"
    assert Recommendation.objects.count() == 2


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"meeting_date": timezone.localdate() + dt.timedelta(days=2)}, "meeting_date", "not be in the future"),
    ({"meeting_date": "2024-01-01"}, "meeting_date", "must be a date"),
    ({"decision": "pause"}, "decision", "must be one of"),
    ({"rationale": "  "}, "rationale", "rationale is required"),
    ({"rationale": "x" * 10_001}, "rationale", "at most 10000"),
    ({"members": ["Dr A"]}, "members", "between 2 and 12"),
    ({"members": ["Dr A", "Dr A"]}, "members", "signs once"),
    ({"members": ["Dr A", "x" * 201]}, "members", "at most 200"),
])
def test_refusals_name_the_field(users, change, field, message):
    with pytest.raises(Refused, match=message) as exc:
        _record(users["dsmb_statistician"], **change)
    assert exc.value.field == field and Recommendation.objects.count() == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"members": ["Dr A\x00", "Dr B"]}, "members"),
    ({"members": "Dr A"}, "members"),
    ({"members": [1, 2]}, "members"),
    ({"rationale": None}, "rationale"),
    ({"meeting_date": "9999-99-99"}, "meeting_date"),
    ({"decision": True}, "decision"),
])
def test_the_api_refuses_impossible_values_naming_the_field(users, api_for, body, field):
    base = {"meeting_date": timezone.localdate().isoformat(), "decision": "continue", "rationale": "fine",
            "members": ["Dr A", "Dr B"]}
    r = api_for("dsmb_statistician").post("/api/v1/reports/recommendations", {**base, **body},
                                          content_type="application/json")
    assert 400 <= r.status_code < 500 and r.json()["errors"][0]["field"].split(".")[0] == field, r.content
    assert Recommendation.objects.count() == 0


@pytest.mark.parametrize("junk", ["x" * 100_000, "ab\x00cd", "9999-99-99", "1e308", "-1", "NaN", ""])
def test_garbage_in_every_field_of_the_form_writes_nothing(users, client_for, junk):
    from shine.trial.audit.models import AuditEvent

    before = AuditEvent.objects.count()
    fields = ("meeting_date", "decision", "rationale", "members")
    r = client_for("dsmb_statistician").post("/reports/recommendations/", {f: junk for f in fields})
    assert r.status_code == 400 and Recommendation.objects.count() == 0
    assert AuditEvent.objects.count() == before
