"""HTML forms of the case report forms: they only parse what was typed; every rule is in the services."""

from __future__ import annotations

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from shine.analysis.schema import SITES_OF_INFECTION, VITAL_STATUSES
from shine.trial.audit.services import REASON_LIMIT

from .edit_checks import COMORBIDITIES
from .infusion_log import KINDS as INFUSION_KINDS
from .infusion_log import STOP_KINDS

DT = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 60}, format="%Y-%m-%dT%H:%M")
YES_NO = [("", "—"), ("true", _("yes")), ("false", _("no"))]


def _num(label: str, **kw) -> forms.CharField:
    """A number typed as text: the service reads a decimal comma or point (checks.decimal); the browser's number
    widget would drop or move the comma."""
    return forms.CharField(label=label, required=False, max_length=40, strip=True,
                           widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off",
                                                         "spellcheck": "false"}), **kw)


TRI = [("true", _("yes")), ("false", _("no")), ("unknown", _("unknown"))]


def _yes_no(label: str) -> forms.ChoiceField:
    """Yes / no / unknown as large radio buttons; nothing chosen is *not entered* (never "no")."""
    return forms.ChoiceField(label=label, required=False, choices=TRI,
                             widget=forms.RadioSelect(attrs={"class": "tri"}))


def _code(label: str) -> forms.ChoiceField:
    from shine import protocol as protocol_mod

    from .edit_checks import CODE_LABELS

    codes = protocol_mod.load().missing_data.codes
    return forms.ChoiceField(label=format_lazy(_("{label}: if no value"), label=label), required=False,
                             choices=[("", "—"), *((c, CODE_LABELS[c]) for c in codes)],
                             widget=forms.Select(attrs={"class": "code"}))


def _choices(values) -> list[tuple[str, object]]:
    from .words import choices

    return choices(values)


class ReasonMixin(forms.Form):
    reason = forms.CharField(label=_("Reason for the change"), required=False, max_length=REASON_LIMIT,
                             help_text=_("required when a saved value changes"))


class SofaForm(ReasonMixin):
    pao2 = _num(_("PaO2 (worst)"))
    pao2_unit = forms.ChoiceField(label=_("PaO2 unit"), choices=[("kPa", "kPa"), ("mmHg", "mmHg")], initial="kPa")
    fio2 = _num(_("FiO2 at that PaO2"))
    fio2_unit = forms.ChoiceField(label=_("FiO2 unit"),
                                  choices=[("percent", "%"), ("fraction", _("fraction (0.21–1)"))],
                                  initial="percent")
    code_pao2_fio2 = _code(_("Blood gas"))
    respiratory_support = _yes_no(_("Respiratory support (invasive or non-invasive)"))
    platelets = _num(_("Platelets (10⁹/L)"))
    code_platelets = _code(_("Platelets"))
    bilirubin = _num(_("Bilirubin (highest)"))
    bilirubin_unit = forms.ChoiceField(label=_("Bilirubin unit"), choices=[("umol/L", "µmol/L"), ("mg/dL", "mg/dL")])
    code_bilirubin = _code(_("Bilirubin"))
    map_mmhg = _num(_("MAP, lowest (mmHg)"))
    code_map_mmhg = _code(_("MAP"))
    norepinephrine = _num(_("Noradrenaline (µg/kg/min)"))
    epinephrine = _num(_("Adrenaline (µg/kg/min)"))
    dopamine = _num(_("Dopamine (µg/kg/min)"))
    dobutamine = _num(_("Dobutamine (µg/kg/min)"))
    code_vasopressor_doses = _code(_("Doses"))
    gcs = _num(_("GCS (lowest, before sedation)"))
    code_gcs = _code(_("GCS"))
    creatinine = _num(_("Creatinine (highest)"))
    creatinine_unit = forms.ChoiceField(label=_("Creatinine unit"), choices=[("umol/L", "µmol/L"), ("mg/dL", "mg/dL")])
    code_creatinine = _code(_("Creatinine"))
    urine_output = _num(_("Urine output (mL/24 h)"))
    code_urine_output = _code(_("Urine output"))

    YES_NO = ("respiratory_support",)

    # SOFA input -> the field its note follows on the page (its missing-data code, or the yes/no itself)
    NOTE_AFTER = {"pao2_fio2": "code_pao2_fio2", "respiratory_support": "respiratory_support",
                  "platelets": "code_platelets", "bilirubin": "code_bilirubin", "map_mmhg": "code_map_mmhg",
                  "vasopressor": "vasopressor", "vasopressor_doses": "code_vasopressor_doses", "gcs": "code_gcs",
                  "creatinine": "code_creatinine", "urine_output": "code_urine_output",
                  "mechanical_ventilation": "mechanical_ventilation", "rrt": "rrt"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .edit_checks import COMMENT_LIMIT, INPUT_LABELS

        # a note beside each SOFA input ("blood gas from 04:10, machine down"), stored in the record's comments
        order = []
        for name in self.fields:
            order.append(name)
            order += [f"note_{i}" for i, after in self.NOTE_AFTER.items() if after == name]
        for i, after in self.NOTE_AFTER.items():
            if after in self.fields:
                note = forms.CharField(
                    label=format_lazy(_("Note on {input}"), input=INPUT_LABELS[i]), required=False,
                    max_length=COMMENT_LIMIT, strip=True,
                    widget=forms.TextInput(attrs={"autocomplete": "off", "class": "note-input"}))
                note.input_label = INPUT_LABELS[i]  # the note's summary on the page names its input
                self.fields[f"note_{i}"] = note
        self.order_fields([n for n in order if n in self.fields])

    def values(self) -> dict:
        """The typed values for the service: text numbers, yes/no as True/False/None, codes and notes gathered (a
        yes/no answered "unknown" is None with the code unknown)."""
        out, codes, comments = {}, {}, {}
        for k, v in self.cleaned_data.items():
            if k in ("reason", "action", "study_day"):
                continue
            if k.startswith("note_"):
                if v:
                    comments[k[5:]] = v
            elif k.startswith("code_"):
                if v:
                    codes[k[5:]] = v
            elif k in self.YES_NO:
                out[k] = {"true": True, "false": False}.get(v)
                if v == "unknown":
                    codes[k] = "unknown"
            else:
                out[k] = v
        out["codes"], out["comments"] = codes, comments
        return out


class DailyForm(SofaForm):
    study_day = forms.IntegerField(label=_("Study day"), min_value=1)
    vasopressor = _yes_no(_("Vasopressor or inotrope given"))
    mechanical_ventilation = _yes_no(_("Invasive mechanical ventilation"))
    rrt = _yes_no(_("Renal replacement therapy"))

    YES_NO = ("respiratory_support", "vasopressor", "mechanical_ventilation", "rrt")

    field_order = ["study_day", "pao2", "pao2_unit", "fio2", "fio2_unit", "code_pao2_fio2", "respiratory_support",
                   "mechanical_ventilation", "platelets", "code_platelets", "bilirubin", "bilirubin_unit",
                   "code_bilirubin", "map_mmhg", "code_map_mmhg", "vasopressor", "norepinephrine", "epinephrine",
                   "dopamine", "dobutamine", "code_vasopressor_doses", "gcs", "code_gcs", "creatinine",
                   "creatinine_unit", "code_creatinine", "urine_output", "code_urine_output", "rrt"]


class BaselineForm(SofaForm):
    age = forms.IntegerField(label=_("Age (years)"))
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "—"), ("F", _("female")), ("M", _("male"))])
    weight_kg = _num(_("Weight (kg)"))
    weight_estimated = forms.TypedChoiceField(label=_("Weight is"), choices=[("", "—"), ("false", _("weighed")),
                                                                         ("true", _("estimated"))],
                                              coerce=lambda v: v == "true", empty_value=None)
    site_of_infection = forms.ChoiceField(label=_("Site of infection"),
                                          choices=[("", "—"), *_choices(SITES_OF_INFECTION)])
    comorbidities = forms.MultipleChoiceField(label=_("Comorbidities"), required=False, choices=_choices(COMORBIDITIES),
                                              widget=forms.CheckboxSelectMultiple)
    icu_admitted_at = forms.DateTimeField(label=_("ICU admission (this stay)"), widget=DT)


