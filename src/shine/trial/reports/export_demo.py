"""Demo data of the standard-format exports: one finished blinded export job of the statistician, so the API's
list shows a job with its download (GET /api/v1/exports as statistician)."""

from __future__ import annotations

from shine.trial.accounts.models import User

from . import standard_exports
from .models import ExportJob


def load_demo_exports(*, statistician: User) -> list[str]:
    if standard_exports.jobs_for(statistician).filter(status=ExportJob.Status.DONE).exists():
        return []
    job = standard_exports.request_export(user=statistician, blinded=True, formats=None, request_id="demo",
                                          start=False)
    job = standard_exports.run_job(job.pk) or ExportJob.objects.get(pk=job.pk)
    if job.status != ExportJob.Status.DONE:
        return [f"export job {job.pk}: {job.status} ({job.error})"]
    return [f"export job {job.pk} (blinded, every standard format) done for {statistician.username}: "
            f"GET /api/v1/exports/{job.pk}/download ({job.archive_bytes:,} bytes)"]
