"""Edit checks of the case report forms, as plain functions (no database): each form's values are checked
here, the services hold only the transaction, the cross-form facts read under the participant's lock and the
audited write.

* **Hard limits** refuse impossible values: the clinical core's limits (:data:`shine.clinical.sofa.LIMITS`,
  :func:`shine.clinical.units.fio2_fraction`, the protocol's weight limits) and the data set's ranges. The
  refusal names the field and the limit.
* **Soft limits** (:data:`SOFT_LIMITS`) accept unusual but possible values with a warning; the record is
  flagged for review (``needs_review``) until a data manager or monitor has looked at it.

:func:`sofa_inputs` turns the values of a form (with their units) into the platform's units, checks them,
and computes the SOFA with :func:`shine.clinical.sofa.sofa` — the same function for the preview and the save.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
import re
from dataclasses import dataclass, field

from django.utils.formats import get_format
from django.utils.html import conditional_escape
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, override

from shine import protocol as protocol_mod
from shine.analysis.schema import SITES_OF_INFECTION, VITAL_STATUSES
from shine.clinical import dosing, units
from shine.trial.errors import Refused, entered_text, entered_time

from . import schedule
from .words import COMPONENT_WORDS

sofa_mod = importlib.import_module("shine.clinical.sofa")  # the package re-exports sofa() under the same name

# field -> (low, high, unit): outside [low, high] the value is accepted with a warning and flagged
SOFT_LIMITS: dict[str, tuple[float | None, float | None, str]] = {
    "pao2_fio2": (50, 600, "mmHg"),
    "platelets": (5, 1000, "10⁹/L"),
    "map_mmhg": (40, 150, "mmHg"),
    "dopamine": (None, 20, "µg/kg/min"),
    "dobutamine": (None, 20, "µg/kg/min"),
    "epinephrine": (None, 1.0, "µg/kg/min"),
    "norepinephrine": (None, 1.5, "µg/kg/min"),
    "urine_output": (None, 10000, "mL/24 h"),
    "weight_kg": (40, 200, "kg"),
    "age": (None, 100, "years"),
}
SAMPLE_FREEZE_WARN_HOURS = 2.0  # a sample frozen later than this after drawing is flagged
# the fields in words, as messages name them (in the reader's language)
LABELS = {"pao2": "PaO2", "fio2": "FiO2", "pao2_fio2": "PaO2/FiO2", "platelets": gettext_lazy("platelets"),
          "bilirubin": gettext_lazy("bilirubin"), "map_mmhg": "MAP", "dopamine": gettext_lazy("dopamine"),
          "dobutamine": gettext_lazy("dobutamine"), "epinephrine": gettext_lazy("adrenaline"),
          "norepinephrine": gettext_lazy("noradrenaline"), "gcs": "GCS", "creatinine": gettext_lazy("creatinine"),
          "urine_output": gettext_lazy("urine output"), "weight_kg": gettext_lazy("weight"),
          "age": gettext_lazy("age"), "sex": gettext_lazy("sex"),
          "respiratory_support": gettext_lazy("respiratory support"),
          "vasopressor": gettext_lazy("vasopressor given"), "vasopressor_doses": gettext_lazy("vasopressor doses"),
          "mechanical_ventilation": gettext_lazy("mechanical ventilation"),
          "rrt": gettext_lazy("renal replacement therapy"), "rate_ml_per_h": gettext_lazy("rate"),
          "visit_day": gettext_lazy("visit day"), "study_day": gettext_lazy("study day"), "eq5d_vas": "EQ VAS",
          "eq5d_mobility": gettext_lazy("EQ-5D-5L mobility"), "eq5d_selfcare": gettext_lazy("EQ-5D-5L self-care"),
          "eq5d_activities": gettext_lazy("EQ-5D-5L usual activities"),
          "eq5d_pain": gettext_lazy("EQ-5D-5L pain / discomfort"),
          "eq5d_anxiety": gettext_lazy("EQ-5D-5L anxiety / depression"),
          "days_vasopressor": gettext_lazy("days with vasopressor"),
          "days_ventilation": gettext_lazy("days with mechanical ventilation"),
          "days_rrt": gettext_lazy("days with renal replacement therapy"),
          "pao2_unit": gettext_lazy("PaO2 unit"), "fio2_unit": gettext_lazy("FiO2 unit"),
          "bilirubin_unit": gettext_lazy("bilirubin unit"), "creatinine_unit": gettext_lazy("creatinine unit"),
          "drawn_at": gettext_lazy("drawn at"), "frozen_at": gettext_lazy("frozen at"),
          "assessed_at": gettext_lazy("assessed at"), "vital_status": gettext_lazy("vital status"),
          "icu_admitted_at": gettext_lazy("ICU admission"), "site_of_infection": gettext_lazy("site of infection"),
          "comorbidities": gettext_lazy("comorbidities"), "weight_estimated": gettext_lazy("weight estimated"),
          "at": gettext_lazy("time"), "note": gettext_lazy("note"), "sample_id": gettext_lazy("sample id"),
          "discharged_at": gettext_lazy("discharged at"), "admitted_at": gettext_lazy("readmitted at"),
          "died_at": gettext_lazy("died at"), "cause": gettext_lazy("cause of death"),
          "reason": gettext_lazy("reason"), "comments": gettext_lazy("comments")}
# the captured inputs of the SOFA forms (docs/data-model.md): each needs a value or a missing-data code for the
# record to be complete. ``pao2_fio2`` is the blood gas (PaO2 and FiO2 together); ``vasopressor_doses`` the four
# doses together (needed when a vasopressor was given).
BASELINE_INPUTS = ("pao2_fio2", "respiratory_support", "platelets", "bilirubin", "map_mmhg", "vasopressor_doses",
                   "gcs", "creatinine", "urine_output")
DAILY_INPUTS = ("pao2_fio2", "respiratory_support", "platelets", "bilirubin", "map_mmhg", "vasopressor",
                "vasopressor_doses", "gcs", "creatinine", "urine_output", "mechanical_ventilation", "rrt")
INPUT_LABELS = {**LABELS, "pao2_fio2": gettext_lazy("PaO2 and FiO2")}
CODE_LABELS = {"not_done": gettext_lazy("not done"), "unknown": gettext_lazy("unknown"),
               "not_applicable": gettext_lazy("not applicable")}
COMMENT_LIMIT = 200
# the form field that carries each converted value (a refusal of the converted value names the form field)
FORM_FIELD = {"pao2_fio2": "pao2"}
COMORBIDITIES = ("heart_failure", "ischaemic_heart_disease", "copd", "diabetes", "chronic_kidney_disease",
                 "liver_cirrhosis", "cancer", "haematological_cancer", "immunosuppression", "other")


# every soft-limit warning"s message (what :func:`shown_warnings` reads back from a record"s stored text)
WARNING_MESSAGES = (
    "%(field)s %(value)s %(unit)s is unusually low (below %(limit)s): check the value",
    "%(field)s %(value)s %(unit)s is unusually high (above %(limit)s): check the value",
    "%(field)s %(value)s %(unit)s is unusual (below %(limit)s %(unit)s): did you mean %(other)s?",
    "%(field)s %(value)s %(unit)s is unusual (below %(limit)s %(unit)s): check the value",
    "%(field)s %(value)s %(unit)s is unusual (above %(limit)s %(unit)s): did you mean %(other)s?",
    "%(field)s %(value)s %(unit)s is unusual (above %(limit)s %(unit)s): check the value",
    "weight %(weight)s kg differs from the weight used for dosing at randomisation (%(dosing)s kg)",
    "ICU admission more than 7 days before randomisation: check the date",
    "rate %(rate)s mL/h differs from the computed %(computed)s mL/h (%(difference)s, tolerance %(tolerance)s)",
    "sample frozen %(hours)s h after drawing (more than %(limit)s h): check the times",
)


def num(x, spec: str = "g") -> str:
    """A number in a message, with the reader's decimal separator (1,4 in Danish, 1.4 in English)."""
    return format(x, spec).replace(".", get_format("DECIMAL_SEPARATOR"))


