"""Reads for the progress dashboard and the DSMB page, scoped by role (no arm is read here)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pandas as pd
from django.db.models import QuerySet
from django.utils import timezone

from shine import protocol as protocol_mod
from shine.analysis import interim
from shine.trial.accounts.models import Site, User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.enrollment.models import Participant, Screening

from .models import InterimFreeze, InterimRun


def may_see_progress(user: User) -> bool:
    return user.is_authenticated and (user.can(Perm.VIEW_REPORTS) or user.can(Perm.VIEW_DSMB))


def _require_progress(user: User) -> None:
    if not may_see_progress(user):
        require(user, Perm.VIEW_REPORTS)


def _day90_complete(participants: list[dict], horizon: int) -> set[int]:
    from shine.trial.records.models import Death, FollowUp

    ids = [p["pk"] for p in participants]
    visited = set(FollowUp.objects.filter(participant_id__in=ids, visit_day=horizon,
                                          vital_status__in=["alive", "dead"]).values_list("participant_id", flat=True))
    randomised = {p["pk"]: p["randomised_at"] for p in participants}
    early = {pid for pid, died in Death.objects.filter(participant_id__in=ids).values_list("participant_id", "died_at")
             if died <= randomised[pid] + dt.timedelta(days=horizon)}
    return visited | early


def progress(user: User, *, now: dt.datetime | None = None) -> dict:
    """Day-90 completions toward the interim and the maximum, per site (every site, those with nothing
    too), recruitment per site and month, screening outcomes, and the forecast of the interim date."""
    _require_progress(user)
    proto = protocol_mod.load()
    horizon = proto.outcomes.primary_horizon_days
    now = (now or timezone.now()).astimezone(dt.UTC)
    people = list(Participant.objects.filter(randomised_at__isnull=False, randomised_at__lte=now)
                  .values("pk", "site__code", "randomised_at"))
    complete = _day90_complete(people, horizon)
    sites = list(Site.objects.order_by("code").values_list("code", "name"))
    order = {code: i for i, code in enumerate(proto.site_codes)}
    sites.sort(key=lambda s: order.get(s[0], len(order)))
    per_site = Counter(p["site__code"] for p in people)
    done_site = Counter(p["site__code"] for p in people if p["pk"] in complete)
    rows = [{"code": code, "name": name, "randomised": per_site[code], "complete": done_site[code],
             "pending": per_site[code] - done_site[code]} for code, name in sites]
    frame = pd.DataFrame({"site": [p["site__code"] for p in people],
                          "randomised_at": pd.to_datetime([p["randomised_at"] for p in people], utc=True),
                          "complete": [p["pk"] in complete for p in people]})
    fc = interim.forecast_interim(frame, now=pd.Timestamp(now), target=proto.statistics.interim_n,
                                  n_max=proto.max_sample_size, sites=tuple(code for code, _ in sites),
                                  lag_days=float(horizon))
    overdue = None
    if user.can(Perm.VIEW_PARTICIPANTS):  # the records worklist, over every site the user may see
        from shine.trial.records.selectors import worklist

        overdue = Counter(w.site for w in worklist(user, now=now) if w.item.status == "overdue")
    for r in rows:
        r["overdue"] = None if overdue is None else overdue[r["code"]]
        rate = fc.rates.get(r["code"])
        r["per_month"] = None if rate is None else round(rate * 365.25 / 12, 1)
    recruitment = _recruitment(people, [code for code, _ in sites], now)
    quality = _data_quality(now)
    for r in rows:
        r["entry_days"], r["entry_forms"] = quality["timeliness"].get(r["code"], (None, 0))
        r["open_queries"] = quality["open_queries"][r["code"]]
    outcomes = Counter(Screening.objects.filter(screened_at__lte=now).values_list("outcome", flat=True))
    n_complete = len(complete)
    return {
        "now": now, "interim_n": proto.statistics.interim_n, "max_n": proto.max_sample_size,
        "randomised": len(people), "complete": n_complete,
        "interim_percent": min(100, round(100 * n_complete / proto.statistics.interim_n)),
        "max_percent": min(100, round(100 * n_complete / proto.max_sample_size)),
        "interim_reached": n_complete >= proto.statistics.interim_n, "shows_overdue": overdue is not None,
        "sites": rows, "site_codes": [code for code, _ in sites], "recruitment": recruitment["months"],
        "recruitment_chart": recruitment["chart"], "planned": recruitment["planned"],
        "timeliness_days": TIMELINESS_DAYS,
        "screening": [{"outcome": Screening.Outcome(o).label if o in Screening.Outcome.values else o.replace("_", " "),
                       "count": outcomes[o]} for o in sorted(outcomes)],
        "forecast": fc, "horizon": horizon,
    }


TIMELINESS_DAYS = 30  # data timeliness over the forms of the visits of the last 30 days: how entry goes now
CHART_WIDTH, CHART_HEIGHT = 300, 120


def _recruitment(people: list[dict], codes: list[str], now: dt.datetime) -> dict:
    """Per month from the first randomisation to now (months without any included): counts per site, the
    total, the cumulative count, the protocol's planned cumulative count, and an SVG chart of both."""
    month_of = [p["randomised_at"].astimezone(dt.UTC).strftime("%Y-%m") for p in people]
    if not people:
        return {"months": [], "chart": None, "planned": protocol_mod.load().recruitment is not None}
    months = interim.month_range(min(month_of), now.strftime("%Y-%m"))
    by_month = Counter(zip((p["site__code"] for p in people), month_of, strict=True))
    planned = interim.planned_recruitment(months, months[0])
    out: list[dict[str, Any]] = []
    cumulative = 0
    for m, plan in zip(months, planned, strict=True):
        total = sum(by_month[(code, m)] for code in codes)
        cumulative += total
        out.append({"month": m, "counts": [by_month[(code, m)] for code in codes], "total": total,
                    "cumulative": cumulative, "planned": plan})
    top = max([r["total"] for r in out], default=0)
    for r in out:
        r["width"] = round(100 * r["total"] / top) if top else 0
    return {"months": out, "chart": _chart(out), "planned": planned[0] is not None}


