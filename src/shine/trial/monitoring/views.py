"""Pages of monitoring and data management: thin views over the services (phone first)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shine.trial.accounts.roles import Perm, may_view_casebook
from shine.trial.accounts.selectors import require, site_filter, sites_for
from shine.trial.enrollment.selectors import participant_for_user
from shine.trial.errors import Refused, attempt, rid

from . import casebook, field_sdv, labels, selectors, services
from . import forms as f
from .models import Signature


def _record(value: str) -> tuple[str, str]:
    """'form:id' of a record chooser (empty: none)."""
    form, _, object_id = (value or "").partition(":")
    return form, object_id


def _choices(entries) -> list[tuple[str, str]]:
    return [(f"{e.form}:{e.object_id}", labels.entry_label(e)) for e in entries]


@login_required
def query_list(request):
    user = request.user
    if not selectors.may_view_queries(user):
        raise PermissionDenied(_("your role may not view queries"))
    form = f.FilterForm(request.GET or None, initial={"state": "active"})  # unfiltered: the queries still active
    d = (form.cleaned_data if form.is_valid() else {}) if request.GET else {"state": "active"}
    now = timezone.now()
    rows = [(q, selectors.age_days(q, now)) for q in selectors.filtered(
        user, site=d.get("site") or "", state=d.get("state") or "", min_age_days=d.get("min_age_days"),
        participant=d.get("participant") or "", now=now)[:500]]
    return render(request, "monitoring/queries.html", {"form": form, "rows": rows, "sites": sites_for(user)})


@login_required
@require_http_methods(["GET", "POST"])
def participant_queries(request, key):
    user = request.user
    if not selectors.may_view_queries(user):
        raise PermissionDenied(_("your role may not view queries"))
    p = participant_for_user(user, key)
    entries = casebook.entries(p)
    can_raise = user.can(Perm.RAISE_QUERY)
    form = f.RaiseForm(request.POST or None, initial={"record": request.GET.get("record", "")[:120],
                                                      "field": request.GET.get("field", "")[:40]})
    status = 200
    if request.method == "POST":
        require(user, Perm.RAISE_QUERY)
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            rec_form, oid = _record(d["record"])
            q, status = attempt(form, lambda: services.raise_query(
                user=user, participant=p, text=d["text"], form=rec_form, object_id=oid, field=d["field"],
                candidate=d["candidate"], request_id=rid(request)))
            if q is not None:
                return redirect("monitoring_query", pk=q.number)
    now = timezone.now()
    rows = [(q, selectors.age_days(q, now)) for q in selectors.queries_for(user).filter(participant=p)]
    return render(request, "monitoring/participant_queries.html", {
        "participant": p, "rows": rows, "form": form, "can_raise": can_raise, "records": _choices(entries)},
        status=status)


@login_required
@require_http_methods(["GET", "POST"])
def query_detail(request, pk):
    """One query by its number (``pk`` in the route is the query's number, as in Q-00042)."""
    user = request.user
    q = selectors.query_for_user(user, pk)
    form = f.TransitionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            done, status = attempt(form, lambda: services.transition(
                user=user, query=q, action=d["action"], text=d["text"], corrected=d["corrected"],
                request_id=rid(request)))
            if done is not None:
                return redirect("monitoring_query", pk=q.number)
    entry = casebook.entry(q.participant, q.form, q.object_id) if q.form else None
    actions = [(a, services.ACTION_LABELS[a]) for a in services.actions_for(user, q)]
    return render(request, "monitoring/query.html", {
        "query": q, "messages_": q.messages.order_by("number"), "entry": entry, "actions": actions, "form": form,
        "age": selectors.age_days(q)}, status=status)


# ---------------------------------------------------------------- SDV

@login_required
def sdv_worklist(request):
    user = request.user
    require(user, Perm.VERIFY_SOURCE)
    site = site_filter(request.GET)
    return render(request, "monitoring/sdv_worklist.html", {
        "rows": selectors.sdv_worklist(user, site=site), "plan": selectors.current_plan(), "site": site,
        "sites": sites_for(user)})


@login_required
@require_http_methods(["GET", "POST"])
def participant_sdv(request, key):
    user = request.user
    if not selectors.may_view_sdv(user):
        raise PermissionDenied(_("your role may not view source data verification"))
    p = participant_for_user(user, key)
    form = f.VerifyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        require(user, Perm.VERIFY_SOURCE)
        status = 400
        if form.is_valid():
            rec_form, oid = _record(form.cleaned_data["record"])
            v, status = attempt(form, lambda: services.verify(user=user, participant=p, form=rec_form,
                                                               object_id=oid, note=form.cleaned_data["note"],
                                                               request_id=rid(request)))
            if v is not None:
                return redirect("monitoring_participant_sdv", key=p.number)
    rows = selectors.sdv_rows(p)
    fields = field_sdv.summaries(p, [r.entry for r in rows])
    return render(request, "monitoring/participant_sdv.html", {
        "participant": p, "rows": [(r, fields.get((r.entry.object_type, r.entry.object_id))) for r in rows],
        "form": form,
        "can_verify": user.can(Perm.VERIFY_SOURCE)}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def sdv_plan(request):
    user = request.user
    if not (user.can(Perm.VERIFY_SOURCE) or user.can(Perm.MANAGE_DATA)):
        raise PermissionDenied(_("your role may not view the SDV plan"))
    current = selectors.current_plan()
    rules = current.rules if current else services.DEFAULT_RULES
    form = f.PlanForm(request.POST or None, initial={"rules": json.dumps(rules, indent=1)})
    status = 200
    if request.method == "POST":
        require(user, Perm.MANAGE_DATA)
        status = 400
        if form.is_valid():
            d = form.cleaned_data

            def act():
                try:
                    parsed = json.loads(d["rules"])
                except ValueError:
                    raise Refused(_("rules must be JSON"), field="rules") from None
                return services.create_plan(user=user, rules=parsed, seed=d["seed"], note=d["note"],
                                            request_id=rid(request))
            plan, status = attempt(form, act)
            if plan is not None:
                return redirect("monitoring_sdv_plan")
    return render(request, "monitoring/sdv_plan.html", {
        "plans": list(reversed(selectors.plans())), "current": current, "form": form,
        "can_edit": user.can(Perm.MANAGE_DATA)}, status=status)


# ---------------------------------------------------------------- casebook: signatures and locks

def _casebook_context(user, p, **forms) -> dict:
    return {"participant": p, "entries": casebook.entries(p), "signatures": selectors.signatures(p),
            "locks": selectors.locks(p), "can_sign": user.can(Perm.SIGN_CASEBOOK) and not user.role_def.cross_site,
            "can_lock": user.can(Perm.MANAGE_DATA),
            "meanings": [(label, services.MEANINGS[code]) for code, label in Signature.Meaning.choices],
            "records": _choices(casebook.entries(p)),
            "sign_form": forms.get("sign_form") or f.SignForm(), "lock_form": forms.get("lock_form") or f.LockForm(),
            "unlock_form": forms.get("unlock_form") or f.UnlockForm()}


@login_required
@require_http_methods(["GET", "POST"])
def participant_casebook(request, key):
    user = request.user
    p = participant_for_user(user, key)
    if not may_view_casebook(user):
        raise PermissionDenied(_("your role may not view casebooks"))
    forms_, status = {}, 200
    if request.method == "POST":
        action, status = request.POST.get("action"), 400
        if action == "sign":
            form = forms_["sign_form"] = f.SignForm(request.POST)
            if form.is_valid():
                done, status = attempt(form, lambda: services.sign(
                    user=user, participant=participant_for_user(user, key, write=True),
                    meaning=form.cleaned_data["meaning"], password=form.cleaned_data["password"],
                    code=form.cleaned_data["code"],
                    request_id=rid(request)))
                if done is not None:
                    return redirect("monitoring_casebook", key=p.number)
        elif action == "lock":
            form = forms_["lock_form"] = f.LockForm(request.POST)
            if form.is_valid():
                rec_form, oid = _record(form.cleaned_data["record"])
                done, status = attempt(form, lambda: services.lock(
                    user=user, participant=p, form=rec_form, object_id=oid, reason=form.cleaned_data["reason"],
                    request_id=rid(request)))
                if done is not None:
                    return redirect("monitoring_casebook", key=p.number)
        elif action == "unlock":
            form = forms_["unlock_form"] = f.UnlockForm(request.POST)
            lock_id = request.POST.get("lock", "")
            if form.is_valid():
                lk = selectors.lock_for_user(user, lock_id)
                if lk.participant_id != p.pk:
                    raise PermissionDenied(_("that lock belongs to another participant"))
                done, status = attempt(form, lambda: services.unlock(
                    user=user, lock=lk, reason=form.cleaned_data["reason"], request_id=rid(request)))
                if done is not None:
                    return redirect("monitoring_casebook", key=p.number)
    return render(request, "monitoring/casebook.html", _casebook_context(user, p, **forms_), status=status)
