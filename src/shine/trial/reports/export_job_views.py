"""The exports page of the standard formats (docs/exports.md): pick the formats, blinded or (for a role that
may see the allocation) unblinded, start a background job, follow its progress and download the ZIP. The same
jobs and rules as ``POST /api/v1/exports``: a blinded role is never offered the unblinded export, and is
refused it (403) if it asks anyway; a user sees and downloads only their own jobs."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shine.exchange.bundle import FORMATS
from shine.trial.accounts.roles import may_export
from shine.trial.accounts.selectors import require_export
from shine.trial.errors import Refused, rid

from . import standard_exports as jobs
from .models import ExportJob, InterimFreeze

FORMAT_LABELS = {
    "odm": gettext_lazy("CDISC ODM 1.3.2 (XML)"),
    "dataset-json": gettext_lazy("CDISC Dataset-JSON 1.1 (JSON and NDJSON)"),
    "xpt": gettext_lazy("SAS XPORT v5"),
    "stata": gettext_lazy("Stata .dta"),
    "spss": gettext_lazy("SPSS .sav"),
    "csv": gettext_lazy("CSV with an R loader script"),
}
STATUS_LABELS = {
    ExportJob.Status.PENDING: gettext_lazy("waiting to start"),
    ExportJob.Status.RUNNING: gettext_lazy("running"),
    ExportJob.Status.DONE: gettext_lazy("done"),
    ExportJob.Status.FAILED: gettext_lazy("failed"),
}


def _cutoff(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _row(job: ExportJob) -> dict:
    return {"job": job, "status": STATUS_LABELS.get(job.status, job.status), "cutoff": _cutoff(job.data_cutoff),
            "formats": [FORMAT_LABELS.get(f, f) for f in job.formats],
            "active": job.status in (ExportJob.Status.PENDING, ExportJob.Status.RUNNING)}


@login_required
def exports_page(request):
    require_export(request.user, blinded=True)  # any role that may export at all
    can_unblinded = may_export(request.user, blinded=False)
    chosen, error, status = list(FORMATS), "", 200
    if request.method == "POST":
        chosen = [f for f in request.POST.getlist("formats") if f in FORMATS]
        blinded = request.POST.get("blinded", "true") != "false"
        freeze = request.POST.get("freeze") or None
        if not chosen:
            error, status = _("Choose at least one format."), 400
        else:
            require_export(request.user, blinded=blinded)  # 403, as the API, for a blinded role asking unblinded
            try:
                job = jobs.request_export(user=request.user, blinded=blinded, formats=chosen, request_id=rid(request),
                                          freeze=freeze)
            except Refused as exc:
                error, status = exc.message, exc.status
            else:
                messages.success(request, _("Export %(id)s started.") % {"id": job.pk})
                return redirect("reports_export_job", pk=job.pk)
    return render(request, "reports/exports.html", {
        "formats": [(f, FORMAT_LABELS[f], f in chosen) for f in FORMATS], "can_unblinded": can_unblinded,
        "rows": [_row(j) for j in jobs.jobs_for(request.user)[:20]], "error": error,
        "freezes": InterimFreeze.objects.order_by("-pk")[:20]}, status=status)


@login_required
def export_job(request, pk: int):
    require_export(request.user, blinded=True)
    job = jobs.job_for(request.user, pk)
    return render(request, "reports/export_job.html", _row(job))


@login_required
def export_job_download(request, pk: int):
    require_export(request.user, blinded=True)
    job = jobs.job_for(request.user, pk)
    try:
        handle = jobs.open_download(job, user=request.user, request_id=rid(request))
    except Refused as exc:
        messages.error(request, exc.message)
        return redirect("reports_export_job", pk=job.pk)
    return FileResponse(handle, content_type="application/zip", as_attachment=True,
                        filename=f"shine-export-{job.pk}-{'blinded' if job.blinded else 'unblinded'}.zip")