def _chart(months: list[dict]) -> dict:
    """Polyline points (SVG user units) of the actual and the planned cumulative recruitment."""
    top = max([r["cumulative"] for r in months] + [r["planned"] or 0 for r in months] + [1])
    step = CHART_WIDTH / max(len(months) - 1, 1)

    def points(values) -> str:
        return " ".join(f"{k * step:.1f},{CHART_HEIGHT - CHART_HEIGHT * v / top:.1f}"
                        for k, v in enumerate(values) if v is not None)

    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "top": top,
            "actual": points([r["cumulative"] for r in months]),
            "planned": points([r["planned"] for r in months]) if months[0]["planned"] is not None else "",
            "first": months[0]["month"], "last": months[-1]["month"]}


def _data_quality(now: dt.datetime) -> dict:
    """Per site: the median days from a visit to its entry over the forms of the last ``TIMELINESS_DAYS``
    days (a daily form's visit is the end of its study day; the baseline's is the randomisation), with the
    number of forms, and the open queries (open or answered: not yet closed). Nothing here reads an arm."""
    import statistics

    from shine.trial.monitoring.models import Query
    from shine.trial.records.models import Baseline, DailyRecord

    since = now - dt.timedelta(days=TIMELINESS_DAYS)
    delays: dict[str, list[float]] = {}
    for code, randomised, day, entered in (DailyRecord.objects.filter(entered_at__lte=now)
                                           .values_list("participant__site__code", "participant__randomised_at",
                                                        "study_day", "entered_at")):
        visit = randomised + dt.timedelta(days=day)
        if since <= visit <= now:
            delays.setdefault(code, []).append(max(0.0, (entered - visit).total_seconds() / 86400))
    for code, visit, entered in (Baseline.objects.filter(entered_at__lte=now, participant__randomised_at__gte=since)
                                 .values_list("participant__site__code", "participant__randomised_at", "entered_at")):
        delays.setdefault(code, []).append(max(0.0, (entered - visit).total_seconds() / 86400))
    timeliness = {code: (round(statistics.median(d), 1), len(d)) for code, d in delays.items()}
    open_queries = Counter(Query.objects.filter(state__in=[Query.State.OPEN, Query.State.ANSWERED])
                           .values_list("site__code", flat=True))
    return {"timeliness": timeliness, "open_queries": open_queries}


def freezes_for(user: User) -> QuerySet[InterimFreeze]:
    require(user, Perm.VIEW_DSMB)
    return InterimFreeze.objects.select_related("created_by").order_by("-pk")


def freeze_for(user: User, pk: int) -> InterimFreeze:
    from django.http import Http404

    freeze = freezes_for(user).filter(pk=pk).first()
    if freeze is None:
        raise Http404("no such freeze")
    return freeze


def runs_for(user: User) -> QuerySet[InterimRun]:
    """Interim runs whose open report the user may read (VIEW_REPORTS or VIEW_DSMB)."""
    _require_progress(user)
    return InterimRun.objects.select_related("freeze").order_by("-pk")


def run_for(user: User, pk: int) -> InterimRun:
    from django.http import Http404

    run = runs_for(user).filter(pk=pk).first()
    if run is None:
        raise Http404("no such interim run")
    return run


def recommendations_for(user: User) -> QuerySet:
    """Recommendations: every field for DSMB roles; the letter's fields for those who may read reports."""
    from .models import Recommendation

    _require_progress(user)
    return Recommendation.objects.select_related("recorded_by").order_by("-pk")


def recommendation_for(user: User, pk: int):
    from django.http import Http404

    rec = recommendations_for(user).filter(pk=pk).first()
    if rec is None:
        raise Http404("no such recommendation")
    return rec


def day90_complete_count(*, now: dt.datetime | None = None) -> int:
    """Participants with complete day-90 follow-up (no user: for the system's interim notice)."""
    now = now or timezone.now()
    people = list(Participant.objects.filter(randomised_at__isnull=False, randomised_at__lte=now)
                  .values("pk", "site__code", "randomised_at"))
    return len(_day90_complete(people, protocol_mod.load().outcomes.primary_horizon_days))
