"""Pages of per-field source data verification, the database lock, central statistical monitoring and
monitoring visits: thin views over their services (phone first; docs/monitoring.md)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.enrollment.selectors import participant_for_user
from shine.trial.errors import attempt, rid

from . import casebook, database_lock, field_sdv, selectors


class FieldVerifyForm(forms.Form):
    note = forms.CharField(required=False, max_length=400, label="Source compared (optional)",
                           help_text="e.g. ICU chart, lab report")


@login_required
@require_http_methods(["GET", "POST"])
def record_fields(request, key, form, object_id):
    """One record's fields with their verification status; the monitor verifies the chosen ones."""
    user = request.user
    if not selectors.may_view_sdv(user):
        raise PermissionDenied("your role may not view source data verification")
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
    reason = forms.CharField(max_length=400, widget=forms.Textarea(attrs={"rows": 2}))


@login_required
@require_http_methods(["GET", "POST"])
def database_lock_page(request):
    """The pre-lock checklist, the lock (data manager) and its lifting (trial manager)."""
    user = request.user
    if not (user.can(Perm.MANAGE_DATA) or user.can(Perm.UNLOCK_DATABASE)):
        raise PermissionDenied("your role may not lock the database")
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
                raise PermissionDenied("unknown action")
            if done is not None:
                return redirect("monitoring_database_lock")
    current = database_lock.current()
    if items is None and current is None:
        items = database_lock.checklist()
    return render(request, "monitoring/database_lock.html", {
        "current": current, "items": items, "history": database_lock.history(), "form": form,
        "can_lock": user.can(Perm.MANAGE_DATA), "can_unlock": user.can(Perm.UNLOCK_DATABASE)}, status=status)
