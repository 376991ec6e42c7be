"""The trial manager's progress dashboard and the DSMB's interim page (docs/interim.md)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.errors import Refused, rid

from . import selectors, services
from .forms import RecommendationForm
from .models import InterimRun

CONTENT_TYPES = {"html": "text/html; charset=utf-8", "json": "application/json", "pdf": "application/pdf"}


def _url_name(side: str, name: str) -> str:
    return f"reports_{side}_{name.replace('.', '_')}"


def file_paths(prefix: str) -> list:
    """One URL per report file (``<prefix>open/report.html`` …): a fixed set, nothing else can be asked for."""
    return [path(f"{prefix}{side}/{name}", report_file, {"side": side, "name": name}, name=_url_name(side, name))
            for side, names in (("open", services.OPEN_FILES), ("closed", services.CLOSED_FILES))
            for name in (*names, "report.pdf")]


def _links(run, side: str, names) -> list[dict]:
    return [{"name": n, "url": reverse(_url_name(side, n), kwargs={"pk": run.pk})} for n in (*names, "report.pdf")]


@login_required
def progress(request):
    return render(request, "reports/progress.html", {"p": selectors.progress(request.user)})


@login_required
def interim_page(request):
    user = request.user
    dsmb = user.can(Perm.VIEW_DSMB)
    runs = [{"run": r, "open": _links(r, "open", services.OPEN_FILES),
             "closed": _links(r, "closed", services.CLOSED_FILES) if dsmb else []} for r in selectors.runs_for(user)]
    return render(request, "reports/interim.html", {
        "runs": runs, "dsmb": dsmb, "freezes": selectors.freezes_for(user) if dsmb else []})


@login_required
@require_POST
def take_freeze(request):
    require(request.user, Perm.VIEW_DSMB)
    try:
        freeze = services.take_freeze(user=request.user, request_id=rid(request))
    except Refused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Freeze %(freeze)s taken: %(randomised)s randomised, %(complete)s with the "
                                    "day-90 outcome known.") % {"freeze": freeze.pk, "randomised": freeze.n_randomised,
                                                                "complete": freeze.n_day90_complete})
    return redirect("reports_interim")


@login_required
@require_POST
def run_interim(request, pk: int):
    freeze = selectors.freeze_for(request.user, pk)
    try:
        run = services.run_interim(freeze, user=request.user, request_id=rid(request))
    except Refused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Interim run on freeze %(freeze)s: %(n)s participants analysed.")
                         % {"freeze": freeze.pk, "n": run.n_analysed})
    return redirect("reports_interim")


@login_required
def report_file(request, pk: int, side: str, name: str):
    if side == "closed":
        require(request.user, Perm.VIEW_DSMB)
    run = selectors.run_for(request.user, pk)
    try:
        if name == "report.pdf":
            content = services.report_pdf(run, side, user=request.user, request_id=rid(request))
        else:
            content = services.report_file(run, side, name, user=request.user, request_id=rid(request))
    except Refused:
        raise Http404("no such report file") from None
    kind = CONTENT_TYPES[name.rsplit(".", 1)[-1]]
    response = HttpResponse(content, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="shine-interim-{run.freeze_id}-{side}-{name}"'
    return response


@login_required
def recommendations(request):
    """DSMB roles record a recommendation and read the whole record; report readers get the letters only."""
    user = request.user
    dsmb = user.can(Perm.VIEW_DSMB)
    items = selectors.recommendations_for(user)
    form = RecommendationForm(request.POST or None) if dsmb else None
    status = 200
    if request.method == "POST":
        require(user, Perm.VIEW_DSMB)
        if form.is_valid():
            try:
                services.record_recommendation(user=user, run=InterimRun.objects.order_by("-pk").first(),
                                               request_id=rid(request), **form.cleaned_data)
            except Refused as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, _("Recommendation recorded."))
                return redirect("reports_recommendations")
        status = 400
    return render(request, "reports/recommendations.html", {"items": items, "dsmb": dsmb, "form": form},
                  status=status)


@login_required
def sponsor_letter(request, pk: int):
    rec = selectors.recommendation_for(request.user, pk)
    response = HttpResponse(services.sponsor_letter(rec), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="shine-dsmb-letter-{rec.pk}.txt"'
    return response
