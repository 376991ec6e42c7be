"""Pages of the allocation module: unblinded pharmacy pages, emergency unblinding, the list of unblindings."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shine.trial.accounts.models import Site
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.enrollment.selectors import participant_for_user
from shine.trial.errors import Refused, refuse, rid

from . import lists, selectors, services
from .forms import CreatePacksForm, GenerateListForm, ImportListForm, PackEventForm, UnblindForm


@login_required
def allocation_home(request):
    user = request.user
    rows = Paginator(selectors.allocations_for(user).order_by("-allocated_at"), 100).get_page(request.GET.get("page"))
    return render(request, "allocation/home.html", {
        "lists": selectors.lists_for(user), "stock": selectors.stock(user), "page": rows,
        "can_manage_lists": user.can(Perm.MANAGE_RANDOMISATION), "can_manage_packs": user.can(Perm.MANAGE_PACKS),
    })


def _list_form_page(request, form, template, status=200):
    return render(request, template, {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def list_new(request):
    require(request.user, Perm.MANAGE_RANDOMISATION)
    form = GenerateListForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                rlist = services.generate_list(user=request.user, request_id=rid(request), **form.cleaned_data)
            except Refused as exc:
                status = refuse(form, exc)
            else:
                return redirect("allocation_list", pk=rlist.pk)
    return render(request, "allocation/list_form.html", {"form": form, "title": _("Generate a randomisation list")},
                  status=status)


@login_required
@require_http_methods(["GET", "POST"])
def list_import(request):
    require(request.user, Perm.MANAGE_RANDOMISATION)
    form = ImportListForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                text = form.cleaned_data["file"].read().decode("utf-8-sig")
            except UnicodeDecodeError:
                form.add_error("file", _("the file must be UTF-8 text (CSV)"))
            else:
                try:
                    rlist = services.import_list(user=request.user, text=text, name=form.cleaned_data["name"],
                                                 request_id=rid(request))
                except Refused as exc:
                    status = refuse(form, exc)
                else:
                    return redirect("allocation_list", pk=rlist.pk)
    return render(request, "allocation/list_form.html", {"form": form, "title": _("Import a randomisation list"),
                                                         "multipart": True}, status=status)


@login_required
def list_detail(request, pk):
    rlist = selectors.list_for_user(request.user, pk)
    algorithm, algorithm_words = lists.algorithm_in_words(rlist.algorithm)
    return render(request, "allocation/list.html", {"rlist": rlist, "qc": selectors.qc_report(request.user, rlist),
                                                    "intact": services.verify_list(rlist), "algorithm": algorithm,
                                                    "algorithm_words": algorithm_words})


@login_required
def list_manifest(request, pk):
    rlist = selectors.list_for_user(request.user, pk)
    response = HttpResponse(lists.manifest(services.list_entries(rlist)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="randomisation-list-{rlist.pk}.csv"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def packs(request):
    user = request.user
    require(user, Perm.VIEW_ALLOCATION)
    sites = list(Site.objects.all())
    create_form = CreatePacksForm(request.POST if request.POST.get("action") == "create" else None)
    event_form = PackEventForm(request.POST if request.POST.get("action") == "event" else None, sites=sites)
    status = 200
    if request.method == "POST":
        status = 400
        try:
            if request.POST.get("action") == "create" and create_form.is_valid():
                services.create_packs(user=user, request_id=rid(request), **create_form.cleaned_data)
                return redirect("allocation_packs")
            if request.POST.get("action") == "event" and event_form.is_valid():
                d = event_form.cleaned_data
                services.pack_event(user=user, kind=d["kind"], site_code=d["site"], note=d["note"],
                                    numbers=re.split(r"[\s,;]+", d["numbers"]), request_id=rid(request))
                return redirect("allocation_packs")
        except Refused as exc:
            status = refuse(create_form if request.POST.get("action") == "create" else event_form, exc)
    ledger = Paginator(selectors.ledger(user), 100).get_page(request.GET.get("page"))
    return render(request, "allocation/packs.html", {
        "create_form": create_form, "event_form": event_form, "ledger": ledger, "stock": selectors.stock(user),
        "packs": selectors.packs_for(user).exclude(status="dispensed").order_by("site__code", "status", "number"),
        "can_manage_packs": user.can(Perm.MANAGE_PACKS)}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def unblind(request, key):
    p = participant_for_user(request.user, key, write=True)
    require(request.user, Perm.EMERGENCY_UNBLIND)
    form = UnblindForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                arm = services.emergency_unblind(p, user=request.user, request_id=rid(request), **form.cleaned_data)
            except Refused as exc:
                status = refuse(form, exc)
            else:
                return render(request, "allocation/unblinded.html", {"p": p, "arm": arm})
    return render(request, "allocation/unblind_form.html", {"form": form, "p": p}, status=status)


@login_required
def unblindings(request):
    rows = selectors.unblindings_for(request.user)
    return render(request, "allocation/unblindings.html", {"rows": rows})
