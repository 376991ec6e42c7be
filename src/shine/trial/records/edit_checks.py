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

from django.utils import timezone

from shine import protocol as protocol_mod
from shine.analysis.schema import SITES_OF_INFECTION, VITAL_STATUSES
from shine.clinical import dosing, units
from shine.trial.errors import Refused, entered_text, entered_time

from . import schedule

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
LABELS = {"pao2": "PaO2", "fio2": "FiO2", "pao2_fio2": "PaO2/FiO2", "platelets": "platelets",
          "bilirubin": "bilirubin", "map_mmhg": "MAP", "dopamine": "dopamine", "dobutamine": "dobutamine",
          "epinephrine": "adrenaline", "norepinephrine": "noradrenaline", "gcs": "GCS", "creatinine": "creatinine",
          "urine_output": "urine output", "weight_kg": "weight", "age": "age",
          "respiratory_support": "respiratory support", "vasopressor": "vasopressor given",
          "vasopressor_doses": "vasopressor doses", "mechanical_ventilation": "mechanical ventilation",
          "rrt": "renal replacement therapy", "rate_ml_per_h": "rate", "visit_day": "visit day",
          "study_day": "study day", "eq5d_vas": "EQ VAS"}
# the captured inputs of the SOFA forms (docs/data-model.md): each needs a value or a missing-data code for the
# record to be complete. ``pao2_fio2`` is the blood gas (PaO2 and FiO2 together); ``vasopressor_doses`` the four
# doses together (needed when a vasopressor was given).
BASELINE_INPUTS = ("pao2_fio2", "respiratory_support", "platelets", "bilirubin", "map_mmhg", "vasopressor_doses",
                   "gcs", "creatinine", "urine_output")
DAILY_INPUTS = ("pao2_fio2", "respiratory_support", "platelets", "bilirubin", "map_mmhg", "vasopressor",
                "vasopressor_doses", "gcs", "creatinine", "urine_output", "mechanical_ventilation", "rrt")
INPUT_LABELS = {**LABELS, "pao2_fio2": "PaO2 and FiO2"}
CODE_LABELS = {"not_done": "not done", "unknown": "unknown", "not_applicable": "not applicable"}
COMMENT_LIMIT = 200
# the form field that carries each converted value (a refusal of the converted value names the form field)
FORM_FIELD = {"pao2_fio2": "pao2"}
COMORBIDITIES = ("heart_failure", "ischaemic_heart_disease", "copd", "diabetes", "chronic_kidney_disease",
                 "liver_cirrhosis", "cancer", "haematological_cancer", "immunosuppression", "other")


def soft_warning(name: str, value) -> str | None:
    """The warning for an unusual value, or None when it lies inside the soft limits."""
    if value is None or name not in SOFT_LIMITS:
        return None
    lo, hi, unit = SOFT_LIMITS[name]
    label = LABELS.get(name, name)
    if lo is not None and value < lo:
        return f"{label} {value:g} {unit} is unusually low (below {lo:g}): check the value"
    if hi is not None and value > hi:
        return f"{label} {value:g} {unit} is unusually high (above {hi:g}): check the value"
    return None


_DECIMAL = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")


def decimal(name: str, text: str) -> float:
    """A number typed by a person: "1,4" and "1.4" are both 1.4 (Danish staff write decimal commas). Text with
    more than one separator ("1.4,5", "1,400.5", "1.400") is refused as ambiguous, naming the field."""
    t = text.strip().replace("\u2212", "-")
    label = LABELS.get(name, name)
    if not _DECIMAL.fullmatch(t):
        if re.fullmatch(r"[+-]?[\d.,]+", t) and len(re.findall(r"[.,]", t)) > 1:
            raise Refused(f"{label}: {text.strip()!r} is ambiguous: write one decimal separator and no thousands "
                          "separator (1.4 or 1,4; 1400)", field=name)
        raise Refused(f"{label} must be a number; got {text.strip()!r}", field=name)
    return float(t.replace(",", "."))