def unit_word(unit: str) -> str:
    """A unit as written in a message: the symbols as they are, a word (GCS points) in the reader's language."""
    return _("points") if unit == "points" else unit


def label(name: str) -> str:
    """A field in words, in the reader's language."""
    return str(LABELS.get(name, name.replace("_", " ")))


class N:
    """A number of a warning, written when the warning is read (in the reader's language)."""

    def __init__(self, x, spec: str = "g"):
        self.x, self.spec = x, spec

    def __str__(self) -> str:
        return num(self.x, self.spec)


class Warning(str):  # noqa: A001 (the soft-limit warning of a record, not Python's)
    """A soft-limit warning: as a string it is the English text that is stored with the record (and compared by
    the central checks); shown on a page (``str()``, a template) it is in the reader's language."""

    def __new__(cls, message: str, **params):
        with override("en"):
            text = message % {k: str(v) for k, v in params.items()}
        self = super().__new__(cls, text)
        self.message, self.params = message, params
        return self

    def __str__(self) -> str:
        return _(self.message) % {k: str(v) for k, v in self.params.items()}

    def __html__(self) -> str:
        return conditional_escape(str(self))

    def __format__(self, spec: str) -> str:  # an f-string writes the stored text (e.g. a query's text: kept English)
        return format(str.__str__(self), spec)

    def __reduce__(self):
        return (str, (str.__str__(self),))


# the parameters of the warnings that are numbers (written with the reader's decimal separator when shown)
_NUMBER_PARAMS = {"value": r"[-+]?\d[\d.]*(?:e[-+]?\d+)?", "limit": r"[-+]?\d[\d.]*(?:e[-+]?\d+)?",
                  "weight": r"\d[\d.]*", "dosing": r"\d[\d.]*", "rate": r"\d[\d.]*", "computed": r"\d[\d.]*",
                  "difference": r"[-+]?\d[\d.]*%", "tolerance": r"\d[\d.]*%", "hours": r"\d[\d.]*"}


def _pattern(message: str) -> re.Pattern:
    seen: set[str] = set()

    def group(m: re.Match) -> str:
        name = m.group(1)
        if name in seen:
            return f"(?P={name})"
        seen.add(name)
        return f"(?P<{name}>{_NUMBER_PARAMS.get(name, '.+?')})"

    return re.compile("^" + re.sub(r"%\\\(([a-z_]+)\\\)s", group, re.escape(message)) + "$")


def shown_warnings(text: str) -> str:
    """A record's stored warnings (English, "; "-separated) in the reader's language: each one read back against
    :data:`WARNING_MESSAGES` and written again (its field in words, its numbers with the reader's decimal
    separator); one that matches none is shown as stored."""
    if not text:
        return ""
    with override("en"):
        fields = {str(v): v for v in LABELS.values()}
    out = []
    for stored in text.split("; "):
        for message in WARNING_MESSAGES:
            m = _pattern(message).match(stored)
            if m:
                params = {k: (fields.get(v, v) if k == "field" else
                              v.replace(".", get_format("DECIMAL_SEPARATOR")) if k in _NUMBER_PARAMS else v)
                          for k, v in m.groupdict().items()}
                out.append(_(message) % {k: str(v) for k, v in params.items()})
                break
        else:
            out.append(stored)
    return "; ".join(out)


