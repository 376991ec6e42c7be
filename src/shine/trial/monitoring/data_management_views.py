"""Pages of per-field source data verification, the database lock, central statistical monitoring and
monitoring visits: thin views over their services (phone first; docs/monitoring.md)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from shine.trial.accounts.models import Site
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require, site_filter
from shine.trial.enrollment.selectors import participant_for_user
from shine.trial.errors import attempt, rid

from . import casebook, database_lock, field_sdv, selectors, visits
from .models import MonitoringVisit


class FieldVerifyForm(forms.Form):
    note = forms.CharField(required=False, max_length=400, label=gettext_lazy("Source compared (optional)"),
                           help_text=gettext_lazy("e.g. ICU chart, lab report"))


@login_required
@require_http_methods(["GET", "POST"])
def record_fields(request, key, form, object_id):
    """One record's fields with their verification status; the monitor verifies the chosen ones."""
    user = request.user
    if not selectors.may_view_sdv(user):
        raise PermissionDenied(_("your role may not view source data verification"))
    p = participant_for_user(user, key)
    entry = casebook.entry(p, form, object_id) if form in casebook.FORMS else None
    if entry is None:
        raise Http404("no such record")
    verify_form = FieldVerifyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        require(user, Perm.VERIFY_SOURCE)
        status = 400
        if verify_form.is_valid():
            done, status = attempt(verify_form, lambda: field_sdv.verify_fields(
                user=user, participant=p, form=form, object_id=object_id, fields=request.POST.getlist("fields"),
                note=verify_form.cleaned_data["note"], request_id=rid(request)))
            if done is not None:
                return redirect("monitoring_record_fields", key=p.number, form=form, object_id=object_id)
    return render(request, "monitoring/record_fields.html", {
        "participant": p, "entry": entry, "rows": field_sdv.field_rows(p, entry), "form": verify_form,
        "can_verify": user.can(Perm.VERIFY_SOURCE)}, status=status)


# ---------------------------------------------------------------- database lock

class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=400, widget=forms.Textarea(attrs={"rows": 2}), label=gettext_lazy("Reason"))


@login_required
@require_http_methods(["GET", "POST"])
def database_lock_page(request):
    """The pre-lock checklist, the lock (data manager) and its lifting (trial manager)."""
    user = request.user
    if not (user.can(Perm.MANAGE_DATA) or user.can(Perm.UNLOCK_DATABASE)):
        raise PermissionDenied(_("your role may not lock the database"))
    form, status, items = ReasonForm(request.POST or None), 200, None
    if request.method == "POST":
        status = 400
        action = request.POST.get("action")
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            if action == "lock":
                def act():
                    try:
                        return database_lock.lock_database(user=user, reason=reason, request_id=rid(request))
                    except database_lock.ChecklistFailed as exc:
                        nonlocal items
                        items = exc.items
                        raise
                done, status = attempt(form, act)
            elif action == "unlock":
                done, status = attempt(form, lambda: database_lock.unlock_database(
                    user=user, reason=reason, request_id=rid(request)))
            else:
                raise PermissionDenied(_("unknown action"))
            if done is not None:
                return redirect("monitoring_database_lock")
    current = database_lock.current()
    if items is None and current is None:
        items = database_lock.checklist()
    return render(request, "monitoring/database_lock.html", {
        "current": current, "items": items, "history": database_lock.history(), "form": form,
        "can_lock": user.can(Perm.MANAGE_DATA), "can_unlock": user.can(Perm.UNLOCK_DATABASE)}, status=status)


# ---------------------------------------------------------------- central statistical monitoring

@login_required
def central_monitoring_page(request):
    """Every site's signals against the other sites (blinded), flagged ones first."""
    from shine.central_monitoring import CHECKS

    from . import central

    if not central.may_view(request.user):
        raise PermissionDenied(_("your role may not view central monitoring"))
    signals = central.report(request.user)
    rows = sorted(signals, key=lambda s: (not s.flagged, s.p is None, s.p if s.p is not None else 1, s.site))
    return render(request, "monitoring/central.html", {"rows": rows, "checks": CHECKS,
                                                        "flagged": sum(s.flagged for s in signals)})


# ---------------------------------------------------------------- monitoring visits

class VisitForm(forms.Form):
    site = forms.CharField(max_length=8, label=gettext_lazy("Site"))
    visit_date = forms.DateField(label=gettext_lazy("Visit date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(choices=MonitoringVisit.Kind.choices, label=gettext_lazy("Kind"))
    findings = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 4}),
                               label=gettext_lazy("Findings"))
    actions = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}),
                              label=gettext_lazy("Follow-up actions (one a line)"))


class VisitSignForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, max_length=200,
                               label=gettext_lazy("Re-enter your password"))


@login_required
@require_http_methods(["GET", "POST"])
def visit_list(request):
    user = request.user
    if not visits.may_view(user):
        raise PermissionDenied(_("your role may not view monitoring visits"))
    form, status = VisitForm(request.POST or None, initial={"kind": "routine"}), 200
    if request.method == "POST":
        require(user, Perm.VERIFY_SOURCE)
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            v, status = attempt(form, lambda: visits.record_visit(
                user=user, site_code=d["site"], visit_date=d["visit_date"], kind=d["kind"], findings=d["findings"],
                actions=d["actions"], request_id=rid(request)))
            if v is not None:
                return redirect("monitoring_visit", number=v.number)
    site = site_filter(request.GET)
    return render(request, "monitoring/visits.html", {
        "rows": visits.visits(user, site=site), "site": site, "form": form, "sites": Site.objects.order_by("code"),
        "can_record": user.can(Perm.VERIFY_SOURCE)}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def visit_detail(request, number):
    user = request.user
    v = visits.visit_for_user(user, number)
    form, status = VisitSignForm(request.POST or None), 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            done, status = attempt(form, lambda: visits.sign_visit(
                user=user, visit=v, password=form.cleaned_data["password"], request_id=rid(request)))
            if done is not None:
                return redirect("monitoring_visit", number=v.number)
    return render(request, "monitoring/visit.html", {
        "visit": v, "verified": visits.verified_at_visit(v), "form": form,
        "valid": v.signed_at is not None and v.content_hash == visits.content_hash(v),
        "can_sign": v.signed_at is None and v.monitor_id == user.pk}, status=status)
