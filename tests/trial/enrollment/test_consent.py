"""Consent of an incapacitated patient: guardian → next of kin → patient; death, never regained capacity,
withdrawal; data permissions; CPR encrypted and shown only to site staff; the worklist; the scoped lookup."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.utils import timezone

from shine.trial.audit.models import AuditEvent
from shine.trial.audit.verify import verify
from shine.trial.enrollment import consent as rules
from shine.trial.enrollment import services
from shine.trial.enrollment.models import ConsentEvent, Participant
from shine.trial.enrollment.selectors import participant_for_user
from shine.trial.enrollment.services import assert_data_collection_allowed
from shine.trial.errors import Refused

from .factories import enrolled, screening

T0 = dt.datetime(2024, 1, 1, 3, 0, tzinfo=dt.UTC)


def ev(kind, hours=0, use=None, vital=None):
    return {"kind": kind, "occurred_at": T0 + dt.timedelta(hours=hours), "use_data_collected": use,
            "continue_vital_status_follow_up": vital}


def test_rules_fold_the_path():
    s = rules.state([ev("guardian_consent")])
    assert (s.status, s.awaiting_next_of_kin, s.awaiting_patient, s.new_data_allowed) == ("guardian", True, True, True)
    s = rules.state([ev("guardian_consent"), ev("next_of_kin_consent", 20)])
    assert (s.awaiting_next_of_kin, s.awaiting_patient) == (False, True)
    s = rules.state([ev("guardian_consent"), ev("next_of_kin_consent", 20), ev("died", 50)])
    assert (s.awaiting_patient, s.new_data_allowed, s.status) == (False, True, "died")
    s = rules.state([ev("guardian_consent"), ev("next_of_kin_refusal", 20, use=True, vital=True)])
    assert (s.new_data_allowed, s.use_data_collected, s.continue_vital_status_follow_up) == (False, True, True)
    assert s.data_restricted_at == T0 + dt.timedelta(hours=20)
    # the patient's own consent outranks the next of kin's refusal
    s = rules.state([ev("guardian_consent"), ev("next_of_kin_refusal", 20, use=False, vital=False),
                     ev("patient_consent", 70)])
    assert (s.new_data_allowed, s.use_data_collected, s.awaiting_patient) == (True, True, False)


@pytest.mark.parametrize(("before", "kind", "why"), [
    ([], "next_of_kin_consent", "guardian's consent must be recorded first"),
    (["guardian_consent"], "guardian_consent", "already consented"),
    (["guardian_consent", "next_of_kin_consent"], "next_of_kin_refusal", "already recorded"),
    (["guardian_consent", "withdrawal"], "patient_consent", "withdrawn"),
    (["guardian_consent", "died"], "patient_consent", "death or never"),
    (["guardian_consent", "patient_consent"], "next_of_kin_consent", "no longer asked"),
    (["guardian_consent", "patient_refusal"], "never_regained_capacity", "already recorded"),
])
def test_rules_refuse_out_of_order_events(before, kind, why):
    assert why in rules.check_next([ev(k) for k in before], kind)


def test_guardian_consent_enrols_with_per_site_numbers(users, client_for):
    nurse, rh = users["nurse_hgh"], users["nurse_rh"]
    assert [enrolled(nurse).number, enrolled(nurse).number, enrolled(rh, "RH").number] == ["HGH-0001", "HGH-0002",
                                                                                          "RH-0001"]
    p = Participant.objects.get(number="HGH-0001")
    g = p.consent_events.get()
    assert (g.kind, g.consenter_role, g.consenter_name, g.second_consenter_name, g.form_version, g.entered_by) == (
        "guardian_consent", "guardian", "Dr A. Andersen", "Dr B. Berg", "v2.1", nurse)
    assert p.screening.outcome == "eligible" and p.awaiting_next_of_kin and p.awaiting_patient
    assert verify().ok


def test_enrol_page_and_refusals(client_for, users):
    nurse = users["nurse_hgh"]
    s = screening(nurse)
    c = client_for("nurse_hgh")
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    data = {"consenter_name": "Dr A", "second_consenter_name": "", "occurred_at": now, "form_version": "v2"}
    r = c.post(f"/screening/{s.pk}/enrol/", data)
    assert r.status_code == 400 and "required" in r.content.decode()
    data["second_consenter_name"] = "Dr B"
    data["cpr"] = "320188-1234"
    r = c.post(f"/screening/{s.pk}/enrol/", data)
    assert r.status_code == 400 and "not a date" in r.content.decode()
    assert not Participant.objects.exists()
    data["cpr"] = "010188-1234"
    r = c.post(f"/screening/{s.pk}/enrol/", data)
    assert r.status_code == 302 and r["Location"] == "/participants/HGH-0001/"
    assert c.post(f"/screening/{s.pk}/enrol/", data).status_code == 409  # already enrolled
    # a not eligible patient cannot be enrolled; another site's staff cannot see the screening
    s2 = screening(nurse, stm_ng_ml=3)
    assert c.post(f"/screening/{s2.pk}/enrol/", data).status_code == 409
    assert client_for("nurse_rh").post(f"/screening/{s.pk}/enrol/", data).status_code == 404
    assert client_for("monitor").post(f"/screening/{s.pk}/enrol/", data).status_code == 403
    # the same CPR number cannot be enrolled twice
    s3 = screening(nurse)
    r = c.post(f"/screening/{s3.pk}/enrol/", data)
    assert r.status_code == 409 and "already enrolled" in r.content.decode()


def test_cpr_is_encrypted_at_rest_and_shown_only_to_site_staff(users, client_for, api_for):
    p = enrolled(users["nurse_hgh"], cpr="0101881234")
    with connection.cursor() as cur:
        cur.execute("SELECT cpr_encrypted, cpr_digest FROM enrollment_participant WHERE id = %s", [p.pk])
        stored, digest = cur.fetchone()
    assert "0101881234" not in stored and "010188-1234" not in stored and stored.startswith("aesgcm1:")
    assert len(digest) == 64
    trail = "".join(AuditEvent.objects.values_list("changes", flat=True))
    assert "010188" not in trail and stored not in trail and digest in trail
    assert "010188-1234" in client_for("nurse_hgh").get(f"/participants/{p.number}/").content.decode()
    assert "010188-1234" in client_for("investigator_hgh").get(f"/participants/{p.number}/").content.decode()
    assert api_for("nurse_hgh").get(f"/api/v1/participants/{p.number}").json()["cpr"] == "010188-1234"
    for persona in ("monitor", "trial_manager", "data_manager"):
        assert client_for(persona).get(f"/participants/{p.number}/").status_code == 200
        assert "010188" not in client_for(persona).get(f"/participants/{p.number}/").content.decode()
        assert api_for(persona).get(f"/api/v1/participants/{p.number}").json()["cpr"] is None
    for persona in ("monitor", "auditor"):
        assert "010188" not in client_for(persona).get("/audit/").content.decode()
    assert verify().ok


def test_consent_path_through_the_api(users, api_for):
    p = enrolled(users["nurse_hgh"])
    api = api_for("nurse_hgh")
    url = f"/api/v1/participants/{p.number}/consents"
    now = timezone.now()
    r = api.post(url, {"kind": "next_of_kin_consent", "occurred_at": now.isoformat(), "consenter_name": "Eva Jensen"},
                 content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "form_version"
    r = api.post(url, {"kind": "next_of_kin_consent", "occurred_at": (now - dt.timedelta(days=2)).isoformat(),
                       "consenter_name": "Eva Jensen", "form_version": "NOK v1"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "occurred_at"
    r = api.post(url, {"kind": "next_of_kin_consent", "occurred_at": now.isoformat(), "consenter_name": "Eva Jensen",
                       "form_version": "NOK v1"}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["consenter_role"] == "next_of_kin" and r.json()["entered_by"] == "nurse_hgh"
    r = api.post(url, {"kind": "next_of_kin_refusal", "occurred_at": now.isoformat(), "consenter_name": "Eva Jensen",
                       "use_data_collected": True, "continue_vital_status_follow_up": True},
                 content_type="application/json")
    assert r.status_code == 409 and "already recorded" in r.json()["detail"]
    out = api.get(f"/api/v1/participants/{p.number}").json()
    assert (out["consent_status"], out["awaiting_next_of_kin"], out["awaiting_patient"]) == ("next_of_kin", False, True)
    assert [e["kind"] for e in out["consent_events"]] == ["guardian_consent", "next_of_kin_consent"]
    r = api_for("nurse_rh").post(url, {"kind": "died", "occurred_at": now.isoformat()}, content_type="application/json")
    assert r.status_code == 404
    r = api_for("monitor").post(url, {"kind": "died", "occurred_at": now.isoformat()}, content_type="application/json")
    assert r.status_code == 403


def test_withdrawal_stops_new_data_but_deletes_nothing(users, client_for):
    p = enrolled(users["nurse_hgh"])
    c = client_for("nurse_hgh")
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    data = {"kind": "withdrawal", "occurred_at": now, "consenter_name": "Eva Jensen", "use_data_collected": "true",
            "continue_vital_status_follow_up": "unknown"}
    r = c.post(f"/participants/{p.number}/consent/", data)
    assert r.status_code == 400 and "say who withdraws" in r.content.decode()
    data["consenter_role"] = "next_of_kin"
    r = c.post(f"/participants/{p.number}/consent/", data)
    assert r.status_code == 400 and "vital status follow up" in r.content.decode()
    assert p.consent_events.count() == 1
    assert_data_collection_allowed(p, kind="data")
    data["continue_vital_status_follow_up"] = "true"
    assert c.post(f"/participants/{p.number}/consent/", data).status_code == 302
    p.refresh_from_db()
    assert (p.consent_status, p.new_data_allowed, p.use_data_collected, p.continue_vital_status_follow_up) == (
        "withdrawn", False, True, True)
    assert not p.awaiting_next_of_kin and not p.awaiting_patient
    assert_data_collection_allowed(p, kind="vital_status")
    with pytest.raises(Refused, match=r"HGH-0001: consent withdrawn on .*new data may not be collected") as e:
        assert_data_collection_allowed(p, kind="data")
    assert e.value.status == 409
    page = c.get(f"/participants/{p.number}/").content.decode()
    assert "not allowed" in page and "may be used" in page
    data.update(kind="patient_consent", form_version="patient v1")
    r = c.post(f"/participants/{p.number}/consent/", data)
    assert r.status_code == 409 and "withdrawn" in r.content.decode()
    assert ConsentEvent.objects.count() == 2 and verify().ok


def test_refusal_without_vital_status_follow_up(users):
    p = enrolled(users["nurse_hgh"])
    services.record_consent(p, user=users["nurse_hgh"], kind="patient_refusal", occurred_at=timezone.now(),
                            consenter_name="Ole Olsen", use_data_collected=False,
                            continue_vital_status_follow_up=False)
    p.refresh_from_db()
    assert not p.use_data_collected
    with pytest.raises(Refused, match="vital status follow-up may not be collected"):
        assert_data_collection_allowed(p, kind="vital_status")
    with pytest.raises(ValueError):
        assert_data_collection_allowed(p, kind="daily")


def test_worklist_oldest_first(users, client_for, api_for):
    nurse = users["nurse_hgh"]
    new = enrolled(nurse, hours_ago=1)
    old = enrolled(nurse, hours_ago=5)
    done = enrolled(nurse, hours_ago=8)
    for kind, name in (("next_of_kin_consent", "Eva"), ("patient_consent", "Ole")):
        services.record_consent(done, user=nurse, kind=kind, occurred_at=timezone.now(), consenter_name=name,
                                form_version="v1")
    services.record_consent(new, user=nurse, kind="next_of_kin_consent", occurred_at=timezone.now(),
                            consenter_name="Eva", form_version="v1")
    # ordered by the time of the guardian's consent, not by when it was entered
    rows = api_for("nurse_hgh").get("/api/v1/participants/worklist").json()
    assert [r["number"] for r in rows] == [old.number, new.number]
    page = client_for("nurse_hgh").get("/participants/worklist/").content.decode()
    assert page.index(old.number) < page.index(new.number) and done.number not in page
    assert api_for("nurse_rh").get("/api/v1/participants/worklist").json() == []


def test_participant_for_user_scopes(users):
    p = enrolled(users["nurse_hgh"])
    assert participant_for_user(users["nurse_hgh"], "hgh-0001", write=True) == p
    assert participant_for_user(users["investigator_hgh"], p.pk) == p
    assert participant_for_user(users["monitor"], p.number) == p
    with pytest.raises(PermissionDenied):
        participant_for_user(users["monitor"], p.number, write=True)
    for key in ("HGH-0001", str(p.pk)):
        with pytest.raises(Http404):
            participant_for_user(users["nurse_rh"], key)
    for key in ("HGH-9999", "nonsense", "../1"):
        with pytest.raises(Http404):
            participant_for_user(users["nurse_hgh"], key)
    for persona in ("pharmacist", "statistician", "auditor"):
        with pytest.raises(PermissionDenied):
            participant_for_user(users[persona], p.number)