def soft_warning(name: str, value) -> str | None:
    """The warning for an unusual value, or None when it lies inside the soft limits."""
    if value is None or name not in SOFT_LIMITS:
        return None
    lo, hi, unit = SOFT_LIMITS[name]
    field = LABELS.get(name, name)
    if lo is not None and value < lo:
        return Warning(gettext_noop("%(field)s %(value)s %(unit)s is unusually low (below %(limit)s): check the value"),
                       field=field, value=N(value), unit=unit, limit=N(lo))
    if hi is not None and value > hi:
        return Warning(gettext_noop("%(field)s %(value)s %(unit)s is unusually high (above %(limit)s): check the "
                                    "value"), field=field, value=N(value), unit=unit, limit=N(hi))
    return None


_DECIMAL = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")


def decimal(name: str, text: str) -> float:
    """A number typed by a person: "1,4" and "1.4" are both 1.4 (Danish staff write decimal commas). Text with
    more than one separator ("1.4,5", "1,400.5", "1.400") is refused as ambiguous, naming the field."""
    t = text.strip().replace("\u2212", "-")
    if not _DECIMAL.fullmatch(t):
        if re.fullmatch(r"[+-]?[\d.,]+", t) and len(re.findall(r"[.,]", t)) > 1:
            raise Refused(_("%(field)s: %(text)s is ambiguous: write one decimal separator and no thousands "
                            "separator (1.4 or 1,4; 1400)") % {"field": label(name), "text": repr(text.strip())},
                          field=name)
        raise Refused(_("%(field)s must be a number; got %(text)s") % {"field": label(name),
                                                                      "text": repr(text.strip())}, field=name)
    return float(t.replace(",", "."))


def number(name: str, value, *, required: bool = False, whole: bool = False) -> float | int | None:
    """A finite number (or None), refused with the field named when it is not one. Text is read by
    :func:`decimal` (a decimal comma or point)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Refused(_("%(field)s is required") % {"field": label(name)}, field=name)
        return None
    if isinstance(value, bool):
        raise Refused(_("%(field)s must be a number") % {"field": label(name)}, field=name)
    if isinstance(value, str):
        value = decimal(name, value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise Refused(_("%(field)s must be a number; got %(text)s") % {"field": label(name), "text": repr(value)},
                      field=name) from None
    if not math.isfinite(x):
        raise Refused(_("%(field)s must be a finite number") % {"field": label(name)}, field=name)
    if whole:
        if x != int(x):
            raise Refused(_("%(field)s must be a whole number; got %(value)s") % {"field": label(name),
                                                                                 "value": num(x)}, field=name)
        return int(x)
    return x


def in_range(name: str, value, lo: float, hi: float, unit: str = "") -> None:
    if value is not None and not lo <= value <= hi:
        raise Refused((_("%(field)s must lie between %(low)s and %(high)s %(unit)s; got %(value)s") if unit else
                       _("%(field)s must lie between %(low)s and %(high)s; got %(value)s"))
                      % {"field": label(name), "low": num(lo), "high": num(hi), "unit": unit, "value": num(value)},
                      field=name)


@dataclass(frozen=True)
class SofaResult:
    """Converted values (model field names, with ``codes``, ``comments`` and ``missing_inputs``), the SOFA
    score and the soft-limit warnings."""

    values: dict
    score: sofa_mod.SofaScore
    warnings: tuple[str, ...] = field(default=())

    @property
    def missing_inputs(self) -> tuple[str, ...]:
        """The captured inputs with neither a value nor a missing-data code (the record is incomplete)."""
        return tuple(i for i in self.values["missing_inputs"].split(";") if i)

    @property
    def missing_input_labels(self) -> list[str]:
        return [str(INPUT_LABELS[i]) for i in self.missing_inputs]

    @property
    def blank(self) -> bool:
        """Nothing typed and nothing coded."""
        v = self.values
        return not v["codes"] and all(v[k] is None for k in (
            "pao2_entered", "fio2_entered", "respiratory_support", "platelets", "bilirubin_entered", "map_mmhg",
            *sofa_mod.DRUGS, "gcs", "creatinine_entered", "urine_output", "vasopressor", "mechanical_ventilation",
            "rrt") if k in v)

    def model_values(self) -> dict:
        s = self.score
        return {**self.values, **{f"sofa_{c}": getattr(s, c) for c in sofa_mod.COMPONENTS},
                "sofa_total": s.total, "sofa_modified": s.modified}

    def as_json(self) -> dict:
        s = self.score
        return {"components": s.components(), "total": s.total, "modified": s.modified, "missing": list(s.missing),
                "summary": s.summary(), "converted": {k: self.values[k] for k in
                                                      ("pao2_fio2", "bilirubin", "creatinine")},
                "warnings": list(self.warnings), "missing_inputs": list(self.missing_inputs),
                "missing_input_labels": self.missing_input_labels}


def _unit(name: str, value: str, allowed: tuple[str, ...], default: str) -> str:
    value = (value or "").strip() or default
    aliases = {"µmol/l": "umol/L", "umol/l": "umol/L", "mg/dl": "mg/dL", "mmhg": "mmHg", "kpa": "kPa",
               "%": "percent", "percent": "percent", "fraction": "fraction"}
    value = aliases.get(value.lower(), value)
    if value not in allowed:
        raise Refused(_("%(field)s must be one of %(allowed)s; got %(value)s") % {
            "field": label(name), "allowed": ", ".join(allowed), "value": repr(value)}, field=name)
    return value


def _bool(name: str, value) -> bool | None:
    """Yes, no, or None (not entered, or unknown with its code)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "on", "1", "yes"):
        return True
    if str(value).lower() in ("false", "off", "0", "no"):
        return False
    raise Refused(_("%(field)s must be yes or no (or the code unknown)") % {"field": label(name)}, field=name)