def number(name: str, value, *, required: bool = False, whole: bool = False) -> float | int | None:
    """A finite number (or None), refused with the field named when it is not one. Text is read by
    :func:`decimal` (a decimal comma or point)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Refused(f"{LABELS.get(name, name)} is required", field=name)
        return None
    if isinstance(value, bool):
        raise Refused(f"{LABELS.get(name, name)} must be a number", field=name)
    if isinstance(value, str):
        value = decimal(name, value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise Refused(f"{LABELS.get(name, name)} must be a number; got {value!r}", field=name) from None
    if not math.isfinite(x):
        raise Refused(f"{LABELS.get(name, name)} must be a finite number", field=name)
    if whole:
        if x != int(x):
            raise Refused(f"{LABELS.get(name, name)} must be a whole number; got {value!r}", field=name)
        return int(x)
    return x


def in_range(name: str, value, lo: float, hi: float, unit: str = "") -> None:
    if value is not None and not lo <= value <= hi:
        u = f" {unit}" if unit else ""
        raise Refused(f"{LABELS.get(name, name)} must lie between {lo:g} and {hi:g}{u}; got {value:g}", field=name)


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
        return [INPUT_LABELS[i] for i in self.missing_inputs]

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
        raise Refused(f"{name.replace('_', ' ')} must be one of {', '.join(allowed)}; got {value!r}", field=name)
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
    raise Refused(f"{LABELS.get(name, name)} must be yes or no (or the code unknown)", field=name)


def _codes(raw: dict, inputs: tuple[str, ...]) -> dict[str, str]:
    from shine import protocol as protocol_mod

    allowed = protocol_mod.load().missing_data.codes
    codes = raw.get("codes") or {}
    if not isinstance(codes, dict):
        raise Refused("codes must map inputs to missing-data codes", field="codes")
    out = {}
    for name, code in codes.items():
        if code in (None, ""):
            continue
        if name not in inputs:
            raise Refused(f"a missing-data code for {name!r}: codes are given for {', '.join(inputs)}",
                          field=f"codes.{name}")
        if code not in allowed:
            raise Refused(f"{INPUT_LABELS[name]}: the missing-data code must be one of {', '.join(allowed)}; "
                          f"got {code!r}", field=f"codes.{name}")
        out[name] = code
    return dict(sorted(out.items()))


def _comments(raw: dict, inputs: tuple[str, ...]) -> dict[str, str]:
    from shine.trial.errors import entered_text

    comments = raw.get("comments") or {}
    if not isinstance(comments, dict):
        raise Refused("comments must map inputs to text", field="comments")
    out = {}
    for name, text in comments.items():
        if name not in inputs:
            raise Refused(f"a comment for {name!r}: comments are given for {', '.join(inputs)}",
                          field=f"comments.{name}")
        if not isinstance(text, str):
            raise Refused(f"the comment on {INPUT_LABELS[name]} must be text", field=f"comments.{name}")
        text = entered_text(f"comments.{name}", text, limit=COMMENT_LIMIT)
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
    meant = f": did you mean {({'umol/L': 'µmol/L'}.get(other, other))}?" if other else ": check the value"
    label = LABELS[name]
    if where == "hard":
        platform = next(iter(units.PLAUSIBLE[quantity]))
        also = "" if unit == platform else \
            f" = {units.PLAUSIBLE[quantity][platform][1]:g} {({'umol/L': 'µmol/L'}.get(platform, platform))}"
        raise Refused(f"{label} {value:g} {shown} is impossible (it must lie between {hard_lo:g} and {hard_hi:g} "
                      f"{shown}{also}){meant}", field=name)
    side = f"below {soft_lo:g}" if value < soft_lo else f"above {soft_hi:g}"
    warnings.append(f"{label} {value:g} {shown} is unusual ({side} {shown}){meant}")


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
        raise Refused(f"{LABELS[missing]} is required with {LABELS['pao2' if missing == 'fio2' else 'fio2']} "
                      "(the P/F ratio needs both)", field=missing)
    pf = None
    if pao2 is not None:
        if not 0 < pao2:
            raise Refused(f"PaO2 must lie above 0; got {pao2:g} {pao2_unit}", field="pao2")
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
            raise Refused(f"{LABELS[name]} must be 0 or more; got {entered:g}", field=name)
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
            shown = {"bilirubin": "bilirubin", "creatinine": "creatinine"}.get(name)
            extra = f" (entered {v[f'{shown}_entered']:g} {v[f'{shown}_unit']})" if shown and \
                v[f"{shown}_unit"] == "mg/dL" else ""
            raise Refused(f"{LABELS[name]} must lie between {lo:g} and {hi:g} {unit}; got {value:g}{extra}",
                          field=FORM_FIELD.get(name, name))
        w = soft_warning(name, value)
        if w:
            warnings.append(w)
    _doses(v, raw, codes, daily)
    if daily:
        v["mechanical_ventilation"] = _bool("mechanical_ventilation", raw.get("mechanical_ventilation"))
        v["rrt"] = _bool("rrt", raw.get("rrt"))
        if v["mechanical_ventilation"] and v["respiratory_support"] is False:
            raise Refused("respiratory support must be yes when the patient is mechanically ventilated",
                          field="respiratory_support")
        if v["mechanical_ventilation"] and v["respiratory_support"] is None:
            v["respiratory_support"] = True  # ventilation is respiratory support
            codes.pop("respiratory_support", None)
    present = _present(v, daily)
    for name, code in codes.items():
        if present[name] and not (name == "vasopressor_doses" and code == "not_applicable"):
            raise Refused(f"{INPUT_LABELS[name]} has a value and the code {CODE_LABELS[code]!r}: give one or the "
                          "other", field=f"codes.{name}")
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
            raise Refused(f"vasopressor given must be yes when a vasopressor or inotrope dose is given "
                          f"({LABELS[first]} {v[first]:g})", field="vasopressor")
        if codes.get("vasopressor_doses") == "not_applicable" and vaso:
            raise Refused("vasopressor doses cannot be 'not applicable' when a vasopressor was given",
                          field="codes.vasopressor_doses")
        if on_drug and vaso is None:
            vaso = True
            codes.pop("vasopressor", None)
        if vaso and typed and not on_drug:
            raise Refused("vasopressor given is yes: give the dose of the vasopressor or inotrope (every dose "
                          "typed is 0)", field="norepinephrine")
        v["vasopressor"] = vaso
    if (daily and vaso is False) or codes.get("vasopressor_doses") == "not_applicable":
        if on_drug:
            raise Refused("vasopressor doses are 'not applicable' but a dose is given", field="codes.vasopressor_doses")
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
    """A time as staff read it in a message (the trial's time zone, to the minute)."""
    return timezone.localtime(t).strftime("%Y-%m-%d %H:%M")


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
        raise Refused(f"the baseline modified SOFA adjusts the primary analysis: every component but CNS needs a "
                      f"value (missing: {', '.join(missing)})", field=COMPONENT_FIELD.get(missing[0]))
    out = v.model_values()
    warnings = list(v.warnings)
    age = number("age", values.get("age"), required=True, whole=True)
    in_range("age", age, p.eligibility.min_age_years, 110, "years")
    sex = (values.get("sex") or "").upper()
    if sex not in ("F", "M"):
        raise Refused("sex must be F or M", field="sex")
    weight = number("weight_kg", values.get("weight_kg"), required=True)
    in_range("weight_kg", weight, i.min_weight_kg, i.max_weight_kg, "kg")
    estimated = values.get("weight_estimated")
    if estimated not in (True, False):
        raise Refused("say whether the weight is estimated (true) or weighed (false)", field="weight_estimated")
    site = values.get("site_of_infection") or ""
    if site not in SITES_OF_INFECTION:
        raise Refused(f"site of infection must be one of {', '.join(SITES_OF_INFECTION)}", field="site_of_infection")
    comorb = values.get("comorbidities") or []
    if isinstance(comorb, str):
        comorb = [c for c in comorb.replace(",", ";").split(";") if c.strip()]
    comorb = [c.strip() for c in comorb]
    unknown = [c for c in comorb if c not in COMORBIDITIES]
    if unknown:
        raise Refused(f"unknown comorbidity {unknown[0]!r}; one of {', '.join(COMORBIDITIES)}", field="comorbidities")
    admitted = entered_time("icu_admitted_at", values.get("icu_admitted_at"))
    if admitted > randomised_at:
        raise Refused(f"ICU admission must be at or before randomisation ({local(randomised_at)}): "
                      "the patient is in the ICU when randomised", field="icu_admitted_at")
    if randomised_at - admitted > dt.timedelta(days=365):
        raise Refused("ICU admission must lie within a year before randomisation", field="icu_admitted_at")
    warnings += [soft_warning("age", age), soft_warning("weight_kg", weight)]
    if dosing_weight_kg and abs(weight - dosing_weight_kg) > 0.5:
        warnings.append(f"weight {weight:g} kg differs from the weight used for dosing at randomisation "
                        f"({dosing_weight_kg:g} kg)")
    if randomised_at - admitted > dt.timedelta(days=7):
        warnings.append("ICU admission more than 7 days before randomisation: check the date")
    out.update(age=age, sex=sex, weight_kg=weight, weight_estimated=estimated, site_of_infection=site,
               comorbidities=";".join(sorted(set(comorb))), icu_admitted_at=admitted)
    return out, warnings


def study_day(day) -> int:
    """The study day of a daily record (1 to the protocol's last day)."""
    last = protocol_mod.load().schedule.daily_record_last_day
    day = number("study_day", day, required=True, whole=True)
    if not 1 <= day <= last:
        raise Refused(f"study day must lie between 1 and {last}; got {day}", field="study_day")
    return day


def infusion_rate(rate, *, weight_kg: float | None) -> tuple[float, list[str]]:
    """An infusion rate, warned when it differs from the rate computed from the dosing weight."""
    rate = number("rate_ml_per_h", rate, required=True)
    in_range("rate_ml_per_h", rate, 0, MAX_RATE_ML_PER_H, "mL/h")
    warnings = []
    if weight_kg and rate > 0:
        c = dosing.check_rate(rate, weight_kg)
        if c.warn:
            warnings.append(f"rate {rate:g} mL/h differs from the computed {c.expected_ml_per_h:.2f} mL/h "
                            f"({c.relative_difference:+.0%}, tolerance {c.tolerance:.0%})")
    return rate, warnings


def sample_values(study_day, drawn_at, frozen_at, comments, *, randomised_at: dt.datetime,
                  died_at: dt.datetime | None) -> tuple[dict, list[str]]:
    """A biobank sample: drawn within its study day, frozen after drawing (late freezing warned)."""
    days = protocol_mod.load().schedule.biobank_days
    day = number("study_day", study_day, required=True, whole=True)
    if day not in days:
        raise Refused(f"blood samples are taken on study days {', '.join(map(str, days))}; got {day}",
                      field="study_day")
    drawn = from_randomisation(randomised_at, entered_time("drawn_at", drawn_at))
    start = schedule.day_start(randomised_at, day)
    if not start <= drawn < start + schedule.DAY:
        raise Refused(f"drawn at must lie within study day {day} ({local(start)} to "
                      f"{local(start + schedule.DAY)})", field="drawn_at")
    frozen = entered_time("frozen_at", frozen_at, required=False)
    warnings = []
    if frozen is not None:
        if frozen < drawn:
            raise Refused("frozen at must not be before drawn at", field="frozen_at")
        hours = (frozen - drawn).total_seconds() / 3600
        if hours > SAMPLE_FREEZE_WARN_HOURS:
            warnings.append(f"sample frozen {hours:.1f} h after drawing (more than "
                            f"{SAMPLE_FREEZE_WARN_HOURS:g} h): check the times")
    if died_at and drawn > died_at:
        raise Refused(f"drawn at is after the participant's death ({local(died_at)})", field="drawn_at",
                      status=409)
    return {"study_day": day, "drawn_at": drawn, "frozen_at": frozen,
            "comments": entered_text("comments", comments, limit=FREE_TEXT_LIMIT)}, warnings


def followup_values(visit_day, values: dict, *, randomised_at: dt.datetime,
                    died_at: dt.datetime | None) -> tuple[dict, str]:
    """A follow-up visit: in its window, vital status consistent with the death, EQ-5D-5L whole or empty.
    Returns the values and the consent kind they need (``data``, or ``vital_status`` for status alone)."""
    s = protocol_mod.load().schedule
    day = number("visit_day", visit_day, required=True, whole=True)
    if day not in s.followup_days:
        raise Refused(f"visit day must be one of {', '.join(map(str, s.followup_days))}", field="visit_day")
    lo, hi = s.followup_window_days[day]
    at = entered_time("assessed_at", values.get("assessed_at"))
    opens, closes = schedule.day_start(randomised_at, lo), randomised_at + hi * schedule.DAY
    if not opens <= at < closes:
        raise Refused(f"the day-{day} visit must take place in its window, study days {lo}–{hi} "
                      f"({local(opens)} to before {local(closes)})", field="assessed_at")
    status = values.get("vital_status") or ""
    if status not in VITAL_STATUSES:
        raise Refused(f"vital status must be {', '.join(VITAL_STATUSES[:-1])} or {VITAL_STATUSES[-1]}",
                      field="vital_status")
    if status == "dead" and (died_at is None or died_at > at):
        raise Refused("vital status dead needs the death recorded first (on or before the visit)",
                      field="vital_status", status=409)
    if status == "alive" and died_at is not None and died_at <= at:
        raise Refused(f"the participant died {local(died_at)}, before this visit", field="vital_status",
                      status=409)
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
        raise Refused("EQ-5D-5L is answered only by a participant known to be alive", field=answered[0])
    if answered and len(answered) < len(EQ5D) + 1:
        missing = [n for n in (*EQ5D, "eq5d_vas") if out[n] is None]
        raise Refused(f"EQ-5D-5L: answer all five dimensions and the VAS, or none ({missing[0]} is missing)",
                      field=missing[0])
    kind = "data" if answered or any(out[n] is not None for n in SUPPORT_DAYS) else "vital_status"
    return out, kind
