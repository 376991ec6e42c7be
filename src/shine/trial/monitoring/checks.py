"""The edit checks as system queries: what fires on the data now, for ``shine checks run``.

Daily records are checked again with the current rules of :mod:`shine.trial.records.edit_checks` (so a rule
change reaches old data); the other forms' soft warnings are those their services stored with the record. A
record whose flag a monitor or data manager has already reviewed raises no query for the warnings it had
then. An incomplete daily record past its window (the schedule's day plus grace) is a finding too.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from shine.trial.audit.services import object_type
from shine.trial.records import edit_checks as record_checks
from shine.trial.records import schedule as sched
from shine.trial.records.edit_checks import sofa_values_of
from shine.trial.records.models import Baseline, BloodSample, DailyRecord, FollowUp, InfusionSegment

from . import casebook, services


def _split(text: str) -> list[str]:
    return [w.strip() for w in (text or "").split(";") if w.strip()]


def findings(*, now: dt.datetime | None = None) -> list[tuple]:
    now = now or timezone.now()
    out = []
    for r in DailyRecord.objects.select_related("participant"):
        stored = set(_split(r.warnings))
        fired = record_checks.sofa_inputs(sofa_values_of(r), daily=True).warnings
        for w in fired:
            if r.needs_review or w not in stored:
                out.append((r.participant, "daily", r.pk, w))
        p = r.participant
        if r.missing_inputs and p.randomised_at is not None \
                and now > sched.day_start(p.randomised_at, r.study_day) + sched.DAY + sched.DAILY_GRACE:
            out.append((p, "daily", r.pk, "incomplete past its window: no value or code for "
                        + ", ".join(r.missing_input_labels)))
    for model in (Baseline, InfusionSegment, BloodSample, FollowUp):
        form = casebook.FORM_OF_TYPE[object_type(model)]
        for r in model.objects.filter(needs_review=True).select_related("participant"):
            out += [(r.participant, form, r.pk, w) for w in _split(r.warnings)]
    return out


def run() -> dict[str, int]:
    return services.run_checks(findings=findings())
