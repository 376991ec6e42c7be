"""Reads of the case report forms, always through the participant's scoped lookup (site isolation): the
schedule's facts, the worklist, the infusion's summary and delivered dose, the derived outcomes."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from django.http import Http404
from django.utils import timezone

from shine.clinical import dosing
from shine.trial.accounts.models import User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import works_at
from shine.trial.enrollment.models import Participant
from shine.trial.enrollment.selectors import participant_for_user, participants_for

from . import infusion_log
from . import schedule as sched
from .edit_checks import INPUT_LABELS
from .models import Baseline, BloodSample, DailyRecord, Death, FollowUp, IcuStay, InfusionSegment


def randomised_participant(user: User, key, *, write: bool = False) -> Participant:
    """The participant (scoped: 404 for another site), which must be randomised to have forms."""
    p = participant_for_user(user, key, write=write)
    if p.randomised_at is None:
        raise Http404("not randomised")
    return p


def may_write(user: User, participant: Participant) -> bool:
    """Whether the user may enter this participant's data (staff of its site with ENTER_DATA)."""
    return user.can(Perm.ENTER_DATA) and works_at(user, participant.site_id)


def daily_record(participant: Participant, day) -> DailyRecord:
    record = DailyRecord.objects.filter(participant=participant, study_day=int(day)).first() \
        if str(day).isdigit() else None
    if record is None:
        raise Http404("no such daily record")
    return record


def blood_sample(participant: Participant, day) -> BloodSample:
    s = BloodSample.objects.filter(participant=participant, study_day=int(day)).first() if str(day).isdigit() else None
    if s is None:
        raise Http404("no such sample")
    return s


def follow_up(participant: Participant, day) -> FollowUp:
    v = FollowUp.objects.filter(participant=participant, visit_day=int(day)).first() if str(day).isdigit() else None
    if v is None:
        raise Http404("no such visit")
    return v


def schedule_for(participant: Participant, *, now: dt.datetime | None = None) -> list[sched.Item]:
    return sched.items(facts([participant], now or timezone.now())[participant.pk])


# ---------------------------------------------------------------- worklist

@dataclass(frozen=True)
class WorkItem:
    participant: str
    site: str
    item: sched.Item

    @property
    def late_hours(self) -> float:
        return max(0.0, (timezone.now() - self.item.overdue_at).total_seconds() / 3600)


def facts(participants: list[Participant], now: dt.datetime) -> dict[int, sched.Facts]:
    """The schedule's facts of each participant (participant pk → facts), in seven statements whatever their
    number: one participant's page and the worklist's chunks read them the same way."""
    ids = [p.pk for p in participants]
    baseline = set(Baseline.objects.filter(participant_id__in=ids).values_list("participant_id", flat=True))
    daily, samples, visits = defaultdict(set), defaultdict(set), defaultdict(set)
    incomplete = defaultdict(list)
    for pid, d, missing in DailyRecord.objects.filter(participant_id__in=ids).values_list(
            "participant_id", "study_day", "missing_inputs"):
        daily[pid].add(d)
        if missing:
            incomplete[pid].append((d, missing))
    for pid, d in BloodSample.objects.filter(participant_id__in=ids).values_list("participant_id", "study_day"):
        samples[pid].add(d)
    for pid, d in FollowUp.objects.filter(participant_id__in=ids).values_list("participant_id", "visit_day"):
        visits[pid].add(d)
    stays, segs = defaultdict(list), defaultdict(list)
    for pid, a, b in IcuStay.objects.filter(participant_id__in=ids).order_by("stay").values_list(
            "participant_id", "admitted_at", "discharged_at"):
        stays[pid].append((a, b))
    for pid, b, why in InfusionSegment.objects.filter(participant_id__in=ids).order_by("segment").values_list(
            "participant_id", "stopped_at", "stop_reason"):
        segs[pid].append((b, why))
    deaths = dict(Death.objects.filter(participant_id__in=ids).values_list("participant_id", "died_at"))
    return {p.pk: sched.Facts(
        randomised_at=p.randomised_at, now=now, baseline_done=p.pk in baseline, daily_days=frozenset(daily[p.pk]),
        incomplete_days=incomplete_days(incomplete[p.pk]),
        stays=tuple(stays[p.pk]), died_at=deaths.get(p.pk), sample_days=frozenset(samples[p.pk]),
        infusion_started=bool(segs[p.pk]), infusion_ended=infusion_log.ended(segs[p.pk]),
        followup_days=frozenset(visits[p.pk]),
        data_stop_at=None if p.new_data_allowed else (p.data_restricted_at or p.randomised_at),
        vital_status_allowed=p.continue_vital_status_follow_up) for p in participants}


def incomplete_days(rows) -> tuple:
    """``rows``: (study day, missing_inputs) of incomplete daily records → the schedule's ``incomplete_days``."""
    return tuple(sorted((day, tuple(str(INPUT_LABELS[i]) for i in missing.split(";") if i)) for day, missing in rows))


