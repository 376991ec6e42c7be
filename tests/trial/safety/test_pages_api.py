"""The safety pages and API: the same services; site isolation; refusals on the field; the reminder command."""

import datetime as dt
import json

from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from shine.trial.records import services as records
from shine.trial.safety import services
from shine.trial.safety.models import Case, Reminder

from .conftest import ACTIVE, of_arm, sae


def _local(t):
    return timezone.localtime(t).strftime("%Y-%m-%dT%H:%M")


def page_values(p, **over):
    now = timezone.now()
    v = {"participant": p.number, "term": "anaphylaxis after start of infusion",
         "onset_at": _local(now - dt.timedelta(hours=1)),
         "aware_at": _local(now - dt.timedelta(minutes=30)), "serious": "true", "life_threatening": "on",
         "severity": "severe", "outcome": "recovering", "action": "stopped", "prespecified": "anaphylaxis",
         "related": "true"}
    return {**v, **over}


def test_nurse_reports_an_sae_through_the_page(trial, participant, client_for, django_capture_on_commit_callbacks):
    c = client_for("nurse_hgh")
    home = c.get("/").content.decode()
    assert 'href="/safety/"' in home
    assert c.get("/safety/").status_code == 200 and c.get("/safety/new/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post("/safety/new/", page_values(participant))
    case = Case.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/safety/cases/{case.number}/"
    page = c.get(r["Location"]).content.decode()
    assert "anaphylaxis after start of infusion" in page and "life threatening" in page
    assert len(mail.outbox) == 1


def test_page_refusals_are_shown_on_the_field(trial, participant, client_for):
    c = client_for("nurse_hgh")
    r = c.post("/safety/new/", page_values(participant, life_threatening=""))
    assert r.status_code == 400 and 'data-field="serious"' in r.content.decode()
    r = c.post("/safety/new/", page_values(participant, serious=""))
    assert r.status_code == 400 and "answer yes or no" in r.content.decode()
    r = c.post("/safety/new/", page_values(participant, participant="RH-0001"))
    assert r.status_code == 400 and 'data-field="participant"' in r.content.decode()
    r = c.post("/safety/new/", {"onset_at": "garbage", "serious": "maybe"})
    assert r.status_code == 400
    assert not Case.objects.exists()


def test_access_to_pages(trial, participant, client_for):
    case = services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    url = f"/safety/cases/{case.number}/"
    expected = {"nurse_hgh": 200, "investigator_hgh": 200, "nurse_rh": 404, "monitor": 200, "trial_manager": 200,
                "pharmacovigilance": 200, "statistician": 403, "data_manager": 403, "auditor": 403, "admin": 403,
                "pharmacist": 403, "dsmb_statistician": 403}
    for who, status in expected.items():
        assert client_for(who).get(url).status_code == status, who
    assert client_for("monitor").get(url + "follow-up/").status_code == 403
    assert client_for("nurse_rh").get(url + "follow-up/").status_code == 404
    assert client_for("pharmacovigilance").get("/safety/new/").status_code == 403
    assert client_for("monitor").post("/safety/rsi/", {"version": "x"}).status_code == 403


def test_api_report_follow_up_assess_and_output(trial, participant, api_for, rsi):
    nurse, pv = api_for("nurse_hgh"), api_for("pharmacovigilance")
    body = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in sae(participant).items()}
    r = nurse.post("/api/v1/safety/cases", {**body, "participant_id": participant.number},
                   content_type="application/json")
    assert r.status_code == 201, r.content
    case_id = r.json()["case_id"]
    assert [c["kind"] for c in r.json()["clocks"]] == ["sae_report"] and r.json()["clocks"][0]["state"] == "met"
    bad = nurse.post(f"/api/v1/safety/cases/{case_id}/versions", {**body, "serious": False},
                     content_type="application/json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "serious"
    r = nurse.post(f"/api/v1/safety/cases/{case_id}/versions", {**body, "outcome": "recovered",
                                                                "aware_at": timezone.now().isoformat()},
                   content_type="application/json")
    assert r.status_code == 201 and len(r.json()["versions"]) == 2
    assert api_for("nurse_rh").get(f"/api/v1/safety/cases/{case_id}").status_code == 404
    assert api_for("monitor").post(f"/api/v1/safety/cases/{case_id}/assessments", {"expected": True},
                                   content_type="application/json").status_code == 403
    r = pv.post(f"/api/v1/safety/cases/{case_id}/assessments", {"expected": True, "sponsor_related": False},
                content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "sponsor_related"
    r = pv.post(f"/api/v1/safety/cases/{case_id}/assessments", {"expected": True}, content_type="application/json")
    assert r.status_code == 201 and r.json()["assessments"][0]["rsi_version"] == rsi.version
    out = pv.get(f"/api/v1/safety/cases/{case_id}/output").json()
    assert out["valid"] and out["missing"] == [] and out["case"]["case_version"] == 2
    assert out["case"]["worldwide_case_id"].endswith(case_id)
    assert out["case"]["suspect_product"] == "trial drug (blinded)"
    assert {i["case_id"] for i in pv.get("/api/v1/safety/worklist").json()} <= {case_id}
    assert pv.get("/api/v1/safety/rsi").json()[0]["version"] == rsi.version
    listed = api_for("monitor").get("/api/v1/safety/cases").json()
    assert [c["case_id"] for c in listed] == [case_id]
    assert api_for("nurse_rh").get("/api/v1/safety/cases").json() == []


def test_the_output_validator_names_what_is_missing(trial, participant, client_for):
    from shine.trial.safety import output

    case = services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    out = output.case_output(case, trial["monitor"])
    assert output.missing_elements(out) == []
    broken = {**out, "eu_trial_number": "", "reaction": {**out["reaction"], "meddra_code": "10019021"}}
    assert output.missing_elements(broken) == ["eu_trial_number", "reaction.meddra_version"]
    body = json.loads(client_for("nurse_hgh").get(f"/safety/cases/{case.number}/case.json").content)
    assert body["valid"] is True and body["case"]["coded_subject"] == participant.number


def test_a_death_without_a_fatal_report_is_on_the_worklist(trial, participant, client_for):
    from tests.trial.records.factories import baseline_values

    nurse = trial["nurse_hgh"]
    records.save_baseline(user=nurse, participant=participant, values=baseline_values(participant))
    records.record_death(user=nurse, participant=participant, died_at=timezone.now() - dt.timedelta(hours=1))
    assert "death recorded without a fatal SAE report" in client_for("nurse_hgh").get("/safety/").content.decode()
    services.report_event(user=nurse, participant=participant, values=sae(
        participant, death=True, outcome="fatal", prespecified="", exempt="septic_shock_progression",
        term="death from refractory septic shock", onset_at=timezone.now() - dt.timedelta(hours=1, minutes=5),
        aware_at=timezone.now()))
    assert "death recorded without" not in client_for("nurse_hgh").get("/safety/").content.decode()


def test_remind_twice_sends_one_mail_and_one_line_each(trial, rsi, capsys):
    pv = trial["pharmacovigilance"]
    (p,) = of_arm(trial, ACTIVE, days=8)
    case = services.report_event(user=trial["nurse_hgh"], participant=p, values=sae(
        p, life_threatening=True, onset_at=timezone.now() - dt.timedelta(days=6, hours=2),
        aware_at=timezone.now() - dt.timedelta(days=6, hours=1)))
    services.assess(user=pv, case=case, expected=False)  # a fatal/life-threatening SUSAR: 7 days, due tomorrow
    mail.outbox.clear()
    call_command("safety", "remind")
    first = capsys.readouterr().out.strip().splitlines()
    call_command("safety", "remind")
    second = capsys.readouterr().out.strip().splitlines()
    assert len(first) == 1 and first[0] == "safety remind: 1 clock(s) due or overdue, 1 newly mailed"
    assert second == ["safety remind: 1 clock(s) due or overdue, 0 newly mailed"]
    assert len(mail.outbox) == 1 and case.number in mail.outbox[0].body and Reminder.objects.count() == 1


def test_safety_schema_names_are_unique_in_the_api():
    """OpenAPI components are keyed by class name: a name shared with another app's schema would make one
    endpoint document (and be fuzzed against) the other's shape."""
    import importlib
    import inspect

    from ninja import Schema

    def names(module):
        mod = importlib.import_module(module)
        return {n for n, c in inspect.getmembers(mod, inspect.isclass)
                if issubclass(c, Schema) and c.__module__ == mod.__name__}

    ours = names("shine.trial.safety.schemas")
    for app in ("accounts", "audit", "enrollment", "allocation", "records", "reports", "monitoring"):
        try:
            theirs = names(f"shine.trial.{app}.schemas")
        except ModuleNotFoundError:
            continue
        assert not ours & theirs, app
