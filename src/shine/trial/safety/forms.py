"""HTML forms of safety reporting: they only parse what was typed; every rule is in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from shine import protocol as protocol_mod

from .models import ACTIONS, CRITERIA, EVENT_WORDS, OUTCOMES, SEVERITY, event_words
from .services import SUBMISSIONS

DT = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 60}, format="%Y-%m-%dT%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")  # ISO whatever the language (type=date)
YES_NO = [("true", _("yes")), ("false", _("no"))]


def _yes_no(label: str, required: bool = True) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, choices=YES_NO, widget=forms.RadioSelect, required=False,
                                  coerce=lambda v: v == "true", empty_value=None)


class EventForm(forms.Form):
    term = forms.CharField(label=_("Event (verbatim term)"), max_length=200, required=False)
    onset_at = forms.DateTimeField(label=_("Onset"), widget=DT, required=False)
    aware_at = forms.DateTimeField(label=_("Site became aware"), widget=DT, required=False)
    serious = _yes_no(_("Serious?"))
    death = forms.BooleanField(label=dict(CRITERIA)["death"], required=False)
    life_threatening = forms.BooleanField(label=dict(CRITERIA)["life_threatening"], required=False)
    hospitalisation = forms.BooleanField(label=dict(CRITERIA)["hospitalisation"], required=False)
    disability = forms.BooleanField(label=dict(CRITERIA)["disability"], required=False)
    congenital_anomaly = forms.BooleanField(label=dict(CRITERIA)["congenital_anomaly"], required=False)
    medically_important = forms.BooleanField(label=dict(CRITERIA)["medically_important"], required=False)
    severity = forms.ChoiceField(label=_("Severity"), choices=SEVERITY, widget=forms.RadioSelect, required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "—"), *OUTCOMES], required=False)
    action = forms.ChoiceField(label=_("Action with the infusion"), choices=[("", "—"), *ACTIONS], required=False)
    prespecified = forms.ChoiceField(label=_("Prespecified event of the protocol?"), required=False)
    exempt = forms.ChoiceField(label=_("Disease-related event exempt from expedited reporting"), required=False)
    related = _yes_no(_("Investigator: reasonable possibility it was caused by the trial drug?"))
    meddra_version = forms.CharField(label=_("MedDRA version (optional)"), max_length=8, required=False)
    meddra_code = forms.CharField(label=_("MedDRA code (optional, 8 digits)"), max_length=8, required=False)
    narrative = forms.CharField(label=_("Narrative (optional)"), widget=forms.Textarea(attrs={"rows": 3}),
                                required=False, max_length=4000)

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        s = protocol_mod.load().safety
        self.fields["prespecified"].choices = [("", "—"), ("none", _("none of them")),
                                               *[(c, event_words(c)) for c in s.prespecified_events]]
        self.fields["exempt"].choices = [("", _("not exempt")), *[(c, event_words(c)) for c in s.exempt_events]]

    def values(self) -> dict:
        v = dict(self.cleaned_data)
        pre = v.get("prespecified")
        v["prespecified"] = None if not pre else ("" if pre == "none" else pre)
        return v


class NewEventForm(EventForm):
    participant = forms.CharField(label=_("Participant number"), max_length=12, required=False,
                                  widget=forms.TextInput(attrs={"placeholder": "HGH-0001",
                                                                "autocapitalize": "characters"}))
    field_order = ["participant"]


class AssessForm(forms.Form):
    expected = _yes_no(_("Expected (listed in the reference safety information in force at onset)?"))
    sponsor_related = forms.TypedChoiceField(
        label=_("Sponsor causality"), required=False, coerce=lambda v: v == "true", empty_value=None,
        choices=[("", _("no opinion (the investigator's stands)")), ("true", _("related")),
                 ("false", _("not related"))])
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                              max_length=2000)


class SubmissionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Report"), choices=[(k, EVENT_WORDS[k]) for k in SUBMISSIONS], required=False)
    at = forms.DateTimeField(label=_("Sent at"), widget=DT, required=False)
    note = forms.CharField(label=_("Note"), max_length=400, required=False)


class RsiForm(forms.Form):
    version = forms.CharField(label=_("Version"), max_length=40, required=False)
    approved_on = forms.DateField(label=_("Approved on"), widget=DATE,
                                  required=False)
    in_force_from = forms.DateTimeField(label=_("In force from"), widget=DT, required=False)
    expected_reactions = forms.CharField(label=_("Expected reactions (one per line)"),
                                         widget=forms.Textarea(attrs={"rows": 5}), required=False)


class PeriodForm(forms.Form):
    period_start = forms.DateField(label=_("From"), widget=DATE,
                                   required=False)
    period_end = forms.DateField(label=_("To (inclusive)"), widget=DATE,
                                 required=False)
