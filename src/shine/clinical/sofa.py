"""SOFA (Vincent 1996) and the trial's modified SOFA (without the CNS component) from raw values.

One threshold table (:data:`COMPONENT_RULES`) drives both :func:`sofa` (one patient-day, plain Python)
and :func:`sofa_arrays` (many patient-days, numpy), so the two cannot drift apart. Input units are the
platform's (see :data:`LIMITS`); convert with :mod:`shine.clinical.units` first.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from shine.clinical.words import FieldError, field, unit
from shine.i18n import _, decimal

COMPONENTS = ("respiration", "coagulation", "liver", "cardiovascular", "cns", "renal")
MODIFIED_COMPONENTS = tuple(c for c in COMPONENTS if c != "cns")

# Allowed range (inclusive) and unit of every numeric input; outside it the value is impossible.
LIMITS: dict[str, tuple[float, float, str]] = {
    "pao2_fio2": (0.0, 800.0, "mmHg"),
    "platelets": (0.0, 2000.0, "10⁹/L"),
    "bilirubin": (0.0, 1000.0, "µmol/L"),
    "map_mmhg": (0.0, 300.0, "mmHg"),
    "dopamine": (0.0, 50.0, "µg/kg/min"),
    "dobutamine": (0.0, 50.0, "µg/kg/min"),
    "epinephrine": (0.0, 5.0, "µg/kg/min"),
    "norepinephrine": (0.0, 5.0, "µg/kg/min"),
    "gcs": (3.0, 15.0, "points"),
    "creatinine": (0.0, 3000.0, "µmol/L"),
    "urine_output": (0.0, 20000.0, "mL/24 h"),
}
NUMERIC_INPUTS = tuple(LIMITS)
# Drugs: a dose of 0 means not given and carries no information about the organ; an explicitly missing dose
# (None/NaN) is unknown, never 0 (a keyword left out of sofa() is 0: not given).
DRUGS = ("dopamine", "dobutamine", "epinephrine", "norepinephrine")
INPUTS = ("pao2_fio2", "respiratory_support", "platelets", "bilirubin", "map_mmhg", *DRUGS, "gcs",
          "creatinine", "urine_output")

# Component -> ((input, ((comparison, threshold, score), ...)), ...). A component scores the highest
# score whose comparison holds for any of its inputs, 0 when none holds. Table ranges with integer ends
# ("20–32") are read with the upper end inclusive, so 32 scores 1 and 32.5 scores 2; "< x" means x itself
# scores lower. Source: PROTOCOL.md's SOFA table.
COMPONENT_RULES: dict[str, tuple[tuple[str, tuple[tuple[str, float, int], ...]], ...]] = {
    "respiration": (("pao2_fio2", (("<", 400, 1), ("<", 300, 2), ("<", 200, 3), ("<", 100, 4))),),
    "coagulation": (("platelets", (("<", 150, 1), ("<", 100, 2), ("<", 50, 3), ("<", 20, 4))),),
    "liver": (("bilirubin", ((">=", 20, 1), (">", 32, 2), (">", 101, 3), (">", 204, 4))),),
    "cardiovascular": (
        ("map_mmhg", (("<", 70, 1),)),
        ("dopamine", ((">", 0, 2), (">", 5, 3), (">", 15, 4))),
        ("dobutamine", ((">", 0, 2),)),
        ("epinephrine", ((">", 0, 3), (">", 0.1, 4))),
        ("norepinephrine", ((">", 0, 3), (">", 0.1, 4))),
    ),
    "cns": (("gcs", (("<", 15, 1), ("<", 13, 2), ("<", 10, 3), ("<", 6, 4))),),
    "renal": (
        ("creatinine", ((">=", 110, 1), (">", 170, 2), (">", 299, 3), (">", 440, 4))),
        ("urine_output", (("<", 500, 3), ("<", 200, 4))),
    ),
}
# Scores 3 and 4 need respiratory support (mechanical ventilation or non-invasive support).
RESPIRATION_MAX_WITHOUT_SUPPORT = 2

_PY_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_NP_OPS = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


@dataclass(frozen=True)
class SofaScore:
    """One patient-day's SOFA.

    ``respiration`` … ``renal``: 0–4, or None when the known inputs do not determine it (see :func:`sofa`).
    ``total``: 0–24, None when any component is missing. ``modified``: 0–20, the five components without
    ``cns`` (the trial's primary outcome scale), None when any of them is missing: a missing component is
    never counted 0. ``missing``: names of the components that are None, in table order.
    """

    respiration: int | None
    coagulation: int | None
    liver: int | None
    cardiovascular: int | None
    cns: int | None
    renal: int | None
    total: int | None
    modified: int | None
    missing: tuple[str, ...]

    def components(self) -> dict[str, int | None]:
        return {c: getattr(self, c) for c in COMPONENTS}

    def summary(self) -> str:
        parts = [f"{c} {'–' if v is None else v}" for c, v in self.components().items()]
        shown = lambda v: "–" if v is None else v  # noqa: E731
        text = f"SOFA {shown(self.total)}/24, modified {shown(self.modified)}/20 ({', '.join(parts)})"
        return text + (f"; missing: {', '.join(self.missing)}" if self.missing else "")


@dataclass(frozen=True, eq=False)
class SofaArrays:
    """SOFA for many patient-days; every array has the broadcast shape of the inputs and is read-only.

    ``respiration`` … ``renal``: float64, 0–4, NaN where the known inputs do not determine the component.
    ``total`` (0–24) and ``modified`` (0–20): float64, NaN where a component they sum is missing.
    """

    respiration: np.ndarray
    coagulation: np.ndarray
    liver: np.ndarray
    cardiovascular: np.ndarray
    cns: np.ndarray
    renal: np.ndarray
    total: np.ndarray
    modified: np.ndarray

    def __len__(self) -> int:
        return len(self.total)

    def to_frame(self, index: Any = None):
        """The arrays as a pandas DataFrame (components as nullable Int64), e.g. to join onto the input."""
        import pandas as pd

        data = {c: pd.array(getattr(self, c), dtype="Int64") for c in COMPONENTS}
        data["total"] = pd.array(self.total, dtype="Int64")
        data["modified"] = pd.array(self.modified, dtype="Int64")
        return pd.DataFrame(data, index=index)

    def row(self, i: int) -> SofaScore:
        """Element ``i`` as a :class:`SofaScore`."""
        def whole(x):
            return None if math.isnan(v := float(x)) else int(v)

        comps = {c: whole(getattr(self, c)[i]) for c in COMPONENTS}
        return SofaScore(**comps, total=whole(self.total[i]), modified=whole(self.modified[i]),
                         missing=tuple(c for c in COMPONENTS if comps[c] is None))


def _range_error(name: str, value: Any) -> ValueError:
    lo, hi, in_unit = LIMITS[name]
    return FieldError(_("%(name)s must lie between %(low)s and %(high)s %(unit)s; got %(value)s") % {
        "name": field(name), "low": decimal(lo), "high": decimal(hi), "unit": unit(in_unit),
        "value": decimal(value, "r")}, name)


def _is_missing(value: Any) -> bool:
    return (value is None or type(value).__name__ == "NAType"
            or (isinstance(value, float) and math.isnan(value)))


def _scalar(name: str, value: Any) -> float:
    """A numeric input as float; NaN for missing (unknown, for a drug dose too)."""
    if _is_missing(value):
        return math.nan
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise FieldError(_("%(name)s must be a number in %(unit)s or None; got %(value)s") % {
            "name": field(name), "unit": unit(LIMITS[name][2]), "value": decimal(value, "r")}, name) from None
    lo, hi, _unit = LIMITS[name]
    if not lo <= x <= hi:
        raise _range_error(name, value)
    if name == "gcs" and x != int(x):
        raise FieldError(_("gcs must be a whole number between 3 and 15; got %(value)s") % {
            "value": decimal(value, "r")}, "gcs")
    return x


def _support_scalar(value: Any) -> float:
    """1.0 / 0.0, or NaN when unknown."""
    if _is_missing(value):
        return math.nan
    # bools, 0/1 and numpy booleans
    if isinstance(value, (bool, int, float, np.bool_, np.number)) and value in (True, False):
        return float(bool(value))
    raise FieldError(_("respiratory_support must be true, false or missing; got %(value)s") % {
        "value": decimal(value, "r")}, "respiratory_support")


def _rule_score_py(x: float, rules) -> int:
    return max((score for op, threshold, score in rules if _PY_OPS[op](x, threshold)), default=0)


def _present_py(name: str, x: float) -> bool:
    return x > 0 if name in DRUGS else not math.isnan(x)


def _ceiling(rules) -> int:
    return max(score for _, _, score in rules)


def sofa(*, pao2_fio2=None, respiratory_support=False, platelets=None, bilirubin=None, map_mmhg=None,
         dopamine=0.0, dobutamine=0.0, epinephrine=0.0, norepinephrine=0.0, gcs=None, creatinine=None,
         urine_output=None) -> SofaScore:
    """SOFA for one patient-day from the day's worst values, in the units of :data:`LIMITS`.

    Missing values are None (or NaN), and missing means unknown: a drug dose left out of the call is 0 (not
    given), one passed as None is unknown, and so is ``respiratory_support=None``. A component is scored from
    its known inputs; it is None when none of its inputs is present, when a drug dose is unknown and the
    known inputs score the cardiovascular component below 4, or when respiratory support is unknown and the
    P/F ratio alone would score 3 or 4 (which needs support). Raises ``ValueError`` naming the field and its
    allowed range for an impossible value.
    """
    given = dict(pao2_fio2=pao2_fio2, platelets=platelets, bilirubin=bilirubin, map_mmhg=map_mmhg,
                 dopamine=dopamine, dobutamine=dobutamine, epinephrine=epinephrine,
                 norepinephrine=norepinephrine, gcs=gcs, creatinine=creatinine, urine_output=urine_output)
    values = {name: _scalar(name, v) for name, v in given.items()}
    support = _support_scalar(respiratory_support)

    scores: dict[str, int | None] = {}
    for component, inputs in COMPONENT_RULES.items():
        if not any(_present_py(name, values[name]) for name, _ in inputs):
            scores[component] = None
            continue
        score = max(_rule_score_py(values[name], rules) for name, rules in inputs if not math.isnan(values[name]))
        if component == "respiration" and support != 1.0:
            if math.isnan(support) and score > RESPIRATION_MAX_WITHOUT_SUPPORT:
                scores[component] = None
                continue
            score = min(score, RESPIRATION_MAX_WITHOUT_SUPPORT)
        unknown_drug = max((_ceiling(rules) for name, rules in inputs if name in DRUGS and math.isnan(values[name])),
                           default=0)
        scores[component] = None if unknown_drug > score else score
    missing = tuple(c for c in COMPONENTS if scores[c] is None)
    parts = [s for c in MODIFIED_COMPONENTS if (s := scores[c]) is not None]
    modified = sum(parts) if len(parts) == len(MODIFIED_COMPONENTS) else None
    cns = scores["cns"]
    total = None if missing or modified is None or cns is None else modified + cns
    return SofaScore(**scores, total=total, modified=modified, missing=missing)


def _as_float_array(name: str, value: Any) -> np.ndarray:
    if value is None:
        return np.asarray(0.0 if name in DRUGS or name == "respiratory_support" else np.nan)
    if hasattr(value, "to_numpy"):  # pandas Series / nullable arrays: pd.NA becomes NaN
        try:
            return value.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            raise ValueError(_("%(name)s must hold numbers or missing values") % {"name": field(name)}) from None
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(_("%(name)s must hold numbers or missing values") % {"name": field(name)}) from None


def _check_array(name: str, x: np.ndarray) -> None:
    lo, hi, in_unit = LIMITS[name]
    bad = (x < lo) | (x > hi)  # NaN compares False: missing passes, ±inf fails
    if name == "gcs":
        bad |= np.isfinite(x) & (x != np.round(x))
    if bad.any():
        where = np.flatnonzero(bad)
        first = x.reshape(-1)[where[0]]
        words = {"name": field(name), "low": decimal(lo), "high": decimal(hi), "unit": unit(in_unit),
                 "value": decimal(first), "position": int(where[0]), "count": where.size}
        if name == "gcs":
            message = (_("%(name)s must be a whole number value between %(low)s and %(high)s %(unit)s; got "
                         "%(value)s at position %(position)s (%(count)s value out of range)") if where.size == 1
                       else _("%(name)s must be a whole number value between %(low)s and %(high)s %(unit)s; got "
                              "%(value)s at position %(position)s (%(count)s values out of range)"))
        else:
            message = (_("%(name)s must be a value between %(low)s and %(high)s %(unit)s; got %(value)s at "
                         "position %(position)s (%(count)s value out of range)") if where.size == 1
                       else _("%(name)s must be a value between %(low)s and %(high)s %(unit)s; got %(value)s at "
                              "position %(position)s (%(count)s values out of range)"))
        raise ValueError(message % words)


def sofa_arrays(*, pao2_fio2=None, respiratory_support=None, platelets=None, bilirubin=None, map_mmhg=None,
                dopamine=None, dobutamine=None, epinephrine=None, norepinephrine=None, gcs=None,
                creatinine=None, urine_output=None) -> SofaArrays:
    """SOFA over many patient-days: the same rules as :func:`sofa`, element by element.

    Each input is an array-like (numpy array, pandas Series, list) or a scalar, broadcast together; NaN
    (or None / pd.NA) means missing, that is unknown, as in :func:`sofa`. ``respiratory_support`` may be
    boolean or 0/1 floats; a keyword left out (None) means no support for ``respiratory_support`` and not
    given for a drug. Raises ``ValueError`` naming the field, its allowed range and the
    first offending position for impossible values.
    """
    given = dict(pao2_fio2=pao2_fio2, respiratory_support=respiratory_support, platelets=platelets,
                 bilirubin=bilirubin, map_mmhg=map_mmhg, dopamine=dopamine, dobutamine=dobutamine,
                 epinephrine=epinephrine, norepinephrine=norepinephrine, gcs=gcs, creatinine=creatinine,
                 urine_output=urine_output)
    raw = {name: _as_float_array(name, v) for name, v in given.items()}
    try:
        shape = np.broadcast_shapes(*(a.shape for a in raw.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {a.shape}" for k, a in raw.items() if a.ndim)
        raise ValueError(_("SOFA inputs must have the same length; got %(shapes)s") % {"shapes": shapes}) from None
    for name in NUMERIC_INPUTS:
        _check_array(name, raw[name])
    support = raw["respiratory_support"]
    bad_support = ~np.isnan(support) & (support != 0) & (support != 1)
    if bad_support.any():
        i = int(np.flatnonzero(bad_support)[0])
        raise ValueError(_("respiratory_support must be true, false (1/0) or missing; got %(value)s at "
                           "position %(position)s") % {"value": decimal(support.reshape(-1)[i]), "position": i})

    out: dict[str, np.ndarray] = {}
    for component, inputs in COMPONENT_RULES.items():
        score = np.zeros(shape, dtype=np.int8)
        present = np.zeros(shape, dtype=bool)
        unknown_drug = np.zeros(shape, dtype=np.int8)
        for name, rules in inputs:
            x = raw[name]
            present |= (x > 0) if name in DRUGS else ~np.isnan(x)
            if name in DRUGS:
                unknown_drug = np.maximum(unknown_drug, np.where(np.isnan(x), np.int8(_ceiling(rules)), np.int8(0)))
            for op, threshold, value in rules:
                score = np.maximum(score, np.where(_NP_OPS[op](x, threshold), np.int8(value), np.int8(0)))
        determined = present & (unknown_drug <= score)
        if component == "respiration":
            capped = np.minimum(score, np.int8(RESPIRATION_MAX_WITHOUT_SUPPORT))
            determined &= ~(np.isnan(support) & (score > RESPIRATION_MAX_WITHOUT_SUPPORT))
            score = np.where(support == 1, score, capped)
        out[component] = np.where(determined, score, np.nan)
    out["modified"] = np.sum([out[c] for c in MODIFIED_COMPONENTS], axis=0).reshape(shape)
    out["total"] = out["modified"] + out["cns"]
    for a in out.values():
        a.setflags(write=False)
    return SofaArrays(**out)


def sofa_frame(frame) -> SofaArrays:
    """:func:`sofa_arrays` on the columns of a DataFrame (or mapping) named like :func:`sofa`'s keywords;
    absent columns count as missing."""
    return sofa_arrays(**{name: frame[name] for name in INPUTS if name in frame})


__all__ = ["COMPONENTS", "MODIFIED_COMPONENTS", "COMPONENT_RULES", "LIMITS", "INPUTS", "SofaScore",
           "SofaArrays", "sofa", "sofa_arrays", "sofa_frame"]
