"""The words the clinical core's messages use for its fields and units, in the active language. English keeps
the field's own name (``pao2_fio2``), as the messages always did; other languages name it in words. A refusal
that concerns one field is a :class:`FieldError`, which names the field whatever the message's language."""

from __future__ import annotations

from shine.i18n import pgettext


class FieldError(ValueError):
    """A refused value; ``field`` is the keyword it was given as (``gcs``, ``lactate_mmol_l``), so a form can put
    the message at its field without reading the (translated) message."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def field(name: str) -> str:
    """The field ``name`` (a keyword of sofa(), assess(), the dosing functions) as messages write it."""
    words = {
        "pao2_fio2": pgettext("field", "pao2_fio2"),
        "pao2": pgettext("field", "pao2"),
        "fio2": pgettext("field", "fio2"),
        "respiratory_support": pgettext("field", "respiratory_support"),
        "platelets": pgettext("field", "platelets"),
        "bilirubin": pgettext("field", "bilirubin"),
        "map_mmhg": pgettext("field", "map_mmhg"),
        "dopamine": pgettext("field", "dopamine"),
        "dobutamine": pgettext("field", "dobutamine"),
        "epinephrine": pgettext("field", "epinephrine"),
        "norepinephrine": pgettext("field", "norepinephrine"),
        "gcs": pgettext("field", "gcs"),
        "creatinine": pgettext("field", "creatinine"),
        "urine_output": pgettext("field", "urine_output"),
        "pressure": pgettext("field", "pressure"),
        "age": pgettext("field", "age"),
        "in_icu": pgettext("field", "in_icu"),
        "infection": pgettext("field", "infection"),
        "vasopressor": pgettext("field", "vasopressor"),
        "lactate_mmol_l": pgettext("field", "lactate_mmol_l"),
        "stm_ng_ml": pgettext("field", "stm_ng_ml"),
        "hours_since_shock": pgettext("field", "hours_since_shock"),
        "shock_diagnosed_at": pgettext("field", "shock_diagnosed_at"),
        "screened_at": pgettext("field", "screened_at"),
        "sex": pgettext("field", "sex"),
        "pregnant": pgettext("field", "pregnant"),
        "withdrawal_from_active_therapy": pgettext("field", "withdrawal_from_active_therapy"),
        "hypersensitivity": pgettext("field", "hypersensitivity"),
        "life_threatening_bleeding": pgettext("field", "life_threatening_bleeding"),
        "severe_heart_failure": pgettext("field", "severe_heart_failure"),
        "acute_coronary_syndrome": pgettext("field", "acute_coronary_syndrome"),
        "previously_included": pgettext("field", "previously_included"),
        "consent_unobtainable": pgettext("field", "consent_unobtainable"),
        "other_prostacyclin_trial": pgettext("field", "other_prostacyclin_trial"),
        "weight_kg": pgettext("field", "weight_kg"),
        "hours": pgettext("field", "hours"),
        "dose_ng_per_kg_min": pgettext("field", "dose_ng_per_kg_min"),
        "concentration_ng_per_ml": pgettext("field", "concentration_ng_per_ml"),
        "recorded_ml_per_h": pgettext("field", "recorded_ml_per_h"),
        "rate_ml_per_h": pgettext("field", "rate_ml_per_h"),
    }
    return words.get(name, name)


def unit(name: str) -> str:
    """A unit as messages write it: symbols stay (mmHg, µmol/L); only words are translated."""
    return pgettext("unit", "points") if name == "points" else name
