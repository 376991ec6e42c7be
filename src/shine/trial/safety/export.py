"""The analysis data set's ``adverse_events`` table from the safety cases (docs/data-model.md).

Each case gives one row with what was known at the cut-off: its latest version entered by then and the
sponsor's latest assessment made by then. ``related`` is the investigator's or the sponsor's "related";
``expected`` is the sponsor's expectedness, and empty for an event the sponsor has not assessed: unknown, so
the analysis neither counts it as a SUSAR nor as "no SUSAR" (only a sponsor's "unexpected" makes a SUSAR).
No arm, and nothing derived from the SUSAR decision.
"""

from __future__ import annotations

import datetime as dt

from .models import Assessment, CaseVersion


def _utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.UTC).replace(microsecond=0)


def adverse_event_rows(ids, cutoff: dt.datetime, redact) -> list[tuple]:
    latest: dict[int, CaseVersion] = {}
    for v in (CaseVersion.objects.filter(case__participant_id__in=ids, entered_at__lte=cutoff)
              .select_related("case__participant").order_by("case_id", "version")):
        latest[v.case_id] = v
    assessed: dict[int, Assessment] = {}
    for a in Assessment.objects.filter(case_id__in=latest, assessed_at__lte=cutoff).order_by("case_id", "number"):
        assessed[a.case_id] = a
    rows = []
    for case_id, v in latest.items():
        a = assessed.get(case_id)
        related = v.related or bool(a is not None and a.sponsor_related)
        rows.append((v.case.participant.number, v.case.number, _utc(v.onset_at), redact(v.term),
                     v.prespecified or None, v.serious, related, None if a is None else a.expected))
    return rows