def _codes(raw: dict, inputs: tuple[str, ...]) -> dict[str, str]:
    from shine import protocol as protocol_mod

    allowed = protocol_mod.load().missing_data.codes
    codes = raw.get("codes") or {}
    if not isinstance(codes, dict):
        raise Refused(_("codes must map inputs to missing-data codes"), field="codes")
    out = {}
    for name, code in codes.items():
        if code in (None, ""):
            continue
        if name not in inputs:
            raise Refused(_("a missing-data code for %(name)s: codes are given for %(inputs)s") % {
                "name": repr(name), "inputs": ", ".join(inputs)}, field=f"codes.{name}")
        if code not in allowed:
            raise Refused(_("%(field)s: the missing-data code must be one of %(allowed)s; got %(code)s") % {
                "field": INPUT_LABELS[name], "allowed": ", ".join(allowed),
                "code": repr(code)}, field=f"codes.{name}")
        out[name] = code
    return dict(sorted(out.items()))


def _comments(raw: dict, inputs: tuple[str, ...]) -> dict[str, str]:
    from shine.trial.errors import entered_text

    comments = raw.get("comments") or {}
    if not isinstance(comments, dict):
        raise Refused(_("comments must map inputs to text"), field="comments")
    out = {}
    for name, text in comments.items():
        if name not in inputs:
            raise Refused(_("a comment for %(name)s: comments are given for %(inputs)s") % {
                "name": repr(name), "inputs": ", ".join(inputs)}, field=f"comments.{name}")
        if not isinstance(text, str):
            raise Refused(_("the comment on %(field)s must be text") % {"field": INPUT_LABELS[name]},
                          field=f"comments.{name}")
        text = entered_text(f"comments.{name}", text, limit=COMMENT_LIMIT,
                            label=format_lazy(gettext_lazy("the note on {input}"), input=INPUT_LABELS[name]))
        if text:
            out[name] = text
    return dict(sorted(out.items()))


def _in_platform_unit(quantity: str, value: float, unit: str, name: str) -> float:
    """``value`` (finite, ≥ 0: checked before) in the platform unit; one too large to convert becomes inf,
    which the range checks then refuse naming the field and its limits."""
    try:
        return float(units.to_platform_unit(quantity, value, unit, name=name))
    except ValueError:
        return math.inf


def _plausible(name: str, quantity: str, value: float, unit: str, warnings: list[str]) -> None:
    """Refuse a value impossible in its unit, warn about an unusual one (units.PLAUSIBLE), and ask whether
    another unit was meant when the value is usual there."""
    where, other = units.plausibility(quantity, value, unit)
    if where == "ok":
        return
    hard_lo, hard_hi, soft_lo, soft_hi = units.PLAUSIBLE[quantity][unit]
    shown = {"umol/L": "µmol/L"}.get(unit, unit)
    meant = {"other": {"umol/L": "µmol/L"}.get(other, other)} if other else {}
    if where == "hard":
        platform = next(iter(units.PLAUSIBLE[quantity]))
        params = {"field": label(name), "value": num(value), "unit": shown, "low": num(hard_lo),
                  "high": num(hard_hi), **meant}
        if unit != platform:
            params.update(platform_high=num(units.PLAUSIBLE[quantity][platform][1]),
                          platform_unit={"umol/L": "µmol/L"}.get(platform, platform))
            text = (_("%(field)s %(value)s %(unit)s is impossible (it must lie between %(low)s and %(high)s "
                      "%(unit)s = %(platform_high)s %(platform_unit)s): did you mean %(other)s?") if other else
                    _("%(field)s %(value)s %(unit)s is impossible (it must lie between %(low)s and %(high)s "
                      "%(unit)s = %(platform_high)s %(platform_unit)s): check the value"))
        else:
            text = (_("%(field)s %(value)s %(unit)s is impossible (it must lie between %(low)s and %(high)s "
                      "%(unit)s): did you mean %(other)s?") if other else
                    _("%(field)s %(value)s %(unit)s is impossible (it must lie between %(low)s and %(high)s "
                      "%(unit)s): check the value"))
        raise Refused(text % params, field=name)
    params = {"field": LABELS[name], "value": N(value), "unit": shown, **meant}
    if value < soft_lo:
        params["limit"] = N(soft_lo)
        message = (gettext_noop("%(field)s %(value)s %(unit)s is unusual (below %(limit)s %(unit)s): did you mean "
                                "%(other)s?") if other else
                   gettext_noop("%(field)s %(value)s %(unit)s is unusual (below %(limit)s %(unit)s): check the value"))
    else:
        params["limit"] = N(soft_hi)
        message = (gettext_noop("%(field)s %(value)s %(unit)s is unusual (above %(limit)s %(unit)s): did you mean "
                                "%(other)s?") if other else
                   gettext_noop("%(field)s %(value)s %(unit)s is unusual (above %(limit)s %(unit)s): check the value"))
    warnings.append(Warning(message, **params))


