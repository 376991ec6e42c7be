"""Edit checks of the case report forms, as plain functions (no database).

* **Hard limits** refuse impossible values: the clinical core's limits (:data:`shine.clinical.sofa.LIMITS`,
  :func:`shine.clinical.units.fio2_fraction`, the protocol's weight limits) and the data set's ranges. The
  refusal names the field and the limit.
* **Soft limits** (:data:`SOFT_LIMITS`) accept unusual but possible values with a warning; the record is
  flagged for review (``needs_review``) until a data manager or monitor has looked at it.

:func:`sofa_inputs` turns the values of a form (with their units) into the platform's units, checks them,
and computes the SOFA with :func:`shine.clinical.sofa.sofa` — the same function for the preview and the save.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import importlib

from shine.clinical import units
from shine.trial.errors import Refused

sofa_mod = importlib.import_module("shine.clinical.sofa")  # the package re-exports sofa() under the same name

# field -> (low, high, unit): outside [low, high] the value is accepted with a warning and flagged
SOFT_LIMITS: dict[str, tuple[float | None, float | None, str]] = {
    "pao2_fio2": (50, 600, "mmHg"),
    "platelets": (5, 1000, "10⁹/L"),
    "bilirubin": (None, 600, "µmol/L"),
    "map_mmhg": (40, 150, "mmHg"),
    "dopamine": (None, 20, "µg/kg/min"),
    "dobutamine": (None, 20, "µg/kg/min"),
    "epinephrine": (None, 1.0, "µg/kg/min"),
    "norepinephrine": (None, 1.5, "µg/kg/min"),
    "creatinine": (20, 1500, "µmol/L"),
    "urine_output": (None, 10000, "mL/24 h"),
    "weight_kg": (40, 200, "kg"),
    "age": (None, 100, "years"),
}
PAO2_MAX_MMHG = 800.0  # no PaO2 above this without a hyperbaric chamber
SAMPLE_FREEZE_WARN_HOURS = 2.0  # a sample frozen later than this after drawing is flagged
LABELS = {"pao2": "PaO2", "fio2": "FiO2", "pao2_fio2": "PaO2/FiO2", "platelets": "platelets",
          "bilirubin": "bilirubin", "map_mmhg": "MAP", "dopamine": "dopamine", "dobutamine": "dobutamine",
          "epinephrine": "adrenaline", "norepinephrine": "noradrenaline", "gcs": "GCS", "creatinine": "creatinine",
          "urine_output": "urine output", "weight_kg": "weight", "age": "age"}
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


def number(name: str, value, *, required: bool = False, whole: bool = False) -> float | int | None:
    """A finite number (or None), refused with the field named when it is not one."""
    if value is None or value == "":
        if required:
            raise Refused(f"{LABELS.get(name, name)} is required", field=name)
        return None
    if isinstance(value, bool):
        raise Refused(f"{LABELS.get(name, name)} must be a number", field=name)
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
    """Converted values (model field names), the SOFA score and the soft-limit warnings."""

    values: dict
    score: sofa_mod.SofaScore
    warnings: tuple[str, ...] = field(default=())

    def model_values(self) -> dict:
        s = self.score
        return {**self.values, **{f"sofa_{c}": getattr(s, c) for c in sofa_mod.COMPONENTS},
                "sofa_total": s.total, "sofa_modified": s.modified}

    def as_json(self) -> dict:
        s = self.score
        return {"components": s.components(), "total": s.total, "modified": s.modified, "missing": list(s.missing),
                "summary": s.summary(), "converted": {k: self.values[k] for k in
                                                      ("pao2_fio2", "bilirubin", "creatinine")},
                "warnings": list(self.warnings)}


def _unit(name: str, value: str, allowed: tuple[str, ...], default: str) -> str:
    value = (value or "").strip() or default
    aliases = {"µmol/l": "umol/L", "umol/l": "umol/L", "mg/dl": "mg/dL", "mmhg": "mmHg", "kpa": "kPa",
               "%": "percent", "percent": "percent", "fraction": "fraction"}
    value = aliases.get(value.lower(), value)
    if value not in allowed:
        raise Refused(f"{name.replace('_', ' ')} must be one of {', '.join(allowed)}; got {value!r}", field=name)
    return value


def _bool(name: str, value, default: bool | None = False) -> bool | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "on", "1", "yes"):
        return True
    if str(value).lower() in ("false", "off", "0", "no"):
        return False
    raise Refused(f"{name.replace('_', ' ')} must be true or false", field=name)


def _in_platform_unit(quantity: str, value: float, unit: str, name: str) -> float:
    """``value`` (finite, ≥ 0: checked before) in the platform unit; one too large to convert becomes inf,
    which the range checks then refuse naming the field and its limits."""
    try:
        return float(units.to_platform_unit(quantity, value, unit, name=name))
    except ValueError:
        return math.inf


def sofa_inputs(raw: dict, *, daily: bool) -> SofaResult:
    """Check and convert the SOFA inputs of a baseline or daily form and compute the SOFA.

    ``raw`` holds the form's fields: ``pao2`` + ``pao2_unit`` (mmHg/kPa), ``fio2`` + ``fio2_unit``
    (fraction/percent, or empty to infer), ``respiratory_support``, ``platelets``, ``bilirubin`` +
    ``bilirubin_unit`` (umol/L, mg/dL), ``map_mmhg``, the four drug doses, ``gcs``, ``creatinine`` +
    ``creatinine_unit``, ``urine_output``; with ``daily`` also ``vasopressor``, ``mechanical_ventilation``,
    ``rrt``. Raises :class:`Refused` naming the field and the limit.
    """
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
        mmhg = _in_platform_unit("pressure", max(pao2, 0.0), pao2_unit, "pao2")
        if not 0 < pao2 or mmhg > PAO2_MAX_MMHG:
            kpa = units.mmhg_to_kpa(PAO2_MAX_MMHG)
            raise Refused(f"PaO2 must lie above 0 and at most {PAO2_MAX_MMHG:g} mmHg ({kpa:.1f} kPa); got "
                          f"{pao2:g} {pao2_unit}", field="pao2")
        try:
            fraction = float(units.fio2_fraction(fio2, fio2_unit or None))
        except ValueError as exc:
            raise Refused(str(exc).replace("fio2", "FiO2"), field="fio2") from None
        pf = round(mmhg / fraction, 6)
        fio2_unit = fio2_unit or ("percent" if fio2 > 1 else "fraction")
    v.update(pao2_entered=pao2, pao2_unit=pao2_unit if pao2 is not None else "", fio2_entered=fio2,
             fio2_unit=fio2_unit if fio2 is not None else "", pao2_fio2=pf)
    v["respiratory_support"] = bool(_bool("respiratory_support", raw.get("respiratory_support")))
    v["platelets"] = number("platelets", raw.get("platelets"))
    for name in ("bilirubin", "creatinine"):
        entered = number(name, raw.get(name))
        unit = _unit(f"{name}_unit", raw.get(f"{name}_unit"), ("umol/L", "mg/dL"), "umol/L")
        if entered is not None and entered < 0:
            raise Refused(f"{name} must be 0 or more; got {entered:g}", field=name)
        converted = None if entered is None else round(_in_platform_unit(name, entered, unit, name), 6)
        v.update({f"{name}_entered": entered, f"{name}_unit": unit if entered is not None else "", name: converted})
    v["map_mmhg"] = number("map_mmhg", raw.get("map_mmhg"))
    for drug in sofa_mod.DRUGS:
        v[drug] = number(drug, raw.get(drug)) or 0.0
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
    if daily:
        v["mechanical_ventilation"] = bool(_bool("mechanical_ventilation", raw.get("mechanical_ventilation")))
        v["rrt"] = bool(_bool("rrt", raw.get("rrt")))
        on_drug = any(v[d] > 0 for d in sofa_mod.DRUGS)
        vaso = _bool("vasopressor", raw.get("vasopressor"), default=None)
        if vaso is False and on_drug:
            raise Refused("vasopressor must be ticked when a vasopressor or inotrope dose is given",
                          field="vasopressor")
        v["vasopressor"] = bool(vaso) or on_drug
        if v["mechanical_ventilation"] and not v["respiratory_support"]:
            raise Refused("respiratory support must be ticked when the patient is mechanically ventilated",
                          field="respiratory_support")
    score = sofa_mod.sofa(**{k: v[k] for k in sofa_mod.INPUTS})
    return SofaResult(values=v, score=score, warnings=tuple(warnings))
