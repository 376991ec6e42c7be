"""Eligibility rules (PROTOCOL.md, Eligibility) from the screening facts.

Every fact is optional: None means unknown. A fact that is known and fails makes the patient ineligible;
otherwise any unknown fact makes the result "not yet assessable" (``eligible is None``), never ineligible.
Thresholds come from ``shine.protocol.load().eligibility`` (or the ``protocol=`` argument).

The screening log stores the criterion codes of :data:`CRITERIA`; they are stable, do not rename them.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from shine import protocol as _protocol
from shine.clinical.words import FieldError, field
from shine.i18n import _, decimal, gettext_noop
from shine.protocol import Protocol

# Stable code -> what the criterion requires (inclusion) or excludes (exclusion), in English; shown to people
# translated: criterion_text(code), or _(text) (the texts are in the pure core's catalogue).
INCLUSION = {
    "age": gettext_noop("adult"),
    "icu": gettext_noop("in the ICU"),
    "infection": gettext_noop("suspected or documented infection"),
    "vasopressor": gettext_noop("vasopressor needed to keep MAP at or above target"),
    "lactate": gettext_noop("lactate above threshold despite fluid resuscitation"),
    "stm": gettext_noop("soluble thrombomodulin above threshold"),
}
EXCLUSION = {
    "time_window": gettext_noop("too long since the septic shock diagnosis"),
    "withdrawal": gettext_noop("withdrawal from active therapy"),
    "pregnancy": gettext_noop("pregnancy"),
    "hypersensitivity": gettext_noop("known hypersensitivity to iloprost or excipients"),
    "bleeding": gettext_noop("life-threatening bleeding"),
    "heart_failure": gettext_noop("known severe heart failure (NYHA IV)"),
    "acs": gettext_noop("suspected acute coronary syndrome"),
    "previously_included": gettext_noop("previously included in this trial"),
    "consent_unobtainable": gettext_noop("consent cannot be obtained"),
    "prostacyclin_trial": gettext_noop("in another prostacyclin trial recently"),
}
CRITERIA = {**INCLUSION, **EXCLUSION}


def criterion_text(code: str) -> str:
    """What criterion ``code`` requires or excludes, in the active language (the code itself if unknown)."""
    return _(CRITERIA[code]) if code in CRITERIA else code

# Exclusion code -> the yes/no fact that triggers it (time_window and pregnancy are derived).
_EXCLUSION_FACTS = {
    "withdrawal": "withdrawal_from_active_therapy",
    "hypersensitivity": "hypersensitivity",
    "bleeding": "life_threatening_bleeding",
    "heart_failure": "severe_heart_failure",
    "acs": "acute_coronary_syndrome",
    "previously_included": "previously_included",
    "consent_unobtainable": "consent_unobtainable",
    "prostacyclin_trial": "other_prostacyclin_trial",
}
_COMPARE = {">": operator.gt, ">=": operator.ge}
# Plausible screening values; outside them the value is a typing error.
AGE_RANGE = (0, 120)
LACTATE_RANGE = (0.0, 30.0)
STM_RANGE = (0.0, 200.0)


@dataclass(frozen=True)
class Failure:
    """A criterion the patient fails: its stable ``code`` and a human-readable ``reason``."""

    code: str
    reason: str


@dataclass(frozen=True)
class Assessment:
    """The result of :func:`assess`.

    ``eligible``: True, False, or None (not yet assessable: no criterion fails but facts are unknown).
    ``failed``: the failed criteria, inclusion first, in :data:`CRITERIA` order. ``missing``: the names of
    the unknown facts (keywords of :func:`assess`) that still matter.
    """

    eligible: bool | None
    failed: tuple[Failure, ...]
    missing: tuple[str, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.failed)

    @property
    def screening_outcome(self) -> str:
        """``not_eligible``, ``not_assessable`` or ``eligible`` (randomisation decides the rest)."""
        return {True: "eligible", False: "not_eligible", None: "not_assessable"}[self.eligible]

    @property
    def reasons(self) -> str:
        """The screening log's ``reasons`` field: ``;``-separated failed codes, or the missing facts."""
        if self.failed:
            return ";".join(self.codes)
        return ";".join(f"missing:{m}" for m in self.missing)

    def summary(self) -> str:
        if self.eligible:
            return _("eligible")
        if self.eligible is False:
            return _("not eligible: %(reasons)s") % {"reasons": "; ".join(f.reason for f in self.failed)}
        return _("not yet assessable: unknown %(facts)s") % {"facts": ", ".join(field(m) for m in self.missing)}