def sofa_inputs(raw: dict, *, daily: bool) -> SofaResult:
    """Check and convert the SOFA inputs of a baseline or daily form and compute the SOFA.

    ``raw`` holds the form's fields: ``pao2`` + ``pao2_unit`` (mmHg/kPa), ``fio2`` + ``fio2_unit``
    (fraction/percent, or empty to infer), ``respiratory_support``, ``platelets``, ``bilirubin`` +
    ``bilirubin_unit`` (umol/L, mg/dL), ``map_mmhg``, the four drug doses, ``gcs``, ``creatinine`` +
    ``creatinine_unit``, ``urine_output``; with ``daily`` also ``vasopressor``, ``mechanical_ventilation``,
    ``rrt``; ``codes`` (input → missing-data code, inputs of :data:`DAILY_INPUTS` / :data:`BASELINE_INPUTS`)
    and ``comments`` (input → note). Numbers may be text with a decimal comma. Empty means not entered (never
    0 or no); yes/no fields are yes, no or empty (with the code ``unknown`` for unknown). Raises
    :class:`Refused` naming the field and the limit.
    """
    inputs = DAILY_INPUTS if daily else BASELINE_INPUTS
    codes = _codes(raw, inputs)
    comments = _comments(raw, inputs)
    v: dict = {}
    warnings: list[str] = []
    pao2 = number("pao2", raw.get("pao2"))
    fio2 = number("fio2", raw.get("fio2"))
    pao2_unit = _unit("pao2_unit", raw.get("pao2_unit"), ("mmHg", "kPa"), "mmHg")
    fio2_unit = raw.get("fio2_unit") or ""
    if fio2_unit:
        fio2_unit = _unit("fio2_unit", fio2_unit, ("fraction", "percent"), "fraction")
    if (pao2 is None) != (fio2 is None):
        missing = "fio2" if fio2 is None else "pao2"
        raise Refused(_("%(field)s is required with %(other)s (the P/F ratio needs both)") % {
            "field": label(missing), "other": label("pao2" if missing == "fio2" else "fio2")}, field=missing)
    pf = None
    if pao2 is not None:
        if not 0 < pao2:
            raise Refused(_("PaO2 must lie above 0; got %(value)s %(unit)s") % {"value": num(pao2), "unit": pao2_unit},
                          field="pao2")
        _plausible("pao2", "pressure", pao2, pao2_unit, warnings)
        mmhg = _in_platform_unit("pressure", pao2, pao2_unit, "pao2")
        try:
            fraction = float(units.fio2_fraction(fio2, fio2_unit or None))
        except ValueError as exc:
            raise Refused(str(exc).replace("fio2", "FiO2"), field="fio2") from None
        pf = round(mmhg / fraction, 6)
        fio2_unit = fio2_unit or ("percent" if fio2 > 1 else "fraction")
    v.update(pao2_entered=pao2, pao2_unit=pao2_unit if pao2 is not None else "", fio2_entered=fio2,
             fio2_unit=fio2_unit if fio2 is not None else "", pao2_fio2=pf)
    v["respiratory_support"] = _bool("respiratory_support", raw.get("respiratory_support"))
    v["platelets"] = number("platelets", raw.get("platelets"))
    for name in ("bilirubin", "creatinine"):
        entered = number(name, raw.get(name))
        unit = _unit(f"{name}_unit", raw.get(f"{name}_unit"), ("umol/L", "mg/dL"), "umol/L")
        if entered is not None and entered < 0:
            raise Refused(_("%(field)s must be 0 or more; got %(value)s") % {"field": label(name),
                                                                            "value": num(entered)}, field=name)
        if entered is not None:
            _plausible(name, name, entered, unit, warnings)
        converted = None if entered is None else round(_in_platform_unit(name, entered, unit, name), 6)
        v.update({f"{name}_entered": entered, f"{name}_unit": unit if entered is not None else "", name: converted})
    v["map_mmhg"] = number("map_mmhg", raw.get("map_mmhg"))
    for drug in sofa_mod.DRUGS:
        v[drug] = number(drug, raw.get(drug))
    v["gcs"] = number("gcs", raw.get("gcs"), whole=True)
    v["urine_output"] = number("urine_output", raw.get("urine_output"))
    for name in ("pao2_fio2", "platelets", "bilirubin", "map_mmhg", *sofa_mod.DRUGS, "gcs", "creatinine",
                 "urine_output"):
        lo, hi, unit = sofa_mod.LIMITS[name]
        value = v[name]
        if value is not None and not lo <= value <= hi:
            params = {"field": label(name), "low": num(lo), "high": num(hi), "unit": unit_word(unit),
                      "value": num(value)}
            if name in ("bilirubin", "creatinine") and v[f"{name}_unit"] == "mg/dL":
                params.update(entered=num(v[f"{name}_entered"]), entered_unit=v[f"{name}_unit"])
                text = _("%(field)s must lie between %(low)s and %(high)s %(unit)s; got %(value)s (entered "
                         "%(entered)s %(entered_unit)s)")
            else:
                text = _("%(field)s must lie between %(low)s and %(high)s %(unit)s; got %(value)s")
            raise Refused(text % params, field=FORM_FIELD.get(name, name))
        w = soft_warning(name, value)
        if w:
            warnings.append(w)
    _doses(v, raw, codes, daily)
    if daily:
        v["mechanical_ventilation"] = _bool("mechanical_ventilation", raw.get("mechanical_ventilation"))
        v["rrt"] = _bool("rrt", raw.get("rrt"))
        if v["mechanical_ventilation"] and v["respiratory_support"] is False:
            raise Refused(_("respiratory support must be yes when the patient is mechanically ventilated"),
                          field="respiratory_support")
        if v["mechanical_ventilation"] and v["respiratory_support"] is None:
            v["respiratory_support"] = True  # ventilation is respiratory support
            codes.pop("respiratory_support", None)
    present = _present(v, daily)
    for name, code in codes.items():
        if present[name] and not (name == "vasopressor_doses" and code == "not_applicable"):
            raise Refused(_("%(field)s has a value and the code '%(code)s': give one or the other") % {
                "field": INPUT_LABELS[name], "code": CODE_LABELS[code]}, field=f"codes.{name}")
    v["codes"] = codes
    v["comments"] = comments
    v["missing_inputs"] = ";".join(i for i in inputs if not present[i] and i not in codes
                                   and not (i == "vasopressor_doses" and v.get("vasopressor") is False))
    score = sofa_mod.sofa(**{k: v[k] for k in sofa_mod.INPUTS})
    return SofaResult(values=v, score=score, warnings=tuple(warnings))


