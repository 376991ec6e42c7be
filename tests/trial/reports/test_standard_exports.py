"""Standard-format exports through the API as background jobs, end to end: request → job id → progress →
download; blinded roles get only blinded files and nothing in them names an arm; every step is audited;
the command line writes the same bundles."""

import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from shine.exchange import odm
from shine.trial.audit.models import AuditEvent
from shine.trial.reports import standard_exports
from shine.trial.reports.models import ExportJob
from tests.trial.allocation.test_blind_leak import check
from tests.trial.reports.test_export import course, trial  # noqa: F401  (fixtures)

ARMS = ("iloprost", "placebo")
pytestmark = pytest.mark.usefixtures("course")


@pytest.fixture
def worker_runner(settings, tmp_path):
    settings.SHINE_EXPORT_RUNNER = "worker"
    settings.VAR_DIR = tmp_path / "var"


def _zip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_a_blinded_role_requests_polls_and_downloads_a_blinded_bundle(api_for, worker_runner, tmp_path):
    api = api_for("statistician")
    refused = api.post("/api/v1/exports", {"blinded": False}, content_type="application/json")
    assert refused.status_code == 403
    assert not ExportJob.objects.exists()

    r = api.post("/api/v1/exports", {"blinded": True, "formats": ["odm", "dataset-json", "xpt", "csv"]},
                 content_type="application/json")
    assert r.status_code == 202, r.content
    job = r.json()
    assert job["status"] == "pending" and job["download"] is None and job["progress"] == 0
    check("statistician", "POST /api/v1/exports", r)
    early = api.get(f"/api/v1/exports/{job['id']}/download")
    assert early.status_code == 409 and "pending" in early.json()["detail"]

    call_command("export", "jobs", "--once")  # the worker
    status = api.get(f"/api/v1/exports/{job['id']}")
    check("statistician", "GET /api/v1/exports/{id}", status)
    done = status.json()
    assert done["status"] == "done" and done["progress"] == 100 and done["blinded"] is True
    assert done["download"] == f"/api/v1/exports/{job['id']}/download"
    listed = api.get("/api/v1/exports")
    check("statistician", "GET /api/v1/exports", listed)
    assert [j["id"] for j in listed.json()] == [job["id"]]

    download = api.get(done["download"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    check("statistician", "GET /api/v1/exports/{id}/download", download)  # opens every file in the ZIP
    bundle = _zip(api.get(done["download"]))
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["blinded"] is True and manifest["exported_by"] == "statistician"
    assert manifest["formats"] == ["odm", "dataset-json", "xpt", "csv"]
    assert manifest["rows"]["participants"] == 3
    odm_file = tmp_path / "odm.xml"
    odm_file.write_bytes(bundle.read("odm/shine-odm.xml"))
    assert odm.validate(odm_file) == []
    arms = set(odm.read(odm_file, blinded=True)["participants"]["arm"])
    assert arms <= {"A", "B"} and arms
    for name in bundle.namelist():
        assert not any(a.encode() in bundle.read(name).lower() for a in ARMS), name

    events = AuditEvent.objects.filter(object_type__in=["reports.exportjob", "reports.standard_export"])
    actions = [(e.object_type, e.action) for e in events.order_by("pk")]
    assert ("reports.exportjob", "create") in actions and ("reports.standard_export", "export") in actions
    assert actions.count(("reports.exportjob", "download")) == 2
    assert ExportJob.objects.get(pk=job["id"]).archive_sha256 == done["archive_sha256"]


def test_an_unblinded_role_gets_the_arms_and_nobody_sees_another_users_job(api_for, worker_runner):
    dsmb = api_for("dsmb_statistician")
    job = dsmb.post("/api/v1/exports", {"blinded": False, "formats": ["dataset-json"]},
                    content_type="application/json").json()
    assert standard_exports.run_pending() == 1
    bundle = _zip(dsmb.get(f"/api/v1/exports/{job['id']}/download"))
    rows = json.loads(bundle.read("dataset-json/participants.json"))["rows"]
    assert {row[2] for row in rows} <= set(ARMS)
    other = api_for("statistician")
    assert other.get(f"/api/v1/exports/{job['id']}").status_code == 404
    assert other.get(f"/api/v1/exports/{job['id']}/download").status_code == 404
    assert other.get("/api/v1/exports").json() == []


def test_bad_requests_are_refused_by_name(api_for, worker_runner):
    api = api_for("statistician")
    r = api.post("/api/v1/exports", {"blinded": True, "formats": ["sas7bdat"]}, content_type="application/json")
    assert r.status_code == 422 and "formats" in json.dumps(r.json())
    assert api_for("nurse_hgh").post("/api/v1/exports", {"blinded": True},
                                     content_type="application/json").status_code == 403
    assert api.get("/api/v1/exports/999").status_code == 404


def test_a_failed_job_ends_failed_with_its_reason(api_for, worker_runner, monkeypatch):
    api = api_for("statistician")
    job = api.post("/api/v1/exports", {"blinded": True, "formats": ["xpt"]}, content_type="application/json").json()

    def broken(*args, **kwargs):
        raise ValueError("deviations.description row 1: the text has non-ASCII characters (SAS XPORT v5 is ASCII)")

    monkeypatch.setattr(standard_exports, "write_bundle", broken)
    standard_exports.run_pending()
    failed = api.get(f"/api/v1/exports/{job['id']}").json()
    assert failed["status"] == "failed" and "non-ASCII" in failed["error"] and failed["download"] is None


def test_the_thread_runner_runs_the_job_after_the_request(users, settings, tmp_path):
    settings.SHINE_EXPORT_RUNNER = "thread"
    settings.VAR_DIR = tmp_path / "var"
    started = []
    import shine.trial.reports.standard_exports as module

    original = module.start_thread
    module.start_thread = lambda job_id: started.append(job_id)
    try:
        from django.db import transaction

        with transaction.atomic():
            job = standard_exports.request_export(user=users["statistician"], blinded=True, formats=["csv"])
            assert started == []  # not before the request's transaction commits
    finally:
        module.start_thread = original
    # pytest-django's test transaction never commits: run what on_commit would have started
    assert standard_exports.run_job(job.pk).status == ExportJob.Status.DONE


def test_command_writes_each_format(tmp_path, capsys):
    call_command("export", "odm", "--out", str(tmp_path / "odm"), "--blinded")
    assert odm.validate(tmp_path / "odm" / "odm" / "shine-odm.xml") == []
    manifest = json.loads((tmp_path / "odm" / "manifest.json").read_text())
    assert manifest["blinded"] is True and manifest["formats"] == ["odm"] and manifest["exported_by"] == "system"
    call_command("export", "all", "--out", str(tmp_path / "all"), "--blinded")
    assert json.loads((tmp_path / "all" / "manifest.json").read_text())["formats"] == list(
        standard_exports.FORMATS)
    with pytest.raises(CommandError, match="unblinded"):
        call_command("export", "stata", "--out", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="allocation"):
        call_command("export", "stata", "--out", str(tmp_path / "x"), "--user", "statistician")
    call_command("export", "stata", "--out", str(tmp_path / "open"), "--user", "dsmb_statistician")
    assert (tmp_path / "open" / "stata" / "participants.dta").is_file()
    assert "written to" in capsys.readouterr().out


def test_demo_leaves_a_finished_blinded_export_for_the_statistician(users, worker_runner, api_for):
    from shine.trial.reports.export_demo import load_demo_exports

    lines = load_demo_exports(statistician=users["statistician"])
    assert len(lines) == 1 and "done" in lines[0], lines
    jobs = api_for("statistician").get("/api/v1/exports").json()
    assert jobs[0]["status"] == "done" and jobs[0]["blinded"] is True
    assert load_demo_exports(statistician=users["statistician"]) == []  # once


def test_audit_trail_file_for_an_inspector_holds_commitments_and_the_chain_result(tmp_path):
    import csv

    from shine.trial.audit.models import AuditEvent as Event

    total = Event.objects.count()
    call_command("export", "audit-trail", "--out", str(tmp_path / "audit"), "--user", "auditor")
    manifest = json.loads((tmp_path / "audit" / "manifest.json").read_text())
    assert manifest["chain_verification"]["ok"] is True and manifest["blinded"] is True
    assert manifest["events"] == total  # the export's own event is written after the file
    raw = (tmp_path / "audit" / "audit-trail.csv").read_bytes()
    import hashlib

    assert hashlib.sha256(raw).hexdigest() == manifest["files"]["audit-trail.csv"]["sha256"]
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    # allocation values are keyed commitments; the only arm word is free text a nurse typed in a deviation,
    # which the audit page shows alike (the trail is not redacted)
    named = [r for r in rows if any(a in (r["old"] + r["new"]).lower() for a in ARMS)]
    assert [(r["object_type"], r["field"]) for r in named] == [("records.deviation", "description")]
    arms = [r for r in rows if r["object_type"] == "allocation.allocation" and r["field"] == "arm"] or [
        r for r in rows if r["field"] == "arm"]
    assert arms and all(r["new"].startswith("hmac-sha256:") for r in arms)
    assert {r["event_id"] for r in rows} == {str(pk) for pk in Event.objects.filter(pk__lte=max(
        int(r["event_id"]) for r in rows)).values_list("pk", flat=True)}
    assert all(r["at"].endswith("+00:00") for r in rows)
    assert Event.objects.filter(object_type="reports.audit_trail", actor="auditor").count() == 1
    with pytest.raises(CommandError, match="audit"):
        call_command("export", "audit-trail", "--out", str(tmp_path / "n"), "--user", "nurse_hgh")


def test_command_names_a_value_the_format_cannot_hold(tmp_path, monkeypatch):
    from shine.exchange import stats

    def refuse(frame, table):
        raise stats.FormatError("deviations.description row 1: the text has non-ASCII characters (SAS XPORT v5 "
                                "is ASCII)")

    monkeypatch.setattr(stats, "check_xport", refuse)
    with pytest.raises(CommandError, match=r"deviations.description row 1: .*non-ASCII"):
        call_command("export", "xpt", "--out", str(tmp_path / "x"), "--blinded")
