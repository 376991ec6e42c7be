"""HTML forms of the case report forms: they only parse what was typed; every rule is in the services."""

from __future__ import annotations

from django import forms

from shine.analysis.schema import DEVIATION_CATEGORIES, SITES_OF_INFECTION

from .checks import COMORBIDITIES
from .services import INFUSION_KINDS, STOP_KINDS

DT = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 60}, format="%Y-%m-%dT%H:%M")
YES_NO = [("", "—"), ("true", "yes"), ("false", "no")]


def _num(label: str, **kw) -> forms.FloatField:
    return forms.FloatField(label=label, required=False, widget=forms.NumberInput(attrs={"step": "any",
                                                                                         "inputmode": "decimal"}),
                            **kw)


def _choices(values) -> list[tuple[str, str]]:
    return [(v, v.replace("_", " ")) for v in values]


class ReasonMixin(forms.Form):
    reason = forms.CharField(label="Reason for the change", required=False, max_length=400,
                             help_text="required when a saved value changes")


class SofaForm(ReasonMixin):
    pao2 = _num("PaO2 (worst)")
    pao2_unit = forms.ChoiceField(label="PaO2 unit", choices=[("kPa", "kPa"), ("mmHg", "mmHg")], initial="kPa")
    fio2 = _num("FiO2 at that PaO2")
    fio2_unit = forms.ChoiceField(label="FiO2 unit", choices=[("percent", "%"), ("fraction", "fraction (0.21–1)")],
                                  initial="percent")
    respiratory_support = forms.BooleanField(label="Respiratory support (invasive or non-invasive)", required=False)
    platelets = _num("Platelets (10⁹/L)")
    bilirubin = _num("Bilirubin (highest)")
    bilirubin_unit = forms.ChoiceField(label="Bilirubin unit", choices=[("umol/L", "µmol/L"), ("mg/dL", "mg/dL")])
    map_mmhg = _num("MAP, lowest (mmHg)")
    norepinephrine = _num("Noradrenaline (µg/kg/min)")
    epinephrine = _num("Adrenaline (µg/kg/min)")
    dopamine = _num("Dopamine (µg/kg/min)")
    dobutamine = _num("Dobutamine (µg/kg/min)")
    gcs = forms.IntegerField(label="GCS (lowest, before sedation)", required=False)
    creatinine = _num("Creatinine (highest)")
    creatinine_unit = forms.ChoiceField(label="Creatinine unit", choices=[("umol/L", "µmol/L"), ("mg/dL", "mg/dL")])
    urine_output = _num("Urine output (mL/24 h)")

    SOFA_FIELDS = ("pao2", "pao2_unit", "fio2", "fio2_unit", "respiratory_support", "platelets", "bilirubin",
                   "bilirubin_unit", "map_mmhg", "norepinephrine", "epinephrine", "dopamine", "dobutamine", "gcs",
                   "creatinine", "creatinine_unit", "urine_output")

    def values(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("reason", "action")}


class DailyForm(SofaForm):
    study_day = forms.IntegerField(label="Study day", min_value=1)
    vasopressor = forms.BooleanField(label="Vasopressor or inotrope given", required=False)
    mechanical_ventilation = forms.BooleanField(label="Invasive mechanical ventilation", required=False)
    rrt = forms.BooleanField(label="Renal replacement therapy", required=False)

    def values(self) -> dict:
        v = super().values()
        v.pop("study_day", None)
        v["vasopressor"] = True if v.get("vasopressor") else None  # unticked: derived from the doses
        return v


class BaselineForm(SofaForm):
    age = forms.IntegerField(label="Age (years)")
    sex = forms.ChoiceField(label="Sex", choices=[("", "—"), ("F", "female"), ("M", "male")])
    weight_kg = _num("Weight (kg)")
    weight_estimated = forms.TypedChoiceField(label="Weight is", choices=[("", "—"), ("false", "weighed"),
                                                                         ("true", "estimated")],
                                              coerce=lambda v: v == "true", empty_value=None)
    site_of_infection = forms.ChoiceField(label="Site of infection", choices=[("", "—"), *_choices(SITES_OF_INFECTION)])
    comorbidities = forms.MultipleChoiceField(label="Comorbidities", required=False, choices=_choices(COMORBIDITIES),
                                              widget=forms.CheckboxSelectMultiple)
    icu_admitted_at = forms.DateTimeField(label="ICU admission (this stay)", widget=DT)


