"""Study-drug infusion: rate from weight, planned volume, and the dose delivered according to the infusion log.

Rate (mL/h) = dose (ng/kg/min) × weight (kg) × 60 / concentration (ng/mL) (PROTOCOL.md, Intervention).
Defaults (dose, concentration, duration, weight limits, rate tolerance) come from
``shine.protocol.load().intervention``; a keyword left as None means "as the protocol says".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shine import protocol as _protocol
from shine.clinical.words import FieldError, field
from shine.i18n import _, decimal
from shine.protocol import Protocol


def _intervention(p: Protocol | None):
    return (p or _protocol.load()).intervention


def _positive(name: str, value: Any, segment: int | None = None) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not (x > 0 and math.isfinite(x)):
        words = {"name": field(name), "value": decimal(value, "r"), "segment": segment}
        if segment is None:
            raise FieldError(_("%(name)s must be a number above 0; got %(value)s") % words, name)
        raise ValueError(_("segment %(segment)s: %(name)s must be a number above 0; got %(value)s") % words)
    return x


def _weight(weight_kg: Any, p: Protocol | None) -> float:
    i = _intervention(p)
    try:
        w = float(weight_kg)
    except (TypeError, ValueError):
        w = math.nan
    if not i.min_weight_kg <= w <= i.max_weight_kg:
        raise FieldError(_("weight_kg must lie between %(low)s and %(high)s kg; got %(value)s") % {
            "low": decimal(i.min_weight_kg), "high": decimal(i.max_weight_kg), "value": decimal(weight_kg, "r")},
            "weight_kg")
    return w


def infusion_rate_ml_per_h(weight_kg, *, dose_ng_per_kg_min=None, concentration_ng_per_ml=None,
                           protocol: Protocol | None = None) -> float:
    """Pump rate in mL/h for this weight (70 kg at 1 ng/kg/min and 2000 ng/mL: 2.1 mL/h)."""
    i = _intervention(protocol)
    w = _weight(weight_kg, protocol)
    dose = _positive("dose_ng_per_kg_min", i.dose_ng_per_kg_min if dose_ng_per_kg_min is None
                     else dose_ng_per_kg_min)
    conc = _positive("concentration_ng_per_ml", i.concentration_ng_per_ml if concentration_ng_per_ml is None
                     else concentration_ng_per_ml)
    return dose * w * 60.0 / conc


def planned_dose_ng(weight_kg, *, hours=None, dose_ng_per_kg_min=None, protocol: Protocol | None = None) -> float:
    """Total drug (ng) planned over ``hours`` (default: the protocol's 72 h)."""
    i = _intervention(protocol)
    w = _weight(weight_kg, protocol)
    h = _positive("hours", i.duration_hours if hours is None else hours)
    dose = _positive("dose_ng_per_kg_min", i.dose_ng_per_kg_min if dose_ng_per_kg_min is None
                     else dose_ng_per_kg_min)
    return dose * w * 60.0 * h


def planned_volume_ml(weight_kg, *, hours=None, dose_ng_per_kg_min=None, concentration_ng_per_ml=None,
                      protocol: Protocol | None = None) -> float:
    """Volume (mL) to prepare for ``hours`` of infusion at the computed rate (default: 72 h)."""
    i = _intervention(protocol)
    h = _positive("hours", i.duration_hours if hours is None else hours)
    return h * infusion_rate_ml_per_h(weight_kg, dose_ng_per_kg_min=dose_ng_per_kg_min,
                                      concentration_ng_per_ml=concentration_ng_per_ml, protocol=protocol)


@dataclass(frozen=True)
class RateCheck:
    """A recorded pump rate compared with the computed one; ``warn`` when they differ by more than the
    protocol's ``rate_warning_tolerance`` (relative)."""

    expected_ml_per_h: float
    recorded_ml_per_h: float
    relative_difference: float
    tolerance: float
    warn: bool

    def summary(self) -> str:
        verdict = _("CHECK") if self.warn else _("ok")
        return _("recorded %(recorded)s mL/h vs computed %(expected)s mL/h (%(difference)s, tolerance "
                 "%(tolerance)s): %(verdict)s") % {
            "recorded": decimal(self.recorded_ml_per_h), "expected": decimal(self.expected_ml_per_h, ".2f"),
            "difference": decimal(self.relative_difference, "+.1%"), "tolerance": decimal(self.tolerance, ".0%"),
            "verdict": verdict}


def check_rate(recorded_ml_per_h, weight_kg, *, dose_ng_per_kg_min=None, concentration_ng_per_ml=None,
               protocol: Protocol | None = None) -> RateCheck:
    """Compare a recorded pump rate with the rate computed from weight, dose and concentration."""
    try:
        recorded = float(recorded_ml_per_h)
    except (TypeError, ValueError):
        recorded = math.nan
    if not (recorded >= 0 and math.isfinite(recorded)):
        raise FieldError(_("recorded_ml_per_h must be a number of 0 or more; got %(value)s") % {
            "value": decimal(recorded_ml_per_h, "r")}, "recorded_ml_per_h")
    expected = infusion_rate_ml_per_h(weight_kg, dose_ng_per_kg_min=dose_ng_per_kg_min,
                                      concentration_ng_per_ml=concentration_ng_per_ml, protocol=protocol)
    tol = _intervention(protocol).rate_warning_tolerance
    rel = (recorded - expected) / expected
    return RateCheck(expected, recorded, rel, tol, abs(rel) > tol)


@dataclass(frozen=True)
class Segment:
    """One period of continuous infusion at one rate (a row of infusion.csv).

    ``start``/``stop``: datetimes, or numbers of hours on any common clock.
    """

    start: Any
    stop: Any
    rate_ml_per_h: float
    concentration_ng_per_ml: float


@dataclass(frozen=True)
class DeliveredDose:
    """Drug delivered according to an infusion log.

    ``total_ng``: drug delivered over all segments. ``hours_infused``: time at a rate above 0.
    ``planned_ng``: the protocol dose for this weight over the planned duration. ``fraction_of_planned``:
    ``total_ng / planned_ng`` (not capped at 1). ``longest_interruption_hours``: the longest time without
    drug (gaps between segments, and segments at rate 0) between the first start and the last stop.
    ``segments``: number of segments.
    """

    total_ng: float
    hours_infused: float
    planned_ng: float
    fraction_of_planned: float
    longest_interruption_hours: float
    segments: int

    def summary(self) -> str:
        return _("%(total)s µg delivered over %(hours)s h = %(fraction)s of the planned %(planned)s µg; longest "
                 "interruption %(interruption)s h") % {
            "total": decimal(self.total_ng / 1000, ".1f"), "hours": decimal(self.hours_infused, ".1f"),
            "fraction": decimal(self.fraction_of_planned, ".0%"), "planned": decimal(self.planned_ng / 1000, ".1f"),
            "interruption": decimal(self.longest_interruption_hours, ".1f")}


_SEGMENT_KEYS = ("start", "stop", "rate_ml_per_h", "concentration_ng_per_ml")
_DATASET_KEYS = ("started_at", "stopped_at", "rate_ml_per_h", "concentration_ng_per_ml")


def _as_segment(item: Any, n: int) -> Segment:
    if isinstance(item, Segment):
        return item
    if isinstance(item, Mapping):
        for keys in (_SEGMENT_KEYS, _DATASET_KEYS):
            if all(k in item for k in keys):
                return Segment(*(item[k] for k in keys))
        raise ValueError(_("segment %(segment)s must have keys %(keys)s (or %(dataset_keys)s)") % {
            "segment": n, "keys": ", ".join(_SEGMENT_KEYS), "dataset_keys": ", ".join(_DATASET_KEYS)})
    try:
        start, stop, rate, conc = item
    except (TypeError, ValueError):
        raise ValueError(_("segment %(segment)s must be (start, stop, rate_ml_per_h, concentration_ng_per_ml)")
                         % {"segment": n}) from None
    return Segment(start, stop, rate, conc)


def _hours(t: Any, origin: Any, n: int) -> float:
    if isinstance(t, datetime) != isinstance(origin, datetime):
        raise ValueError(_("segment %(segment)s: start and stop must all be datetimes or all be numbers of hours")
                         % {"segment": n})
    if isinstance(t, datetime):
        try:
            return (t - origin) / timedelta(hours=1)
        except TypeError:
            raise ValueError(_("segment %(segment)s: cannot mix timezone-aware and naive datetimes")
                             % {"segment": n}) from None
    try:
        return float(t) - float(origin)
    except (TypeError, ValueError):
        raise ValueError(_("segment %(segment)s: start and stop must be datetimes or numbers of hours; got "
                           "%(value)s") % {"segment": n, "value": decimal(t, "r")}) from None


def delivered_dose(segments: Iterable[Any], weight_kg, *, hours=None, dose_ng_per_kg_min=None,
                   protocol: Protocol | None = None) -> DeliveredDose:
    """Dose delivered according to an infusion log.

    ``segments``: :class:`Segment` objects, tuples ``(start, stop, rate_ml_per_h, concentration_ng_per_ml)``
    or mappings with those keys (or infusion.csv's ``started_at``/``stopped_at``), in any order. A segment
    with stop ≤ start, a negative rate, a non-positive concentration, or two overlapping segments raise
    ``ValueError``. ``hours`` and ``dose_ng_per_kg_min`` define the plan (default: the protocol's).
    """
    segs = [_as_segment(s, n) for n, s in enumerate(segments, start=1)]
    planned = planned_dose_ng(weight_kg, hours=hours, dose_ng_per_kg_min=dose_ng_per_kg_min, protocol=protocol)
    if not segs:
        return DeliveredDose(0.0, 0.0, planned, 0.0, 0.0, 0)
    origin = segs[0].start
    spans = []
    for n, s in enumerate(segs, start=1):
        start, stop = _hours(s.start, origin, n), _hours(s.stop, origin, n)
        if not (math.isfinite(start) and math.isfinite(stop)):
            raise ValueError(_("segment %(segment)s: start and stop must be given") % {"segment": n})
        if stop <= start:
            raise ValueError(_("segment %(segment)s: stop must be after start (got %(start)s to %(stop)s)") % {
                "segment": n, "start": decimal(s.start, "r"), "stop": decimal(s.stop, "r")})
        try:
            rate = float(s.rate_ml_per_h)
        except (TypeError, ValueError):
            rate = math.nan
        if not (rate >= 0 and math.isfinite(rate)):
            raise ValueError(_("segment %(segment)s: rate_ml_per_h must be 0 or more; got %(value)s") % {
                "segment": n, "value": decimal(s.rate_ml_per_h, "r")})
        conc = _positive("concentration_ng_per_ml", s.concentration_ng_per_ml, segment=n)
        spans.append((start, stop, rate, conc, n))
    spans.sort()
    for (_start_a, stop_a, *_rest_a, a), (start_b, *_rest_b, b) in zip(spans, spans[1:]):
        if start_b < stop_a:
            raise ValueError(_("segments %(first)s and %(second)s overlap: an infusion log has one rate at a time")
                             % {"first": a, "second": b})

    total = sum((stop - start) * rate * conc for start, stop, rate, conc, _n in spans)
    infused = sum(stop - start for start, stop, rate, _conc, _n in spans if rate > 0)
    longest, gap_start = 0.0, None
    cursor = spans[0][0]
    for start, stop, rate, _conc, _n in spans:
        if start > cursor and gap_start is None:  # a gap between segments starts at the previous stop
            gap_start = cursor
        if rate > 0:
            if gap_start is not None:
                longest = max(longest, start - gap_start)
                gap_start = None
        elif gap_start is None:
            gap_start = start
        cursor = stop
    if gap_start is not None:  # the log ends at rate 0
        longest = max(longest, cursor - gap_start)
    return DeliveredDose(total, infused, planned, total / planned, longest, len(spans))
