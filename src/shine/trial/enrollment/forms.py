"""Page forms: they parse input only; every rule is in the services (DESIGN.md, habit 3)."""

from __future__ import annotations

import uuid

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shine import protocol as protocol_mod
from shine.trial.audit.services import REASON_LIMIT

from . import consent as rules
from .models import ConsentEvent, Screening

DT_FORMAT = "%Y-%m-%dT%H:%M"
# what a date-time field accepts: the browser's datetime-local value, ISO typed, and the Danish typed form
INPUT_FORMATS = [DT_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%d.%m.%Y %H.%M"]


class DateTimeLocal(forms.DateTimeField):
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DT_FORMAT)

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", INPUT_FORMATS)
        super().__init__(**kwargs)


def now_local() -> str:
    return timezone.localtime().strftime(DT_FORMAT)


class DecimalText(forms.FloatField):
    """A number typed as text (``inputmode="decimal"``): "4,1" and "4.1" are 4.1, text with two separators is
    refused as ambiguous (the browser's number widget would turn "4,1" into 41)."""
    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def widget_attrs(self, widget):
        return {}  # no min/max/step: those belong to a number widget

    def to_python(self, value):
        from shine.trial.errors import Refused
        from shine.trial.records.edit_checks import decimal

        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return decimal(self.label or "value", str(value))
        except Refused as exc:
            raise forms.ValidationError(str(exc).split(": ", 1)[-1] if "ambiguous" in str(exc) else
                                        gettext("Enter a number.")) from None


class YesNo(forms.NullBooleanField):
    """Yes / no / unknown as large radio buttons; nothing chosen is unknown (never "no")."""
    widget = forms.RadioSelect(choices=[("true", _("yes")), ("false", _("no")), ("unknown", _("unknown"))],
                               attrs={"class": "yesno"})


def _prostacyclin_label_now() -> str:
    return gettext("In another prostacyclin trial in the last %(days)s days") % {
        "days": protocol_mod.load().eligibility.other_prostacyclin_trial_days}


_prostacyclin_label = lazy(_prostacyclin_label_now, str)


class ScreeningForm(forms.Form):
    site = forms.ChoiceField(label=_("Site"))
    screened_at = DateTimeLocal(label=_("Screened at"))
    shock_diagnosed_at = DateTimeLocal(label=_("Septic shock diagnosed at"), required=False)
    age = forms.IntegerField(label=_("Age (years)"), required=False, min_value=0, max_value=120)
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", _("unknown")), ("F", _("female")), ("M", _("male"))],
                            required=False)
    in_icu = YesNo(label=_("In the ICU"), required=False)
    infection = YesNo(label=_("Suspected or documented infection"), required=False)
    vasopressor = YesNo(label=_("Vasopressor needed to keep MAP at target"), required=False)
    lactate_mmol_l = DecimalText(label=_("Lactate (mmol/L) after fluids"), required=False)
    stm_ng_ml = DecimalText(label=_("Soluble thrombomodulin, sTM (ng/mL)"), required=False)
    pregnant = YesNo(label=_("Pregnant (hCG positive)"), required=False)
    withdrawal_from_active_therapy = YesNo(label=_("Withdrawal from active therapy"), required=False)
    hypersensitivity = YesNo(label=_("Known hypersensitivity to the trial drug or excipients"), required=False)
    life_threatening_bleeding = YesNo(label=_("Life-threatening bleeding"), required=False)
    severe_heart_failure = YesNo(label=_("Known severe heart failure (NYHA IV)"), required=False)
    acute_coronary_syndrome = YesNo(label=_("Suspected acute coronary syndrome"), required=False)
    previously_included = YesNo(label=_("Previously included in this trial"), required=False)
    consent_unobtainable = YesNo(label=_("Consent cannot be obtained"), required=False)
    other_prostacyclin_trial = YesNo(label=_prostacyclin_label(), required=False)

    none_of_the_exclusions = forms.BooleanField(
        label=_("None of the exclusion criteria apply"), required=False,
        help_text=_("one tap for every exclusion below answered no (those already answered keep their answer)"))

    EXCLUSIONS = ("pregnant", "withdrawal_from_active_therapy", "hypersensitivity", "life_threatening_bleeding",
                  "severe_heart_failure", "acute_coronary_syndrome", "previously_included", "consent_unobtainable",
                  "other_prostacyclin_trial")
    FACTS = ("shock_diagnosed_at", "age", "sex", "in_icu", "infection", "vasopressor", "lactate_mmol_l",
             "stm_ng_ml", *EXCLUSIONS)
    field_order = ["site", "screened_at", "shock_diagnosed_at", "age", "sex", "in_icu", "infection", "vasopressor",
                   "lactate_mmol_l", "stm_ng_ml", "none_of_the_exclusions", *EXCLUSIONS]

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        if "site" in self.fields:
            self.fields["site"].choices = [(s.code, f"{s.code} {s.name}") for s in sites]
        if not self.is_bound:
            self.initial.setdefault("screened_at", now_local())

    def clean(self):
        data = super().clean()
        if data.get("none_of_the_exclusions"):
            yes = [n for n in self.EXCLUSIONS if data.get(n) is True]
            if yes:
                self.add_error("none_of_the_exclusions",
                               gettext("%(question)s is answered yes") % {"question": self.fields[yes[0]].label})
            for n in self.EXCLUSIONS:
                if data.get(n) is None:
                    data[n] = False
        if all(data.get(n) in (None, "") for n in self.FACTS):
            raise forms.ValidationError(gettext("Nothing is entered: an untouched form is not logged. Enter the "
                                                "facts you know (leave the others unknown)."))
        return data

    def facts(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("site", "screened_at",
                                                                        "none_of_the_exclusions")}


