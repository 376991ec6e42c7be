"""Standard-format exports over the API as background jobs (docs/exports.md):

    POST /api/v1/exports            {"blinded": true, "formats": ["odm", "xpt"], "freeze": 3} → 202, the job
    GET  /api/v1/exports            the user's own jobs
    GET  /api/v1/exports/{id}       status, progress (percent), stage, error
    GET  /api/v1/exports/{id}/download   the bundle as a ZIP once done (audited)
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import FileResponse
from ninja import Router, Schema, Status

from shine.api.inputs import Input
from shine.exchange.bundle import FORMATS
from shine.trial.errors import rid

from . import standard_exports as jobs
from .models import ExportJob

router = Router(tags=["exports"])

Format = Literal[FORMATS]  # type: ignore[valid-type]


class ExportIn(Input):
    blinded: bool = True
    formats: list[Format] | None = None  # all formats when absent
    freeze: int | None = None  # a stored interim freeze instead of the data as they are


class ExportJobOut(Schema):
    id: int
    status: str
    progress: int
    stage: str
    blinded: bool
    formats: list[str]
    freeze: int | None
    requested_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    data_cutoff: str
    error: str
    archive_sha256: str
    archive_bytes: int | None
    download: str | None


def _out(job: ExportJob) -> dict:
    return {"id": job.pk, "status": job.status, "progress": job.progress, "stage": job.stage, "blinded": job.blinded,
            "formats": job.formats, "freeze": job.freeze_id, "requested_at": job.requested_at,
            "started_at": job.started_at, "finished_at": job.finished_at, "data_cutoff": job.data_cutoff,
            "error": job.error,
            "archive_sha256": job.archive_sha256, "archive_bytes": job.archive_bytes,
            "download": f"/api/v1/exports/{job.pk}/download" if job.status == ExportJob.Status.DONE else None}


@router.post("/exports", response={202: ExportJobOut})
def request_export(request, payload: ExportIn):
    job = jobs.request_export(user=request.user, blinded=payload.blinded, formats=payload.formats,
                              request_id=rid(request), freeze=payload.freeze)
    return Status(202, _out(job))


@router.get("/exports", response=list[ExportJobOut])
def list_exports(request):
    return [_out(j) for j in jobs.jobs_for(request.user)[:50]]


@router.get("/exports/{job_id}", response=ExportJobOut)
def export_status(request, job_id: int):
    return _out(jobs.job_for(request.user, job_id))


@router.get("/exports/{job_id}/download")
def download(request, job_id: int):
    job = jobs.job_for(request.user, job_id)
    handle = jobs.open_download(job, user=request.user, request_id=rid(request))
    return FileResponse(handle, content_type="application/zip", as_attachment=True,
                        filename=f"shine-export-{job.pk}-{'blinded' if job.blinded else 'unblinded'}.zip")