def _doses(v: dict, raw: dict, codes: dict, daily: bool) -> None:
    """The four doses after the cross-field rules: a dose implies a vasopressor was given; "no vasopressor"
    (or the code not applicable for the doses) makes every dose 0; with some dose typed the others are 0
    (not given); with none typed and a vasopressor given (or not said) the doses are unknown (None)."""
    typed = [d for d in sofa_mod.DRUGS if v[d] is not None]
    on_drug = any(v[d] > 0 for d in typed)
    vaso = _bool("vasopressor", raw.get("vasopressor")) if daily else None
    if daily:
        if vaso is False and on_drug:
            first = next(d for d in typed if v[d] > 0)
            raise Refused(_("vasopressor given must be yes when a vasopressor or inotrope dose is given "
                            "(%(drug)s %(dose)s)") % {"drug": label(first), "dose": num(v[first])}, field="vasopressor")
        if codes.get("vasopressor_doses") == "not_applicable" and vaso:
            raise Refused(_("vasopressor doses cannot be 'not applicable' when a vasopressor was given"),
                          field="codes.vasopressor_doses")
        if on_drug and vaso is None:
            vaso = True
            codes.pop("vasopressor", None)
        if vaso and typed and not on_drug:
            raise Refused(_("vasopressor given is yes: give the dose of the vasopressor or inotrope (every dose "
                            "typed is 0)"), field="norepinephrine")
        v["vasopressor"] = vaso
    if (daily and vaso is False) or codes.get("vasopressor_doses") == "not_applicable":
        if on_drug:
            raise Refused(_("vasopressor doses are 'not applicable' but a dose is given"),
                          field="codes.vasopressor_doses")
        for d in sofa_mod.DRUGS:
            v[d] = 0.0
    elif typed:
        for d in sofa_mod.DRUGS:
            if v[d] is None:
                v[d] = 0.0


def _present(v: dict, daily: bool) -> dict[str, bool]:
    out = {"pao2_fio2": v["pao2_fio2"] is not None, "respiratory_support": v["respiratory_support"] is not None,
           "platelets": v["platelets"] is not None, "bilirubin": v["bilirubin"] is not None,
           "map_mmhg": v["map_mmhg"] is not None, "gcs": v["gcs"] is not None,
           "creatinine": v["creatinine"] is not None, "urine_output": v["urine_output"] is not None,
           "vasopressor_doses": any(v[d] is not None for d in sofa_mod.DRUGS)}
    if daily:
        out.update(vasopressor=v["vasopressor"] is not None, mechanical_ventilation=v["mechanical_ventilation"]
                   is not None, rrt=v["rrt"] is not None)
    return out


def sofa_values_of(record) -> dict:
    """The form values of a saved baseline or daily record, as they were entered (the inverse of
    :func:`sofa_inputs`): what a partial correction (PATCH) starts from."""
    out = {k: getattr(record, k) for k in ("respiratory_support", "platelets", "map_mmhg", *sofa_mod.DRUGS,
                                           "gcs", "urine_output")}
    out.update(pao2=record.pao2_entered, pao2_unit=record.pao2_unit or "mmHg", fio2=record.fio2_entered,
               fio2_unit=record.fio2_unit, bilirubin=record.bilirubin_entered,
               bilirubin_unit=record.bilirubin_unit or "umol/L", creatinine=record.creatinine_entered,
               creatinine_unit=record.creatinine_unit or "umol/L", codes=dict(record.codes),
               comments=dict(record.comments))
    if hasattr(record, "study_day"):  # a daily record
        out.update(vasopressor=record.vasopressor, mechanical_ventilation=record.mechanical_ventilation,
                   rrt=record.rrt)
        if record.vasopressor is False:  # the zeros follow from "no vasopressor"
            out.update({d: None for d in sofa_mod.DRUGS})
    return out


# ---------------------------------------------------------------- per-form value checks (no database)
# Each takes the entered values and the facts of the participant it needs (randomisation time, dosing weight,
# time of death) and returns the values to save and the soft-limit warnings, or raises Refused naming the field.

EQ5D = ("eq5d_mobility", "eq5d_selfcare", "eq5d_activities", "eq5d_pain", "eq5d_anxiety")
SUPPORT_DAYS = ("days_vasopressor", "days_ventilation", "days_rrt")
BASELINE_KEYS = ("age", "sex", "weight_kg", "weight_estimated", "site_of_infection", "comorbidities",
                 "icu_admitted_at")