def worklist(user: User, *, site: str = "", now: dt.datetime | None = None) -> list[WorkItem]:
    """Everything due or overdue at the user's sites, and the daily records saved incomplete, most urgent
    first (overdue longest first, then due and incomplete by deadline)."""
    now = now or timezone.now()
    qs = participants_for(user).filter(randomised_at__isnull=False)
    if site:
        qs = qs.filter(site__code=site.upper())
    out: list[WorkItem] = []
    participants = list(qs.select_related("site"))
    for start in range(0, len(participants), 200):
        part = participants[start:start + 200]
        known = facts(part, now)
        for p in part:
            for item in sched.items(known[p.pk]):
                if item.status in ("due", "overdue", "incomplete"):
                    out.append(WorkItem(p.number, p.site.code, item))
    return sorted(out, key=lambda w: (w.item.status != "overdue", w.item.overdue_at, w.participant))


# ---------------------------------------------------------------- infusion

def delivered(participant: Participant, *, until: dt.datetime | None = None) -> dosing.DeliveredDose | None:
    """Delivered dose and fraction of the planned dose (a running segment counts up to ``until``/now)."""
    segs = list(InfusionSegment.objects.filter(participant=participant).order_by("segment"))
    if not segs or not participant.weight_kg:
        return None
    until = until or timezone.now()
    rows = [dosing.Segment(s.started_at, s.stopped_at or max(until, s.started_at + dt.timedelta(seconds=1)),
                           s.rate_ml_per_h, s.concentration_ng_per_ml) for s in segs]
    return dosing.delivered_dose(rows, participant.weight_kg)


def infusion_summary(participant: Participant) -> dict:
    """The infusion log of one participant as the page and the API show it: segments, state, computed rate
    and delivered dose."""
    segs = list(participant.infusion_segments.order_by("segment"))
    d = delivered(participant)
    ended = infusion_log.ended([(s.stopped_at, s.stop_reason) for s in segs])
    early = segs[-1].stop_reason if ended and segs[-1].stop_reason != "planned_end" else None
    rate = dosing.infusion_rate_ml_per_h(participant.weight_kg) if participant.weight_kg else None
    return {"segments": [segment_out(s) for s in segs], "running": bool(segs) and segs[-1].stopped_at is None,
            "ended": ended, "early_stop": early, "computed_rate_ml_per_h": rate,
            "delivered": None if d is None else {
                "total_ng": d.total_ng, "hours_infused": d.hours_infused, "planned_ng": d.planned_ng,
                "fraction_of_planned": d.fraction_of_planned,
                "longest_interruption_hours": d.longest_interruption_hours, "summary": d.summary()}}


def warnings_of(obj) -> list[str]:
    return [w for w in obj.warnings.split("; ") if w] if obj.warnings else []


def segment_out(s) -> dict:
    return {k: getattr(s, k) for k in ("segment", "started_at", "stopped_at", "rate_ml_per_h",
                                       "concentration_ng_per_ml", "stop_reason", "note")} | {"warnings": warnings_of(s)}


# ---------------------------------------------------------------- derived outcomes of one participant

@dataclass(frozen=True)
class Outcomes:
    mean_daily_sofa: float | None
    icu_days: int
    observed_days: int
    carried_days: int
    missing_days: int
    days_alive_without: dict            # support -> days (None when not derivable yet)
    horizon_days: int                   # days counted so far (≤ 90)
    daily: list[tuple[int, float | None, str]]  # (study day, score, observed/carried/missing)
    problems: tuple[str, ...] = ()


def outcomes(participant: Participant) -> Outcomes:
    """Mean daily modified SOFA so far, days alive without support, and the daily scores for the chart —
    derived by :mod:`shine.analysis.derive` from the participant's rows of the analysis data set."""
    from shine import protocol as protocol_mod
    from shine.analysis import derive
    from shine.analysis.dataset import DatasetError
    from shine.trial.reports.analysis_dataset import participant_dataset

    horizon_max = protocol_mod.load().outcomes.primary_horizon_days
    now = timezone.now()
    elapsed = int((now - participant.randomised_at) // sched.DAY)
    horizon = max(1, min(horizon_max, elapsed))
    try:
        data = participant_dataset(participant, cutoff=now)
    except DatasetError as exc:
        return Outcomes(None, 0, 0, 0, 0, {}, horizon, [], tuple(str(p) for p in exc.problems))
    m = derive.mean_daily_sofa(data)
    row = m.per_participant.iloc[0]
    days = [(int(d.study_day), None if math.isnan(d.score) else float(d.score), d.source)
            for d in m.days.itertuples()]
    support = {}
    if elapsed >= 1:
        free = derive.days_without_support(data, horizon=horizon).iloc[0]
        for s in derive.SUPPORTS:
            v = free[f"{s}_free_days"]
            support[s] = None if (v is None or (isinstance(v, float) and math.isnan(v))) else int(v)
    mean = None if math.isnan(row.mean_sofa) else float(row.mean_sofa)
    return Outcomes(mean, int(row.icu_days), int(row.observed_days), int(row.carried_days), int(row.missing_days),
                    support, horizon, days)
