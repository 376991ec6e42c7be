"""Pages of protocol deviations and of the review of flagged values (thin views over :mod:`.deviations`)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from shine.analysis.schema import DEVIATION_CATEGORIES
from shine.trial.errors import Refused, attempt, rid
from shine.trial.records import selectors as records
from shine.trial.records.forms import DT

from . import deviations, labels


class DeviationForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=[(c, labels.deviation_category(c))
                                                               for c in DEVIATION_CATEGORIES])
    major = forms.TypedChoiceField(label=pgettext_lazy("a deviation", "Severity"),
                                   choices=[("false", _("minor")), ("true", _("major"))], coerce=lambda v: v == "true")
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}),
                                  max_length=deviations.DESCRIPTION_LIMIT)
    occurred_at = forms.DateTimeField(label=_("Occurred at"), required=False, widget=DT)


class ReviewForm(forms.Form):
    note = forms.CharField(label=_("Review note"), max_length=deviations.REVIEW_NOTE_LIMIT)


@login_required
@require_http_methods(["GET", "POST"])
def deviation_list(request, key):
    p = records.randomised_participant(request.user, key)
    form = DeviationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        p = records.randomised_participant(request.user, key, write=True)
        status = 400
        if form.is_valid():
            saved, status = attempt(form, lambda: deviations.record_deviation(
                user=request.user, participant=p, request_id=rid(request), **form.cleaned_data))
            if saved is not None:
                return redirect("records_deviations", key=p.number)
    return render(request, "monitoring/deviations.html", {
        "p": p, "form": form, "items": p.deviations.order_by("number"),
        "can_write": records.may_write(request.user, p)}, status=status)


@login_required
@require_POST
def review(request, key, form_name, pk):
    p = records.randomised_participant(request.user, key)
    record = deviations.reviewable_record(p, form_name, pk)
    if record is None:
        raise Http404("no such record")
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            deviations.mark_reviewed(user=request.user, record=record, note=form.cleaned_data["note"],
                                     request_id=rid(request))
        except Refused as exc:
            messages.error(request, str(exc))
    return redirect("records_worklist")
