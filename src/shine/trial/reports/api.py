"""Progress, freezes and interim reports over the API: the same selectors and services as the pages."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from ninja import Router

from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.errors import Refused, rid

from . import selectors, services
from .models import InterimRun
from .schemas import (
    DsmbRecommendationIn,
    InterimFreezeOut,
    InterimProgressOut,
    InterimRunIn,
    InterimRunOut,
    SponsorLetterOut,
)

router = Router(tags=["reports"])


def _freeze(f) -> dict:
    run = getattr(f, "run", None)
    return {"id": f.pk, "data_cutoff": services.freeze_info(f)["data_cutoff"], "n_randomised": f.n_randomised,
            "n_day90_complete": f.n_day90_complete, "sha256": f.dataset_sha256, "run_id": run.pk if run else None}


def _run(r) -> dict:
    return {"id": r.pk, "freeze_id": r.freeze_id, "data_cutoff": services.freeze_info(r.freeze)["data_cutoff"],
            "n_analysed": r.n_analysed, "open_files": r.open_files}


@router.get("/reports/progress", response=InterimProgressOut)
def progress(request):
    p = selectors.progress(request.user)
    return {**p, "forecast": p["forecast"].as_dict()}


@router.get("/reports/freezes", response=list[InterimFreezeOut])
def freezes(request):
    return [_freeze(f) for f in selectors.freezes_for(request.user)]


@router.post("/reports/freezes", response=InterimFreezeOut)
def take_freeze(request):
    return _freeze(services.take_freeze(user=request.user, request_id=rid(request)))


@router.post("/reports/freezes/{freeze_id}/run", response=InterimRunOut)
def run(request, freeze_id: int, payload: InterimRunIn):
    freeze = selectors.freeze_for(request.user, freeze_id)
    return _run(services.run_interim(freeze, user=request.user, prior_sd=payload.prior_sd, request_id=rid(request)))


@router.get("/reports/interim", response=list[InterimRunOut])
def runs(request):
    return [_run(r) for r in selectors.runs_for(request.user)]


@router.get("/reports/interim/{run_id}/{side}/{name}")
def report_file(request, run_id: int, side: str, name: str):
    if side == "closed":
        require(request.user, Perm.VIEW_DSMB)
    r = selectors.run_for(request.user, run_id)
    try:
        if name == "report.pdf":
            content = services.report_pdf(r, side, user=request.user, request_id=rid(request))
        else:
            content = services.report_file(r, side, name, user=request.user, request_id=rid(request))
    except Refused:
        raise Http404("no such report file") from None
    kind = {"json": "application/json", "pdf": "application/pdf"}.get(name.rsplit(".", 1)[-1],
                                                                      "text/html; charset=utf-8")
    response = HttpResponse(content, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="shine-interim-{r.freeze_id}-{side}-{name}"'
    return response


def _letter(r) -> dict:
    return {"id": r.pk, "meeting_date": r.meeting_date, "decision": str(r.get_decision_display()), "members": r.members,
            "letter": services.sponsor_letter(r)}


@router.get("/reports/recommendations", response=list[SponsorLetterOut])
def recommendations(request):
    """The letters to the sponsor (the rationale stays with the DSMB)."""
    return [_letter(r) for r in selectors.recommendations_for(request.user)]


@router.post("/reports/recommendations", response=SponsorLetterOut)
def record_recommendation(request, payload: DsmbRecommendationIn):
    rec = services.record_recommendation(user=request.user, run=InterimRun.objects.order_by("-pk").first(),
                                         request_id=rid(request), **payload.dict())
    return _letter(rec)
