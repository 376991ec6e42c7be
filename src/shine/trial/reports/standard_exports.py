"""Exports in the standard formats (docs/exports.md): the analysis data set as made by :func:`.exports.
export_dataset` (same permission rule, same arm coding), converted by :mod:`shine.exchange`, audited.

On the command line (``shine export odm --out DIR``) the bundle is written directly. Through the API an
:class:`~.models.ExportJob` is created and run in the background, so a large export never holds a request:

* ``SHINE_EXPORT_RUNNER = "thread"`` (default): the job starts in a thread of the web process once the
  request's transaction has committed. Needs no broker and works on SQLite and PostgreSQL; a job whose
  process ends mid-way stays ``running`` until :func:`run_pending` is called with ``stale_after``.
* ``"worker"``: jobs wait as ``pending`` for ``shine export jobs`` (``--once`` for one pass, from cron or a
  systemd timer), which runs them in its own process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shine.exchange.bundle import FORMATS, write_bundle
from shine.trial.accounts.models import User
from shine.trial.accounts.selectors import require_export
from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.errors import Refused

from .models import ExportJob, InterimFreeze

SYSTEM = Actor.system("export")


def check_may_export(user: User | None, *, blinded: bool) -> None:
    """The one export rule (``require_export``); without a user (the command line) only the blinded export."""
    if user is None:
        if not blinded:
            raise PermissionError("an unblinded export needs --user with a role that may see the allocation")
        return
    require_export(user, blinded=blinded)


def _formats(formats) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(formats or FORMATS))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise Refused(f"formats: {unknown[0]!r} is not an export format; the formats are {', '.join(FORMATS)}",
                      "formats")
    return chosen


def frozen(freeze_id) -> InterimFreeze:
    """The stored freeze an export is made from, its files checked against their SHA-256 hashes."""
    from .services import _checked_data

    freeze = InterimFreeze.objects.filter(pk=int(freeze_id)).first() if str(freeze_id).isdigit() else None
    if freeze is None:
        raise Refused(_("there is no freeze %(id)s") % {"id": freeze_id}, "freeze", status=404)
    _checked_data(freeze)
    return freeze


def export_standard(out_dir: str | Path, *, user: User | None, blinded: bool, formats=FORMATS,
                    request_id: str = "", progress=None, freeze=None) -> dict:
    """Write a bundle of ``formats`` into ``out_dir`` and audit it. Returns the bundle's manifest.

    Without ``freeze`` the data are taken now (the cut-off is the export's time). With ``freeze`` (an
    :class:`~.models.InterimFreeze` id) the bundle is made from that stored, A/B-coded freeze, its files
    checked against their SHA-256 hashes first: the same data as the interim analysis, whenever exported."""
    from .exports import export_dataset
    from .services import freeze_dir, freeze_info

    check_may_export(user, blinded=blinded)
    formats = _formats(formats)
    exported_by = user.username if user is not None else "system"
    if freeze is not None:
        if not blinded:
            raise Refused(_("a freeze is coded A/B: export it blinded"), "freeze")
        stored = frozen(freeze)
        manifest = write_bundle(freeze_dir(stored) / "data", out_dir, formats=formats, exported_by=exported_by,
                                progress=progress, freeze=freeze_info(stored))
    else:
        with tempfile.TemporaryDirectory(prefix="shine-export-") as tmp:
            export_dataset(Path(tmp) / "data", user=user, blinded=blinded, request_id=request_id, parquet=False)
            manifest = write_bundle(Path(tmp) / "data", out_dir, formats=formats, exported_by=exported_by,
                                    progress=progress)
    actor = Actor.of(user, request_id) if user is not None else SYSTEM
    changes = {"blinded": [None, blinded], "formats": [None, list(formats)],
               "manifest_sha256": [None, hashlib.sha256((Path(out_dir) / "manifest.json").read_bytes()).hexdigest()]}
    if freeze is not None:
        changes["freeze"] = [None, manifest["freeze"]["id"]]
    with transaction.atomic():
        audit.record(actor=actor, action="export", object_type="reports.standard_export",
                     object_id=manifest["data_cutoff"] or "", changes=changes)
    return manifest


# ---------------------------------------------------------------- background jobs

def runner() -> str:
    """``thread`` or ``worker``: the Django setting, else the environment variable, else ``thread``."""
    value = getattr(settings, "SHINE_EXPORT_RUNNER", None) or os.environ.get("SHINE_EXPORT_RUNNER") or "thread"
    if value not in ("thread", "worker"):
        raise ValueError(f"SHINE_EXPORT_RUNNER must be thread or worker, not {value!r}")
    return value


def job_dir(job: ExportJob) -> Path:
    return Path(settings.VAR_DIR) / "exports" / f"job-{job.pk}"


def archive_path(job: ExportJob) -> Path:
    return job_dir(job) / f"shine-export-{job.pk}.zip"


def request_export(*, user: User, blinded: bool, formats=None, request_id: str = "",
                   start: bool = True, freeze=None) -> ExportJob:
    """Create a pending job (permission checked now, and again when it runs and when it is downloaded).
    With the thread runner it starts once the transaction commits, unless ``start`` is False (the caller runs
    it). ``freeze``: the id of a stored interim freeze to export instead of the data as they are then."""
    check_may_export(user, blinded=blinded)
    chosen = _formats(formats)
    stored = None
    if freeze is not None:
        if not blinded:
            raise Refused(_("a freeze is coded A/B: export it blinded"), "freeze")
        stored = frozen(freeze)
    with transaction.atomic():
        job = audit.create(ExportJob, actor=Actor.of(user, request_id), requested_by=user,
                           requested_at=timezone.now(), blinded=blinded, formats=list(chosen), freeze=stored)
        if start and runner() == "thread":
            transaction.on_commit(lambda: start_thread(job.pk))
    return job


def start_thread(job_id: int) -> threading.Thread:
    def target():
        try:
            run_job(job_id)
        finally:
            close_old_connections()

    thread = threading.Thread(target=target, name=f"shine-export-{job_id}", daemon=True)
    thread.start()
    return thread


def _claim(job_id: int) -> ExportJob | None:
    """Mark a pending job running; None when another runner took it first."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id, status=ExportJob.Status.PENDING).first()
        if job is None:
            return None
        return audit.update(job, actor=SYSTEM, reason="export started", status=ExportJob.Status.RUNNING,
                            started_at=timezone.now())


