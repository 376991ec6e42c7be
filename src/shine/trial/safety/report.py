"""The annual safety report for a period: a line listing of the serious adverse reactions and a cumulative
tabulation of the serious adverse events, with no direct identifiers (coded subject only) and no arm.

Each case is counted as it was known at the period's end: its latest version entered by then and the
sponsor's latest assessment made by then. A case belongs to the period when its initial report was received
in it; the cumulative columns count every case received up to the period's end.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from .models import CRITERIA, Assessment, Case, CaseVersion


@dataclass(frozen=True)
class SarLine:
    case_id: str
    coded_subject: str
    site: str
    term: str
    onset_at: dt.datetime
    criteria: tuple[str, ...]
    outcome: str
    investigator_causality: str
    sponsor_causality: str
    expectedness: str           # expected, unexpected, or not assessed


@dataclass(frozen=True)
class AnnualReport:
    period_start: dt.datetime
    period_end: dt.datetime
    sars: list[SarLine]
    # (category, in the period, cumulative): by prespecified event, by criterion, totals
    tabulation: list[tuple[str, int, int]] = field(default_factory=list)

    def count(self, label: str) -> tuple[int, int]:
        for name, period, cumulative in self.tabulation:
            if name == label:
                return period, cumulative
        raise KeyError(label)


def _as_known(cases: list[Case], end: dt.datetime) -> dict[int, tuple[CaseVersion, Assessment | None]]:
    latest: dict[int, CaseVersion] = {}
    for v in CaseVersion.objects.filter(case__in=cases, entered_at__lte=end).order_by("case_id", "version"):
        latest[v.case_id] = v
    assessed: dict[int, Assessment] = {}
    for a in Assessment.objects.filter(case__in=cases, assessed_at__lte=end).order_by("case_id", "number"):
        assessed[a.case_id] = a
    return {cid: (v, assessed.get(cid)) for cid, v in latest.items()}


def annual_report(cases_qs, *, period_start: dt.datetime, period_end: dt.datetime) -> AnnualReport:
    """``cases_qs``: the cases the reader may see (``selectors.cases_for(user)``)."""
    if period_end <= period_start:
        from shine.trial.errors import Refused

        raise Refused("the period must end after it starts", field="period_end")
    cases = list(cases_qs.filter(created_at__lte=period_end).select_related("participant", "site"))
    known = _as_known(cases, period_end)
    in_period = {c.pk for c in cases if c.created_at >= period_start}
    serious = {c.pk: c for c in cases if c.pk in known and known[c.pk][0].serious}
    sars = []
    counts_period: Counter = Counter()
    counts_all: Counter = Counter()
    for pk, c in serious.items():
        v, a = known[pk]
        related = v.related or bool(a and a.sponsor_related)
        labels = ["serious adverse events", *(f"criterion: {label}" for code, label in CRITERIA if getattr(v, code)),
                  f"prespecified: {v.prespecified.replace('_', ' ')}" if v.prespecified else "prespecified: none",
                  *(["exempt from expedited reporting"] if v.exempt else []),
                  *(["serious adverse reactions"] if related else []),
                  *(["fatal"] if v.outcome == "fatal" else [])]
        for label in labels:
            counts_all[label] += 1
            if pk in in_period:
                counts_period[label] += 1
        if related and pk in in_period:
            sars.append(SarLine(
                c.number, c.participant.number, c.site.code, v.term, v.onset_at, tuple(v.criteria), v.outcome,
                "related" if v.related else "not related",
                "no opinion" if a is None or a.sponsor_related is None else
                ("related" if a.sponsor_related else "not related"),
                "not assessed" if a is None else ("expected" if a.expected else "unexpected")))
    order = ["serious adverse events", "serious adverse reactions", "fatal",
             *(f"criterion: {label}" for _, label in CRITERIA), "exempt from expedited reporting"]
    rest = sorted(k for k in counts_all if k not in order)
    tabulation = [(k, counts_period[k], counts_all[k]) for k in (*order, *rest)]
    return AnnualReport(period_start, period_end, sorted(sars, key=lambda s: (s.onset_at, s.case_id)), tabulation)
