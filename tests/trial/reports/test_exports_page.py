"""The exports page of the standard formats, as its users click it: a blinded statistician picks formats (and is
never offered the unblinded export, refused if she asks anyway), starts a job, follows its progress and downloads
the ZIP; an unblinded role may choose unblinded; nobody sees another's job; a nurse has no exports page."""

import io
import json
import zipfile

import pytest
from django.core.management import call_command

from shine.trial.audit.models import AuditEvent
from shine.trial.reports.models import ExportJob
from tests.trial.reports.test_export import course, trial  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("course")
URL = "/exports/standard/"


@pytest.fixture
def worker_runner(settings, tmp_path):
    settings.SHINE_EXPORT_RUNNER = "worker"
    settings.VAR_DIR = tmp_path / "var"


def test_a_statistician_starts_follows_and_downloads_a_blinded_export(client_for, worker_runner):
    web = client_for("statistician")
    page = web.get(URL).content.decode()
    assert 'name="formats" value="odm"' in page and 'name="formats" value="spss"' in page
    assert 'value="false"' not in page and "export-unblinded" not in page  # never offered
    assert "standard-exports" in web.get("/exports/").content.decode()  # linked from the export page
    assert web.post(URL, {"formats": ["odm"], "blinded": "false"}).status_code == 403
    assert not ExportJob.objects.exists()
    empty = web.post(URL, {"blinded": "true"})
    assert empty.status_code == 400 and "Choose at least one format" in empty.content.decode()

    r = web.post(URL, {"formats": ["odm", "csv"], "blinded": "true"})
    job = ExportJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"{URL}{job.pk}/"
    waiting = web.get(r["Location"]).content.decode()
    assert "waiting to start" in waiting and 'id="export-progress"' in waiting and "export_job.js" in waiting
    assert "data-refresh-seconds" in waiting and "<script>" not in waiting  # CSP: only the static file
    assert web.get(f"{URL}{job.pk}/download/").status_code == 302  # not done yet: back to the page

    call_command("export", "jobs", "--once")  # the worker
    done = web.get(f"{URL}{job.pk}/").content.decode()
    assert "export-download" in done and "data-refresh-seconds" not in done and "export_job.js" not in done
    assert "Download ZIP" in web.get(URL).content.decode()
    download = web.get(f"{URL}{job.pk}/download/")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["blinded"] is True and manifest["formats"] == ["odm", "csv"]
    assert "odm/shine-odm.xml" in bundle.namelist()
    assert AuditEvent.objects.filter(object_type="reports.exportjob", action="download").count() == 1
    # another user's job is nobody else's business
    assert client_for("dsmb_statistician").get(f"{URL}{job.pk}/").status_code == 404
    assert client_for("dsmb_statistician").get(f"{URL}{job.pk}/download/").status_code == 404


def test_an_unblinded_role_may_choose_unblinded_and_a_nurse_has_no_page(client_for, worker_runner):
    web = client_for("dsmb_statistician")
    assert "export-unblinded" in web.get(URL).content.decode()
    r = web.post(URL, {"formats": ["csv"], "blinded": "false"})
    assert r.status_code == 302 and ExportJob.objects.get().blinded is False
    assert client_for("nurse_hgh").get(URL).status_code == 403


@pytest.mark.parametrize("persona, has_link", [("statistician", True), ("data_manager", True), ("pharmacist", True),
                                               ("dsmb_statistician", True), ("nurse_hgh", False), ("monitor", False)])
def test_the_export_link_is_in_the_menu_of_every_role_that_may_export(users, client_for, persona, has_link):
    from shine.trial.accounts.roles import may_export

    header = client_for(persona).get("/").content.decode().split("<main", 1)[0]
    assert ('href="/exports/"' in header) is has_link is may_export(users[persona], blinded=True)