class InfusionEventForm(forms.Form):
    kind = forms.ChoiceField(label=_("Event"), choices=_choices(INFUSION_KINDS))
    at = forms.DateTimeField(label=_("Time"), widget=DT)
    rate_ml_per_h = _num(_("Rate (mL/h): start, restart, rate change"))
    stop_reason = forms.ChoiceField(label=_("Stop reason (stop)"), required=False,
                                    choices=[("", "—"), *_choices(STOP_KINDS)])
    note = forms.CharField(label=_("Note"), required=False, max_length=400)


class SampleForm(ReasonMixin):
    study_day = forms.IntegerField(label=_("Study day"))
    sample_id = forms.CharField(label=_("Sample id (from the label)"), required=False, max_length=40)
    drawn_at = forms.DateTimeField(label=_("Drawn at"), widget=DT)
    frozen_at = forms.DateTimeField(label=_("Frozen at"), required=False, widget=DT)
    comments = forms.CharField(label=_("Comments"), required=False, max_length=400)


class DischargeForm(forms.Form):
    discharged_at = forms.DateTimeField(label=_("Discharged from the ICU at"), widget=DT)


class ReadmissionForm(forms.Form):
    admitted_at = forms.DateTimeField(label=_("Readmitted to the ICU at"), widget=DT)


class DeathForm(ReasonMixin):
    died_at = forms.DateTimeField(label=_("Date and time of death"), widget=DT)
    cause = forms.CharField(label=_("Cause of death"), required=False, max_length=400)


EQ5D_LEVELS = [("", "—"), *[(str(i), str(i)) for i in range(1, 6)]]


class FollowUpForm(ReasonMixin):
    assessed_at = forms.DateTimeField(label=_("Assessed at"), widget=DT)
    vital_status = forms.ChoiceField(label=_("Vital status"), choices=_choices(VITAL_STATUSES))
    days_vasopressor = forms.IntegerField(label=_("Days with vasopressor"), required=False)
    days_ventilation = forms.IntegerField(label=_("Days with mechanical ventilation"), required=False)
    days_rrt = forms.IntegerField(label=_("Days with renal replacement therapy"), required=False)
    eq5d_mobility = forms.TypedChoiceField(label=_("EQ-5D-5L mobility (1–5)"), choices=EQ5D_LEVELS, coerce=int,
                                           empty_value=None, required=False)
    eq5d_selfcare = forms.TypedChoiceField(label=_("Self-care (1–5)"), choices=EQ5D_LEVELS, coerce=int,
                                           empty_value=None, required=False)
    eq5d_activities = forms.TypedChoiceField(label=_("Usual activities (1–5)"), choices=EQ5D_LEVELS, coerce=int,
                                             empty_value=None, required=False)
    eq5d_pain = forms.TypedChoiceField(label=_("Pain / discomfort (1–5)"), choices=EQ5D_LEVELS, coerce=int,
                                       empty_value=None, required=False)
    eq5d_anxiety = forms.TypedChoiceField(label=_("Anxiety / depression (1–5)"), choices=EQ5D_LEVELS, coerce=int,
                                          empty_value=None, required=False)
    eq5d_vas = forms.IntegerField(label=_("EQ VAS (0–100)"), required=False)