def _yes_no(name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    raise FieldError(_("%(name)s must be True, False or None (unknown); got %(value)s") % {
        "name": field(name), "value": decimal(value, "r")}, name)


def _number(name: str, value: Any, low: float, high: float) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = float("nan")
    if not low <= x <= high:
        raise FieldError(_("%(name)s must lie between %(low)s and %(high)s; got %(value)s") % {
            "name": field(name), "low": decimal(low), "high": decimal(high), "value": decimal(value, "r")}, name)
    return x


def assess(*, age=None, in_icu=None, infection=None, vasopressor=None, lactate_mmol_l=None, stm_ng_ml=None,
           shock_diagnosed_at: datetime | None = None, screened_at: datetime | None = None,
           hours_since_shock: float | None = None, sex: str | None = None, pregnant=None,
           withdrawal_from_active_therapy=None, hypersensitivity=None, life_threatening_bleeding=None,
           severe_heart_failure=None, acute_coronary_syndrome=None, previously_included=None,
           consent_unobtainable=None, other_prostacyclin_trial=None,
           protocol: Protocol | None = None) -> Assessment:
    """Assess eligibility from the screening facts; None is unknown.

    ``age`` years; ``in_icu``, ``infection`` (suspected or documented), ``vasopressor`` (needed to keep MAP
    at or above the protocol's target): True/False; ``lactate_mmol_l`` (after fluid resuscitation);
    ``stm_ng_ml``; the time window from ``shock_diagnosed_at`` and ``screened_at`` (datetimes) or directly
    ``hours_since_shock``; ``sex`` "F"/"M" and ``pregnant`` (hCG result) for the pregnancy exclusion, where
    men and women at or above the protocol's exempt age count as not pregnant; the other exclusions as
    True (applies) / False / None.
    """
    rules = (protocol or _protocol.load()).eligibility
    failed: list[Failure] = []
    missing: list[str] = []

    def need(fact: str, value: Any) -> bool:
        if value is None:
            missing.append(fact)
            return False
        return True

    age = _number("age", age, *AGE_RANGE)
    if need("age", age) and age < rules.min_age_years:
        failed.append(Failure("age", _("age %(age)s is below %(minimum)s") % {
            "age": decimal(age), "minimum": rules.min_age_years}))
    if need("in_icu", _yes_no("in_icu", in_icu)) and not in_icu:
        failed.append(Failure("icu", _("not in the ICU")))
    if need("infection", _yes_no("infection", infection)) and not infection:
        failed.append(Failure("infection", _("no suspected or documented infection")))
    if need("vasopressor", _yes_no("vasopressor", vasopressor)) and not vasopressor:
        failed.append(Failure("vasopressor", _("no vasopressor needed to keep MAP ≥ %(target)s mmHg") % {
            "target": decimal(rules.map_target_mmhg)}))
    for code, fact, value, limits, threshold, comparison, unit in (
        ("lactate", "lactate_mmol_l", lactate_mmol_l, LACTATE_RANGE, rules.lactate_threshold_mmol_l,
         rules.lactate_comparison, "mmol/L"),
        ("stm", "stm_ng_ml", stm_ng_ml, STM_RANGE, rules.stm_threshold_ng_ml, rules.stm_comparison, "ng/mL"),
    ):
        x = _number(fact, value, *limits)
        if need(fact, x) and x is not None and not _COMPARE[comparison](x, threshold):
            words = {"value": decimal(x), "threshold": decimal(threshold), "unit": unit}
            if code == "stm":
                reason = (_("sTM %(value)s %(unit)s is not above %(threshold)s %(unit)s") if comparison == ">"
                          else _("sTM %(value)s %(unit)s is not at or above %(threshold)s %(unit)s"))
            else:
                reason = (_("lactate %(value)s %(unit)s is not above %(threshold)s %(unit)s") if comparison == ">"
                          else _("lactate %(value)s %(unit)s is not at or above %(threshold)s %(unit)s"))
            failed.append(Failure(code, reason % words))

    hours = _hours_since_shock(shock_diagnosed_at, screened_at, hours_since_shock)
    if hours is None:
        missing.extend(f for f, v in (("shock_diagnosed_at", shock_diagnosed_at), ("screened_at", screened_at))
                       if v is None)
    elif hours > rules.max_hours_from_shock_diagnosis:
        failed.append(Failure("time_window", _("%(hours)s h since the septic shock diagnosis, more than "
                                               "%(maximum)s h") % {
            "hours": decimal(hours, ".1f"), "maximum": decimal(rules.max_hours_from_shock_diagnosis)}))

    facts = {"withdrawal_from_active_therapy": withdrawal_from_active_therapy,
             "hypersensitivity": hypersensitivity, "life_threatening_bleeding": life_threatening_bleeding,
             "severe_heart_failure": severe_heart_failure, "acute_coronary_syndrome": acute_coronary_syndrome,
             "previously_included": previously_included, "consent_unobtainable": consent_unobtainable,
             "other_prostacyclin_trial": other_prostacyclin_trial}
    for code in EXCLUSION:
        if code == "pregnancy":
            if _pregnant(age, sex, pregnant, rules.pregnancy_exempt_age_female, missing):
                failed.append(Failure("pregnancy", _("pregnant")))
        elif code in _EXCLUSION_FACTS:
            fact = _EXCLUSION_FACTS[code]
            if need(fact, _yes_no(fact, facts[fact])) and facts[fact]:
                reason = _(EXCLUSION[code])
                if code == "prostacyclin_trial":
                    reason = _("in another prostacyclin trial within %(days)s days") % {
                        "days": rules.other_prostacyclin_trial_days}
                failed.append(Failure(code, reason))

    eligible = False if failed else (None if missing else True)
    return Assessment(eligible, tuple(failed), tuple(dict.fromkeys(missing)))


def _hours_since_shock(diagnosed: datetime | None, screened: datetime | None, hours: float | None) -> float | None:
    if hours is not None:
        if diagnosed is not None or screened is not None:
            raise ValueError(_("give hours_since_shock or shock_diagnosed_at and screened_at, not both"))
        return _number("hours_since_shock", hours, 0.0, float("inf"))
    if diagnosed is None or screened is None:
        return None
    for name, t in (("shock_diagnosed_at", diagnosed), ("screened_at", screened)):
        if not isinstance(t, datetime):
            raise FieldError(_("%(name)s must be a datetime; got %(value)r") % {"name": field(name), "value": t},
                             name)
    try:
        h = (screened - diagnosed) / timedelta(hours=1)
    except TypeError:
        raise ValueError(_("shock_diagnosed_at and screened_at must both be timezone-aware or both naive")) from None
    if h < 0:
        raise FieldError(_("screened_at must not be before shock_diagnosed_at; got %(hours)s h") % {
            "hours": decimal(h, ".2f")}, "screened_at")
    return h


def _pregnant(age: float | None, sex: str | None, pregnant: Any, exempt_age: int, missing: list[str]) -> bool | None:
    """Whether the pregnancy exclusion applies (None: unknown); records the facts still needed in ``missing``."""
    pregnant = _yes_no("pregnant", pregnant)
    if sex is not None and sex not in ("F", "M"):
        raise FieldError(_("sex must be 'F', 'M' or None (unknown); got %(value)r") % {"value": sex}, "sex")
    if sex == "M" and pregnant:
        raise FieldError(_("pregnant cannot be True when sex is 'M'"), "pregnant")
    if pregnant is not None:
        return pregnant
    if sex == "M" or (age is not None and age >= exempt_age):
        return False
    # a woman under the exempt age, or of unknown age or sex, needs the test result (or the missing fact)
    if sex is None:
        missing.append("sex")
    missing.append("pregnant")
    return None