class ScreeningEditForm(ScreeningForm):
    reason = forms.CharField(max_length=REASON_LIMIT, label=_("Reason for the change"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["site"]
        del self.fields["screened_at"]

    def facts(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("reason", "none_of_the_exclusions")}


class NotRandomisedForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=Screening.NotRandomisedReason.choices,
                               widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), max_length=400, required=False)


class EnrolForm(forms.Form):
    consenter_name = forms.CharField(max_length=150, label=_("Scientific guardian: first physician"))
    second_consenter_name = forms.CharField(max_length=150, label=_("Scientific guardian: second physician"))
    occurred_at = DateTimeLocal(label=_("Consent given at"))
    form_version = forms.CharField(max_length=40, label=_("Consent form version"))
    cpr = forms.CharField(max_length=20, required=False, label=_("CPR number (DDMMYY-SSSS, optional now)"))
    note = forms.CharField(label=_("Note"), max_length=400, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("occurred_at", now_local())


class ConsentForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, v) for k, v in ConsentEvent.Kind.choices if k != rules.GUARDIAN],
                             label=_("Event"))
    consenter_role = forms.ChoiceField(required=False, label=_("Withdrawn by (withdrawal only)"),
                                       choices=[("", "—"), ("next_of_kin", _("next of kin")),
                                                ("patient", _("patient"))])
    consenter_name = forms.CharField(max_length=150, required=False, label=_("Name of the person"))
    occurred_at = DateTimeLocal(label=_("Date and time"))
    form_version = forms.CharField(max_length=40, required=False, label=_("Consent form version"))
    use_data_collected = YesNo(required=False, label=_("Refusal/withdrawal: may the data collected so far be used?"))
    continue_vital_status_follow_up = YesNo(required=False,
                                            label=_("Refusal/withdrawal: may vital status still be followed up?"))
    note = forms.CharField(label=_("Note"), max_length=400, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("occurred_at", now_local())


class RandomiseForm(forms.Form):
    weight_kg = DecimalText(label=_("Weight (kg)"))
    weight_estimated = forms.TypedChoiceField(choices=[("false", _("weighed")), ("true", _("estimated"))],
                                              coerce=lambda v: v == "true", widget=forms.RadioSelect,
                                              label=_("Weight was"))
    request_id = forms.CharField(widget=forms.HiddenInput, max_length=80)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("request_id", uuid.uuid4().hex)
