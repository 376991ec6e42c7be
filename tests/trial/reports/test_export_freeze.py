"""`shine export FORMAT --freeze ID`: the bundle of a stored interim freeze, the same data however much the trial
has moved on since, with the freeze in the manifest; refused unblinded, for an unknown freeze and for one whose
files no longer match their hashes."""

import json

import pytest
from django.core.management import CommandError, call_command

from shine.trial.audit.models import AuditEvent
from shine.trial.records import services as records
from shine.trial.reports import services as reports
from tests.trial.records.factories import SOFA_DAY
from tests.trial.reports.test_export import course, trial  # noqa: F401  (fixtures)


@pytest.fixture
def freeze(course, trial, settings, tmp_path):  # noqa: F811
    settings.VAR_DIR = tmp_path / "var"
    frozen = reports.take_freeze(user=trial["dsmb_statistician"])
    # the trial moves on after the freeze
    p = course[2]
    records.create_daily_record(user=trial["nurse_hgh"], participant=p, study_day=4,
                                values={**SOFA_DAY, "platelets": 33})
    return frozen


def test_a_freeze_exports_as_it_was_frozen(freeze, tmp_path):
    call_command("export", "csv", "--blinded", "--freeze", str(freeze.pk), "--user", "statistician",
                 "--out", str(tmp_path / "f"))
    manifest = json.loads((tmp_path / "f" / "manifest.json").read_text())
    assert manifest["freeze"] == reports.freeze_info(freeze)
    assert manifest["blinded"] is True and manifest["rows"]["daily"] == 9  # not the day entered after
    data = reports.freeze_dir(freeze) / "data"
    for name in ("participants.csv", "daily.csv"):
        assert (tmp_path / "f" / "csv" / name).read_bytes() == (data / name).read_bytes()
    assert manifest["source_sha256"] == freeze.dataset_sha256
    event = AuditEvent.objects.filter(object_type="reports.standard_export").latest("id")
    assert json.loads(event.changes)["freeze"] == [None, freeze.pk]
    # a fresh export has the new day and no freeze
    call_command("export", "csv", "--blinded", "--user", "statistician", "--out", str(tmp_path / "now"))
    now = json.loads((tmp_path / "now" / "manifest.json").read_text())
    assert now["freeze"] is None and now["rows"]["daily"] == 10


def test_a_freeze_is_refused_unblinded_unknown_or_changed(freeze, tmp_path):
    with pytest.raises(CommandError, match="coded A/B"):
        call_command("export", "odm", "--freeze", str(freeze.pk), "--user", "dsmb_statistician",
                     "--out", str(tmp_path / "a"))
    with pytest.raises(CommandError, match="no freeze 999"):
        call_command("export", "odm", "--blinded", "--freeze", "999", "--out", str(tmp_path / "b"))
    daily = reports.freeze_dir(freeze) / "data" / "daily.csv"
    daily.write_bytes(daily.read_bytes() + b"\n")
    with pytest.raises(CommandError, match="no longer matches its SHA-256"):
        call_command("export", "odm", "--blinded", "--freeze", str(freeze.pk), "--out", str(tmp_path / "c"))


def test_a_freeze_through_the_api_and_the_page(freeze, client_for, api_for, settings):
    settings.SHINE_EXPORT_RUNNER = "worker"
    api = api_for("statistician")
    refused = api.post("/api/v1/exports", {"blinded": False, "freeze": freeze.pk}, content_type="application/json")
    assert refused.status_code == 403  # the statistician may not export unblinded at all
    unknown = api.post("/api/v1/exports", {"blinded": True, "freeze": 999}, content_type="application/json")
    assert unknown.status_code == 404 and "no freeze 999" in unknown.json()["detail"]
    r = api.post("/api/v1/exports", {"blinded": True, "formats": ["csv"], "freeze": freeze.pk},
                 content_type="application/json")
    assert r.status_code == 202 and r.json()["freeze"] == freeze.pk
    call_command("export", "jobs", "--once")
    assert api.get(f"/api/v1/exports/{r.json()['id']}").json()["status"] == "done"
    import zipfile

    from shine.trial.reports.models import ExportJob
    from shine.trial.reports.standard_exports import archive_path

    with zipfile.ZipFile(archive_path(ExportJob.objects.get(pk=r.json()["id"]))) as z:
        assert json.loads(z.read("manifest.json"))["freeze"]["id"] == freeze.pk
    # the page offers the freeze; an unblinded role choosing it unblinded is told why not
    web = client_for("statistician")
    assert f'<option value="{freeze.pk}">' in web.get("/exports/standard/").content.decode()
    page = web.post("/exports/standard/", {"formats": ["odm"], "blinded": "true", "freeze": str(freeze.pk)})
    assert page.status_code == 302
    assert "interim freeze" in web.get(page["Location"]).content.decode()
    dsmb = client_for("dsmb_statistician").post("/exports/standard/", {"formats": ["odm"], "blinded": "false",
                                                                      "freeze": str(freeze.pk)})
    assert dsmb.status_code == 400 and "coded A/B" in dsmb.content.decode()