def run_job(job_id: int) -> ExportJob | None:
    job = _claim(job_id)
    if job is None:
        return None
    out = job_dir(job)
    bundle = out / "bundle"

    def progress(done: int, total: int, stage: str) -> None:
        job.progress, job.stage = int(100 * done / total * 0.95), stage[:30]
        job.save(update_fields=["progress", "stage"])

    try:
        if out.exists():
            shutil.rmtree(out)
        manifest = export_standard(bundle, user=job.requested_by, blinded=job.blinded, formats=job.formats,
                                   progress=progress, freeze=job.freeze_id)
        archive = archive_path(job)
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(bundle.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(bundle).as_posix())
        shutil.rmtree(bundle)
        sha = hashlib.sha256()
        with open(archive, "rb") as fh:
            while block := fh.read(1 << 20):
                sha.update(block)
        job.progress, job.stage = 100, "done"
        job.save(update_fields=["progress", "stage"])
        with transaction.atomic():
            return audit.update(job, actor=SYSTEM, reason="export finished", status=ExportJob.Status.DONE,
                                finished_at=timezone.now(), data_cutoff=manifest["data_cutoff"] or "",
                                archive_sha256=sha.hexdigest(), archive_bytes=archive.stat().st_size)
    except Exception as exc:  # the job must end failed with the reason, never stay running
        shutil.rmtree(out, ignore_errors=True)
        message = str(exc) or type(exc).__name__
        with transaction.atomic():
            return audit.update(job, actor=SYSTEM, reason="export failed", status=ExportJob.Status.FAILED,
                                finished_at=timezone.now(), error=message[:2000])


def run_pending(*, stale_after: dt.timedelta | None = None) -> int:
    """Run every pending job (oldest first); with ``stale_after``, first fail jobs left running longer than that
    (their process ended). Returns how many jobs were run."""
    if stale_after is not None:
        limit = timezone.now() - stale_after
        for job in ExportJob.objects.filter(status=ExportJob.Status.RUNNING, started_at__lt=limit):
            with transaction.atomic():
                audit.update(job, actor=SYSTEM, reason="export runner ended", status=ExportJob.Status.FAILED,
                             finished_at=timezone.now(), error="the export stopped before it finished; ask again")
    count = 0
    for job_id in ExportJob.objects.filter(status=ExportJob.Status.PENDING).order_by("pk").values_list("pk", flat=True):
        if run_job(job_id) is not None:
            count += 1
    return count


def jobs_for(user: User):
    """A user's own export jobs (nobody sees another's: its timing and size are the requester's)."""
    return ExportJob.objects.filter(requested_by=user)


def job_for(user: User, job_id: int) -> ExportJob:
    from django.http import Http404

    job = jobs_for(user).filter(pk=job_id).first()
    if job is None:
        raise Http404("no such export")
    return job


def open_download(job: ExportJob, *, user: User, request_id: str = ""):
    """The finished archive, opened for streaming; audited as a download (access log)."""
    if job.status != ExportJob.Status.DONE:
        raise Refused(f"the export is {job.status}, not done", "status", status=409)
    check_may_export(user, blinded=job.blinded)  # a role changed since the request gets nothing unblinded
    path = archive_path(job)
    if not path.is_file():
        raise Refused("the export's file is no longer kept; ask for a new export", "status", status=410)
    with transaction.atomic():
        audit.record(actor=Actor.of(user, request_id), action="download", object_type="reports.exportjob",
                     object_id=str(job.pk), changes={"archive_sha256": [None, job.archive_sha256]})
    return open(path, "rb")