MAX_RATE_ML_PER_H = 50
COMPONENT_FIELD = {"respiration": "pao2", "coagulation": "platelets", "liver": "bilirubin",
                   "cardiovascular": "norepinephrine", "renal": "creatinine"}

FREE_TEXT_LIMIT = 400  # a sample's comments, a cause of death, an infusion note
SAMPLE_ID_LIMIT = 40


def local(t: dt.datetime) -> str:
    """A time as staff read it in a message (the trial's time zone, to the minute, in the reader's format)."""
    from shine.web.formats import local_datetime

    return local_datetime(t)


def from_randomisation(randomised_at: dt.datetime, at: dt.datetime) -> dt.datetime:
    """A time typed to the minute (as the forms prefill it) in the minute of randomisation counts as the
    randomisation time: the randomisation's seconds must not refuse the prefilled "now"."""
    r = randomised_at
    if r.replace(second=0, microsecond=0) <= at < r and at.second == 0 and at.microsecond == 0:
        return r
    return at


def flag(warnings) -> dict:
    """The review flag of a record saved with these warnings."""
    warnings = [w for w in warnings if w]
    return {"warnings": "; ".join(warnings), "needs_review": bool(warnings)}


def baseline_values(values: dict, *, randomised_at: dt.datetime,
                    dosing_weight_kg: float | None) -> tuple[dict, list[str]]:
    """The baseline form: the SOFA inputs (all but CNS required) and the patient's characteristics."""
    p = protocol_mod.load()
    i = p.intervention
    v = sofa_inputs(values, daily=False)
    if v.score.modified is None:
        missing = [c for c in v.score.missing if c != "cns"]
        raise Refused(_("the baseline modified SOFA adjusts the primary analysis: every component but CNS needs a "
                        "value (missing: %(missing)s)") % {"missing": ", ".join(str(COMPONENT_WORDS.get(c, c))
                                                                               for c in missing)},
                      field=COMPONENT_FIELD.get(missing[0]))
    out = v.model_values()
    warnings = list(v.warnings)
    age = number("age", values.get("age"), required=True, whole=True)
    in_range("age", age, p.eligibility.min_age_years, 110, "years")
    sex = (values.get("sex") or "").upper()
    if sex not in ("F", "M"):
        raise Refused(_("sex must be F or M"), field="sex")
    weight = number("weight_kg", values.get("weight_kg"), required=True)
    in_range("weight_kg", weight, i.min_weight_kg, i.max_weight_kg, "kg")
    estimated = values.get("weight_estimated")
    if estimated not in (True, False):
        raise Refused(_("say whether the weight is estimated (true) or weighed (false)"), field="weight_estimated")
    site = values.get("site_of_infection") or ""
    if site not in SITES_OF_INFECTION:
        raise Refused(_("site of infection must be one of %(allowed)s") % {"allowed": ", ".join(SITES_OF_INFECTION)},
                      field="site_of_infection")
    comorb = values.get("comorbidities") or []
    if isinstance(comorb, str):
        comorb = [c for c in comorb.replace(",", ";").split(";") if c.strip()]
    comorb = [c.strip() for c in comorb]
    unknown = [c for c in comorb if c not in COMORBIDITIES]
    if unknown:
        raise Refused(_("unknown comorbidity %(code)s; one of %(allowed)s") % {
            "code": repr(unknown[0]), "allowed": ", ".join(COMORBIDITIES)}, field="comorbidities")
    admitted = entered_time("icu_admitted_at", values.get("icu_admitted_at"), label=LABELS["icu_admitted_at"])
    if admitted > randomised_at:
        raise Refused(_("ICU admission must be at or before randomisation (%(time)s): the patient is in the ICU "
                        "when randomised") % {"time": local(randomised_at)}, field="icu_admitted_at")
    if randomised_at - admitted > dt.timedelta(days=365):
        raise Refused(_("ICU admission must lie within a year before randomisation"), field="icu_admitted_at")
    warnings += [soft_warning("age", age), soft_warning("weight_kg", weight)]
    if dosing_weight_kg and abs(weight - dosing_weight_kg) > 0.5:
        warnings.append(Warning(gettext_noop("weight %(weight)s kg differs from the weight used for dosing at "
                                             "randomisation (%(dosing)s kg)"),
                                weight=N(weight), dosing=N(dosing_weight_kg)))
    if randomised_at - admitted > dt.timedelta(days=7):
        warnings.append(Warning(gettext_noop("ICU admission more than 7 days before randomisation: check the date")))
    out.update(age=age, sex=sex, weight_kg=weight, weight_estimated=estimated, site_of_infection=site,
               comorbidities=";".join(sorted(set(comorb))), icu_admitted_at=admitted)
    return out, warnings


def study_day(day) -> int:
    """The study day of a daily record (1 to the protocol's last day)."""
    last = protocol_mod.load().schedule.daily_record_last_day
    day = number("study_day", day, required=True, whole=True)
    if not 1 <= day <= last:
        raise Refused(_("study day must lie between 1 and %(last)s; got %(day)s") % {"last": last, "day": day},
                      field="study_day")
    return day


