"""HTML forms of safety reporting: they only parse what was typed; every rule is in the services."""

from __future__ import annotations

from django import forms

from shine import protocol as protocol_mod

from .models import ACTIONS, CRITERIA, OUTCOMES, SEVERITY
from .services import SUBMISSIONS

DT = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 60}, format="%Y-%m-%dT%H:%M")
YES_NO = [("true", "yes"), ("false", "no")]


def _yes_no(label: str, required: bool = True) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, choices=YES_NO, widget=forms.RadioSelect, required=False,
                                  coerce=lambda v: v == "true", empty_value=None)


def _words(code: str) -> str:
    return code.replace("_", " ")


class EventForm(forms.Form):
    term = forms.CharField(label="Event (verbatim term)", max_length=200, required=False)
    onset_at = forms.DateTimeField(label="Onset", widget=DT, required=False)
    aware_at = forms.DateTimeField(label="Site became aware", widget=DT, required=False)
    serious = _yes_no("Serious?")
    death = forms.BooleanField(label=dict(CRITERIA)["death"], required=False)
    life_threatening = forms.BooleanField(label=dict(CRITERIA)["life_threatening"], required=False)
    hospitalisation = forms.BooleanField(label=dict(CRITERIA)["hospitalisation"], required=False)
    disability = forms.BooleanField(label=dict(CRITERIA)["disability"], required=False)
    congenital_anomaly = forms.BooleanField(label=dict(CRITERIA)["congenital_anomaly"], required=False)
    medically_important = forms.BooleanField(label=dict(CRITERIA)["medically_important"], required=False)
    severity = forms.ChoiceField(label="Severity", choices=SEVERITY, widget=forms.RadioSelect, required=False)
    outcome = forms.ChoiceField(label="Outcome", choices=[("", "—"), *OUTCOMES], required=False)
    action = forms.ChoiceField(label="Action with the infusion", choices=[("", "—"), *ACTIONS], required=False)
    prespecified = forms.ChoiceField(label="Prespecified event of the protocol?", required=False)
    exempt = forms.ChoiceField(label="Disease-related event exempt from expedited reporting", required=False)
    related = _yes_no("Investigator: reasonable possibility it was caused by the trial drug?")
    meddra_version = forms.CharField(label="MedDRA version (optional)", max_length=8, required=False)
    meddra_code = forms.CharField(label="MedDRA code (optional, 8 digits)", max_length=8, required=False)
    narrative = forms.CharField(label="Narrative (optional)", widget=forms.Textarea(attrs={"rows": 3}),
                                required=False, max_length=4000)

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        s = protocol_mod.load().safety
        self.fields["prespecified"].choices = [("", "—"), ("none", "none of them"),
                                               *[(c, _words(c)) for c in s.prespecified_events]]
        self.fields["exempt"].choices = [("", "not exempt"), *[(c, _words(c)) for c in s.exempt_events]]

    def values(self) -> dict:
        v = dict(self.cleaned_data)
        pre = v.get("prespecified")
        v["prespecified"] = None if not pre else ("" if pre == "none" else pre)
        return v


class NewEventForm(EventForm):
    participant = forms.CharField(label="Participant number", max_length=12, required=False,
                                  widget=forms.TextInput(attrs={"placeholder": "HGH-0001",
                                                                "autocapitalize": "characters"}))
    field_order = ["participant"]


class AssessForm(forms.Form):
    expected = _yes_no("Expected (listed in the reference safety information in force at onset)?")
    sponsor_related = forms.TypedChoiceField(
        label="Sponsor causality", required=False, coerce=lambda v: v == "true", empty_value=None,
        choices=[("", "no opinion (the investigator's stands)"), ("true", "related"), ("false", "not related")])
    comment = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 2}), required=False,
                              max_length=2000)


class SubmissionForm(forms.Form):
    kind = forms.ChoiceField(label="Report", choices=[(k, _words(k)) for k in SUBMISSIONS], required=False)
    at = forms.DateTimeField(label="Sent at", widget=DT, required=False)
    note = forms.CharField(label="Note", max_length=400, required=False)


class RsiForm(forms.Form):
    version = forms.CharField(label="Version", max_length=40, required=False)
    approved_on = forms.DateField(label="Approved on", widget=forms.DateInput(attrs={"type": "date"}), required=False)
    in_force_from = forms.DateTimeField(label="In force from", widget=DT, required=False)
    expected_reactions = forms.CharField(label="Expected reactions (one per line)",
                                         widget=forms.Textarea(attrs={"rows": 5}), required=False)


class PeriodForm(forms.Form):
    period_start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}), required=False)
    period_end = forms.DateField(label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}),
                                 required=False)
