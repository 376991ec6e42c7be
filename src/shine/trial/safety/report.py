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

from django.utils.translation import gettext as _

from .models import CRITERIA, OUTCOMES, Assessment, Case, CaseVersion, criteria_words, event_words


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

    @property
    def criteria_words(self) -> str:
        return criteria_words(self.criteria)

    @property
    def outcome_words(self) -> str:
        return str(dict(OUTCOMES).get(self.outcome, self.outcome))


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

        raise Refused(_("the period must end after it starts"), field="period_end")
    cases = list(cases_qs.filter(created_at__lte=period_end).select_related("participant", "site"))
    known = _as_known(cases, period_end)
    in_period = {c.pk for c in cases if c.created_at >= period_start}
    serious = {c.pk: c for c in cases if c.pk in known and known[c.pk][0].serious}
    # the categories and words in the reader's language (the API reads them in English)
    w = {"sae": _("serious adverse events"), "sar": _("serious adverse reactions"), "fatal": _("fatal"),
         "exempt": _("exempt from expedited reporting"), "related": _("related"), "not related": _("not related"),
         "no opinion": _("no opinion"), "not assessed": _("not assessed"), "expected": _("expected"),
         "unexpected": _("unexpected")}

    def criterion(label) -> str:
        return _("criterion: %(criterion)s") % {"criterion": label}

    sars = []
    counts_period: Counter = Counter()
    counts_all: Counter = Counter()
    for pk, c in serious.items():
        v, a = known[pk]
        related = v.related or bool(a and a.sponsor_related)
        labels = [w["sae"], *(criterion(label) for code, label in CRITERIA if getattr(v, code)),
                  _("prespecified: %(event)s") % {"event": event_words(v.prespecified)} if v.prespecified
                  else _("prespecified: none"),
                  *([w["exempt"]] if v.exempt else []),
                  *([w["sar"]] if related else []),
                  *([w["fatal"]] if v.outcome == "fatal" else [])]
        for label in labels:
            counts_all[label] += 1
            if pk in in_period:
                counts_period[label] += 1
        if related and pk in in_period:
            sars.append(SarLine(
                c.number, c.participant.number, c.site.code, v.term, v.onset_at, tuple(v.criteria), v.outcome,
                w["related"] if v.related else w["not related"],
                w["no opinion"] if a is None or a.sponsor_related is None else
                (w["related"] if a.sponsor_related else w["not related"]),
                w["not assessed"] if a is None else (w["expected"] if a.expected else w["unexpected"])))
    order = [w["sae"], w["sar"], w["fatal"], *(criterion(label) for _code, label in CRITERIA), w["exempt"]]
    rest = sorted(k for k in counts_all if k not in order)
    tabulation = [(k, counts_period[k], counts_all[k]) for k in (*order, *rest)]
    return AnnualReport(period_start, period_end, sorted(sars, key=lambda s: (s.onset_at, s.case_id)), tabulation)