def infusion_rate(rate, *, weight_kg: float | None) -> tuple[float, list[str]]:
    """An infusion rate, warned when it differs from the rate computed from the dosing weight."""
    rate = number("rate_ml_per_h", rate, required=True)
    in_range("rate_ml_per_h", rate, 0, MAX_RATE_ML_PER_H, "mL/h")
    warnings = []
    if weight_kg and rate > 0:
        c = dosing.check_rate(rate, weight_kg)
        if c.warn:
            warnings.append(Warning(gettext_noop("rate %(rate)s mL/h differs from the computed %(computed)s mL/h "
                                                 "(%(difference)s, tolerance %(tolerance)s)"),
                                    rate=N(rate), computed=N(c.expected_ml_per_h, ".2f"),
                                    difference=N(c.relative_difference, "+.0%"), tolerance=N(c.tolerance, ".0%")))
    return rate, warnings


def sample_values(study_day, drawn_at, frozen_at, comments, *, randomised_at: dt.datetime,
                  died_at: dt.datetime | None) -> tuple[dict, list[str]]:
    """A biobank sample: drawn within its study day, frozen after drawing (late freezing warned)."""
    days = protocol_mod.load().schedule.biobank_days
    day = number("study_day", study_day, required=True, whole=True)
    if day not in days:
        raise Refused(_("blood samples are taken on study days %(days)s; got %(day)s") % {
            "days": ", ".join(map(str, days)), "day": day}, field="study_day")
    drawn = from_randomisation(randomised_at, entered_time("drawn_at", drawn_at, label=LABELS["drawn_at"]))
    start = schedule.day_start(randomised_at, day)
    if not start <= drawn < start + schedule.DAY:
        raise Refused(_("drawn at must lie within study day %(day)s (%(start)s to %(end)s)") % {
            "day": day, "start": local(start), "end": local(start + schedule.DAY)}, field="drawn_at")
    frozen = entered_time("frozen_at", frozen_at, required=False, label=LABELS["frozen_at"])
    warnings = []
    if frozen is not None:
        if frozen < drawn:
            raise Refused(_("frozen at must not be before drawn at"), field="frozen_at")
        hours = (frozen - drawn).total_seconds() / 3600
        if hours > SAMPLE_FREEZE_WARN_HOURS:
            warnings.append(Warning(gettext_noop("sample frozen %(hours)s h after drawing (more than %(limit)s h): "
                                                 "check the times"),
                                    hours=N(hours, ".1f"), limit=N(SAMPLE_FREEZE_WARN_HOURS)))
    if died_at and drawn > died_at:
        raise Refused(_("drawn at is after the participant's death (%(time)s)") % {"time": local(died_at)},
                      field="drawn_at", status=409)
    return {"study_day": day, "drawn_at": drawn, "frozen_at": frozen,
            "comments": entered_text("comments", comments, limit=FREE_TEXT_LIMIT,
                                     label=LABELS["comments"])}, warnings


def followup_values(visit_day, values: dict, *, randomised_at: dt.datetime,
                    died_at: dt.datetime | None) -> tuple[dict, str]:
    """A follow-up visit: in its window, vital status consistent with the death, EQ-5D-5L whole or empty.
    Returns the values and the consent kind they need (``data``, or ``vital_status`` for status alone)."""
    s = protocol_mod.load().schedule
    day = number("visit_day", visit_day, required=True, whole=True)
    if day not in s.followup_days:
        raise Refused(_("visit day must be one of %(days)s") % {"days": ", ".join(map(str, s.followup_days))},
                      field="visit_day")
    lo, hi = s.followup_window_days[day]
    at = entered_time("assessed_at", values.get("assessed_at"), label=LABELS["assessed_at"])
    opens, closes = schedule.day_start(randomised_at, lo), randomised_at + hi * schedule.DAY
    if not opens <= at < closes:
        raise Refused(_("the day-%(day)s visit must take place in its window, study days %(low)s–%(high)s "
                        "(%(opens)s to before %(closes)s)") % {"day": day, "low": lo, "high": hi,
                                                               "opens": local(opens), "closes": local(closes)},
                      field="assessed_at")
    status = values.get("vital_status") or ""
    if status not in VITAL_STATUSES:
        raise Refused(_("vital status must be %(some)s or %(last)s") % {"some": ", ".join(VITAL_STATUSES[:-1]),
                                                                        "last": VITAL_STATUSES[-1]},
                      field="vital_status")
    if status == "dead" and (died_at is None or died_at > at):
        raise Refused(_("vital status dead needs the death recorded first (on or before the visit)"),
                      field="vital_status", status=409)
    if status == "alive" and died_at is not None and died_at <= at:
        raise Refused(_("the participant died %(time)s, before this visit") % {"time": local(died_at)},
                      field="vital_status", status=409)
    out = {"assessed_at": at, "vital_status": status}
    for name in EQ5D:
        out[name] = number(name, values.get(name), whole=True)
        in_range(name, out[name], 1, 5)
    out["eq5d_vas"] = number("eq5d_vas", values.get("eq5d_vas"), whole=True)
    in_range("eq5d_vas", out["eq5d_vas"], 0, 100)
    for name in SUPPORT_DAYS:
        out[name] = number(name, values.get(name), whole=True)
        in_range(name, out[name], 0, day)
    answered = [n for n in (*EQ5D, "eq5d_vas") if out[n] is not None]
    if status != "alive" and answered:
        raise Refused(_("EQ-5D-5L is answered only by a participant known to be alive"), field=answered[0])
    if answered and len(answered) < len(EQ5D) + 1:
        missing = [n for n in (*EQ5D, "eq5d_vas") if out[n] is None]
        raise Refused(_("EQ-5D-5L: answer all five dimensions and the VAS, or none (%(field)s is missing)") % {
            "field": label(missing[0])}, field=missing[0])
    kind = "data" if answered or any(out[n] is not None for n in SUPPORT_DAYS) else "vital_status"
    return out, kind
