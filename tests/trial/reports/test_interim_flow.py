"""Progress, freeze, interim run and downloads on a trial entered through the services; who sees what."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from shine import protocol
from shine.trial.accounts.roles import ROLES
from shine.trial.audit.models import AuditEvent
from shine.trial.errors import Refused
from shine.trial.reports import selectors, services
from shine.trial.reports.models import InterimFreeze, InterimRun, ReportDownload
from tests.support import ARM_WORDS
from tests.trial.conftest import PERSONAS

P = protocol.load()
# words only the closed report and the DSMB's part of the page carry
CLOSED_MARKERS = ("observed z", "predictive probability", "key.json", "closed report", "a − b", "futility boundary")
BLINDED = [name for name, (role, _) in PERSONAS.items() if ROLES[role].blinded]


def _body(response) -> str:
    """The response's text, with compressed PDF streams opened (the blind-leak check's reader)."""
    from tests.trial.allocation.test_blind_leak import readable

    return readable(b"".join(response.streaming_content) if response.streaming else response.content).lower()


def test_freeze_run_and_downloads(interim_trial, tmp_path, client_for, api_for):
    u = interim_trial
    dsmb, manager = u["dsmb_statistician"], u["trial_manager"]
    progress = selectors.progress(manager)
    assert [s["code"] for s in progress["sites"]] == list(P.site_codes)  # every site, those with nothing too
    assert sum(s["randomised"] for s in progress["sites"]) == progress["randomised"] == 40
    assert {s["code"] for s in progress["sites"] if s["randomised"] == 0} == {"BBH", "NOH", "HVH", "SUH"}
    assert progress["forecast"].median is not None and not progress["interim_reached"]
    from shine.trial.records.selectors import worklist

    late = [w for w in worklist(manager) if w.item.status == "overdue"]
    assert {s["code"]: s["overdue"] for s in progress["sites"]} == {
        code: sum(w.site == code for w in late) for code in P.site_codes}
    assert all(s["overdue"] is None for s in selectors.progress(dsmb)["sites"])  # no participant access

    with pytest.raises(PermissionDenied):
        services.take_freeze(user=manager)
    out = io.StringIO()
    call_command("interim", "progress", "--user", "trial_manager", stdout=out)
    assert out.getvalue().startswith(f"day-90 complete: {progress['complete']} of 200 (interim), of 380 (maximum)")
    assert "interim expected" in out.getvalue() and "SUH  randomised    0" in out.getvalue()
    from shine.trial.allocation import services as allocation
    from shine.trial.enrollment.models import Participant
    from tests.trial.conftest import PASSWORD

    unblinded = Participant.objects.filter(site__code="HGH").order_by("number").first()
    allocation.emergency_unblind(unblinded, user=u["investigator_hgh"], password=PASSWORD,
                                 reason="uncontrolled bleeding, need to know")
    out = io.StringIO()
    call_command("interim", "snapshot", "--user", "dsmb_statistician", stdout=out)
    freeze = InterimFreeze.objects.get()
    assert out.getvalue().startswith(f"freeze {freeze.pk}: cut-off ")
    with pytest.raises(Exception, match="(?i)may not view dsmb"):
        call_command("interim", "snapshot", "--user", "trial_manager")
    # the dashboard (database) and the freeze (the export, through shine.analysis) count day-90 completions alike
    assert freeze.n_day90_complete == progress["complete"] > 10
    assert freeze.n_randomised == 40

    call_command("interim", "run", "--freeze", str(freeze.pk), "--out", str(tmp_path / "one"),
                 "--user", "dsmb_statistician")
    call_command("interim", "run", "--freeze", str(freeze.pk), "--out", str(tmp_path / "two"),
                 "--user", "dsmb_statistician")
    assert InterimRun.objects.count() == 1
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert [str(f) for f in files] == ["closed/key.json", "closed/manifest.json", "closed/report.html",
                                       "closed/results.json", "open/manifest.json", "open/report.html",
                                       "open/results.json"]
    for f in files:
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes(), f
    run = InterimRun.objects.get()
    results = json.loads((tmp_path / "one" / "closed" / "results.json").read_text())
    assert results["freeze"]["id"] == freeze.pk and run.n_analysed == results["interim"]["n_analysed"]
    assert [r["participant_id"] for r in results["tables"]["emergency_unblindings"]] == [unblinded.number]
    with pytest.raises(Exception, match="may not"):
        call_command("interim", "run", "--freeze", str(freeze.pk), "--out", str(tmp_path / "x"), "--user",
                     "statistician")

    # a changed freeze file is refused, naming it
    data_file = services.freeze_dir(freeze) / "data" / "daily.csv"
    original = data_file.read_bytes()
    data_file.write_bytes(original + b"\n")
    with pytest.raises(Refused, match="daily.csv"):
        services.run_interim(freeze, user=dsmb)
    data_file.write_bytes(original)

    # closed files: the DSMB only, every download recorded with the file's hash
    dsmb_page = client_for("dsmb_statistician")
    r = dsmb_page.get(f"/reports/interim/{run.pk}/closed/report.html")
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    r2 = api_for("dsmb_statistician").get(f"/api/v1/reports/interim/{run.pk}/closed/key.json")
    assert r2.status_code == 200 and set(json.loads(r2.content).values()) == set(P.arms)
    logged = list(ReportDownload.objects.order_by("pk").values_list("user__username", "file", "sha256"))
    assert logged == [("dsmb_statistician", "report.html", hashlib.sha256(r.content).hexdigest()),
                      ("dsmb_statistician", "key.json", hashlib.sha256(r2.content).hexdigest())]
    assert AuditEvent.objects.filter(object_type="reports.reportdownload", action="create").count() == 2
    for persona in ("trial_manager", "statistician", "data_manager"):
        assert client_for(persona).get(f"/reports/interim/{run.pk}/closed/report.html").status_code == 403
        assert api_for(persona).get(f"/api/v1/reports/interim/{run.pk}/closed/results.json").status_code == 403
        opened = client_for(persona).get(f"/reports/interim/{run.pk}/open/report.html")
        assert opened.status_code == 200 and "pooled" in _body(opened)
    assert ReportDownload.objects.count() == 2
    # the audit trail shows blinded roles neither the closed files' hashes nor the downloads'
    events = api_for("auditor").get("/api/v1/audit?page_size=200&object_type=reports.reportdownload").json()["events"]
    assert events and all(ev["changes"]["sha256"][1] != sha for ev, (_, _, sha) in zip(events[::-1], logged))
    run_events = api_for("auditor").get("/api/v1/audit?object_type=reports.interimrun").json()["events"]
    assert run_events and run.closed_files["report.html"] not in json.dumps(run_events)


def test_pages_and_api_by_role(interim_trial, client_for, api_for):
    from shine.trial.reports.demo import load_demo_interim

    lines = load_demo_interim(dsmb=interim_trial["dsmb_statistician"])  # the demo's optional interim step
    run = InterimRun.objects.get()
    freeze = run.freeze
    assert lines[-1].startswith(f"interim: run on {run.n_analysed} participants")
    again = load_demo_interim(dsmb=interim_trial["dsmb_statistician"])
    assert again == ["interim: a freeze exists already; nothing done"]
    files = {"open": (*services.OPEN_FILES, "report.pdf"), "closed": (*services.CLOSED_FILES, "report.pdf")}
    urls = ["/reports/progress/", "/reports/interim/", "/reports/recommendations/",
            *[f"/reports/interim/{run.pk}/{side}/{n}" for side, names in files.items() for n in names]]
    api_urls = ["/api/v1/reports/progress", "/api/v1/reports/interim", "/api/v1/reports/freezes",
                "/api/v1/reports/recommendations",
                *[f"/api/v1/reports/interim/{run.pk}/{side}/{n}" for side, names in files.items() for n in names]]
    readers = {"trial_manager", "data_manager", "statistician"}
    for persona in BLINDED:
        c, api = client_for(persona), api_for(persona)
        for url in urls + api_urls:
            response = (api if url.startswith("/api/") else c).get(url)
            body = _body(response)
            for word in ARM_WORDS:
                assert word not in body, f"{persona} saw {word!r} at {url}"
            for marker in CLOSED_MARKERS:
                assert marker not in body, f"{persona} saw {marker!r} at {url}"
            if "/closed/" in url or url.endswith("/freezes"):
                assert response.status_code == 403, (persona, url)
            else:
                assert response.status_code == (200 if persona in readers else 403), (persona, url,
                                                                                      response.status_code)
    assert ReportDownload.objects.count() == 0
    # the DSMB statistician sees the closed side (so the word check above is not vacuous)
    page = _body(client_for("dsmb_statistician").get("/reports/interim/"))
    assert "closed report" in page and "key.json" in page and "take a freeze" in page
    closed = _body(client_for("dsmb_statistician").get(f"/reports/interim/{run.pk}/closed/report.html"))
    assert "conditional power" in closed and "futility boundary" in closed
    # the PDF: the decision numbers and the reader's name on the page; its download is logged
    pdf = client_for("dsmb_statistician").get(f"/reports/interim/{run.pk}/closed/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-") and pdf["Content-Type"] == "application/pdf"
    text = _body(pdf)
    assert "dsmb_statistician" in text and "dsmb confidential" in text and "predictive probability" in text
    assert list(ReportDownload.objects.filter(file="report.pdf").values_list("user__username", "sha256")) == [
        ("dsmb_statistician", hashlib.sha256(pdf.content).hexdigest())]
    # in Danish for a Danish reader: the frame and the statistics' decimal comma; the tables' rows as computed
    danish = _body(client_for("dsmb_statistician").get(f"/reports/interim/{run.pk}/closed/report.pdf",
                                                       headers={"Accept-Language": "da"}))
    assert "dsmb fortroligt" in danish and "sandsynlighed" in danish and "dsmb confidential" not in danish
    assert re.search(r"informationsandel \d,\d{4}", danish)
    opened = _body(client_for("trial_manager").get(f"/reports/interim/{run.pk}/open/report.pdf"))
    assert "trial_manager" in opened and "open report" in opened
    manager = _body(client_for("trial_manager").get("/reports/progress/"))
    assert "expected interim date" in manager and "95 % interval" in manager and "suh" in manager
    assert "closed report" not in _body(client_for("trial_manager").get("/reports/interim/"))
    progress = api_for("trial_manager").get("/api/v1/reports/progress").json()
    assert progress["complete"] == freeze.n_day90_complete and len(progress["sites"]) == len(P.sites)
    # the nurse is not offered the pages and may not open them
    assert "/reports/progress/" not in client_for("nurse_hgh").get("/").content.decode()
    assert "/reports/progress/" in client_for("trial_manager").get("/").content.decode()
    # POSTs: only the DSMB statistician may freeze or run
    assert client_for("trial_manager").post("/reports/interim/freeze/").status_code == 403
    assert api_for("statistician").post(f"/api/v1/reports/freezes/{freeze.pk}/run", {},
                                        content_type="application/json").status_code == 403
    r = api_for("dsmb_statistician").post(f"/api/v1/reports/freezes/{freeze.pk}/run", {"prior_sd": 1.0},
                                          content_type="application/json")
    assert r.status_code == 200 and r.json()["id"] == run.pk
    r = api_for("dsmb_statistician").post(f"/api/v1/reports/freezes/{freeze.pk}/run", {"prior_sd": 2.0},
                                          content_type="application/json")
    assert r.status_code == 400 and "run before" in r.json()["detail"]
    # the refused rerun left the recorded reports as they were
    for side, recorded in (("open", run.open_files), ("closed", run.closed_files)):
        for name, sha in recorded.items():
            path = services.freeze_dir(freeze) / "report" / side / name
            assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, (side, name)
    assert sorted(p.name for p in services.freeze_dir(freeze).iterdir()) == ["data", "report"]


def test_the_interim_notice_is_sent_once(interim_trial, settings, tmp_path, monkeypatch):
    from django.core import mail

    from shine.trial.audit import services as audit

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for name in ("trial_manager", "dsmb_statistician", "nurse_hgh"):
        audit.update(interim_trial[name], actor=audit.Actor.system("tests"), reason="test address",
                     email=f"{name}@example.org")
    assert services.notify_interim_reached() == [] and not mail.outbox  # 40 randomised: far from 200
    complete = selectors.day90_complete_count()
    amended = tmp_path / "amended.toml"
    amended.write_text(protocol.DEFAULT_FILE.read_text().replace("interim_n = 200", f"interim_n = {complete}"))
    monkeypatch.setenv("SHINE_PROTOCOL_FILE", str(amended))
    out = io.StringIO()
    call_command("interim", "notify", stdout=out)
    assert out.getvalue().strip() == "interim reached: notice sent to dsmb_statistician@example.org, " \
                                     "trial_manager@example.org"
    assert len(mail.outbox) == 1 and f"{complete} participants" in mail.outbox[0].body
    for word in ARM_WORDS:
        assert word not in (mail.outbox[0].subject + mail.outbox[0].body).lower()
    assert services.notify_interim_reached() == [] and len(mail.outbox) == 1  # once
    assert AuditEvent.objects.filter(action=services.NOTICE_ACTION).count() == 1
    page = selectors.progress(interim_trial["trial_manager"])
    assert page["interim_reached"] and page["forecast"].reached