class InfusionEventForm(forms.Form):
    kind = forms.ChoiceField(label="Event", choices=_choices(INFUSION_KINDS))
    at = forms.DateTimeField(label="Time", widget=DT)
    rate_ml_per_h = _num("Rate (mL/h): start, restart, rate change")
    stop_reason = forms.ChoiceField(label="Stop reason (stop)", required=False, choices=[("", "—"), *_choices(STOP_KINDS)])
    note = forms.CharField(label="Note", required=False, max_length=400)


class SampleForm(ReasonMixin):
    study_day = forms.IntegerField(label="Study day")
    sample_id = forms.CharField(label="Sample id (from the label)", required=False, max_length=40)
    drawn_at = forms.DateTimeField(label="Drawn at", widget=DT)
    frozen_at = forms.DateTimeField(label="Frozen at", required=False, widget=DT)
    comments = forms.CharField(label="Comments", required=False, max_length=400)


class DischargeForm(forms.Form):
    discharged_at = forms.DateTimeField(label="Discharged from the ICU at", widget=DT)


class ReadmissionForm(forms.Form):
    admitted_at = forms.DateTimeField(label="Readmitted to the ICU at", widget=DT)


class DeathForm(ReasonMixin):
    died_at = forms.DateTimeField(label="Date and time of death", widget=DT)
    cause = forms.CharField(label="Cause of death", required=False, max_length=400)


EQ5D_LEVELS = [("", "—"), *[(str(i), str(i)) for i in range(1, 6)]]


class FollowUpForm(ReasonMixin):
    assessed_at = forms.DateTimeField(label="Assessed at", widget=DT)
    vital_status = forms.ChoiceField(label="Vital status", choices=[("alive", "alive"), ("dead", "dead"),
                                                                    ("unknown", "unknown")])
    days_vasopressor = forms.IntegerField(label="Days with vasopressor", required=False)
    days_ventilation = forms.IntegerField(label="Days with mechanical ventilation", required=False)
    days_rrt = forms.IntegerField(label="Days with renal replacement therapy", required=False)
    eq5d_mobility = forms.TypedChoiceField(label="EQ-5D-5L mobility (1–5)", choices=EQ5D_LEVELS, coerce=int,
                                           empty_value=None, required=False)
    eq5d_selfcare = forms.TypedChoiceField(label="Self-care (1–5)", choices=EQ5D_LEVELS, coerce=int,
                                           empty_value=None, required=False)
    eq5d_activities = forms.TypedChoiceField(label="Usual activities (1–5)", choices=EQ5D_LEVELS, coerce=int,
                                             empty_value=None, required=False)
    eq5d_pain = forms.TypedChoiceField(label="Pain / discomfort (1–5)", choices=EQ5D_LEVELS, coerce=int,
                                       empty_value=None, required=False)
    eq5d_anxiety = forms.TypedChoiceField(label="Anxiety / depression (1–5)", choices=EQ5D_LEVELS, coerce=int,
                                          empty_value=None, required=False)
    eq5d_vas = forms.IntegerField(label="EQ VAS (0–100)", required=False)


class DeviationForm(forms.Form):
    category = forms.ChoiceField(label="Category", choices=_choices(DEVIATION_CATEGORIES))
    major = forms.TypedChoiceField(label="Severity", choices=[("false", "minor"), ("true", "major")],
                                   coerce=lambda v: v == "true")
    description = forms.CharField(label="Description", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    occurred_at = forms.DateTimeField(label="Occurred at", required=False, widget=DT)


class ReviewForm(forms.Form):
    note = forms.CharField(label="Review note", max_length=400)
