"""Reads for the progress dashboard and the DSMB page, scoped by role (no arm is read here)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

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
    months = sorted({p["randomised_at"].astimezone(dt.UTC).strftime("%Y-%m") for p in people})
    by_month = Counter((p["site__code"], p["randomised_at"].astimezone(dt.UTC).strftime("%Y-%m")) for p in people)
    recruitment = [{"month": m, "counts": [by_month[(code, m)] for code, _ in sites],
                    "total": sum(by_month[(code, m)] for code, _ in sites)} for m in months]
    top = max([r["total"] for r in recruitment], default=0)
    for r in recruitment:
        r["width"] = round(100 * r["total"] / top) if top else 0
    outcomes = Counter(Screening.objects.filter(screened_at__lte=now).values_list("outcome", flat=True))
    n_complete = len(complete)
    return {
        "now": now, "interim_n": proto.statistics.interim_n, "max_n": proto.max_sample_size,
        "randomised": len(people), "complete": n_complete,
        "interim_percent": min(100, round(100 * n_complete / proto.statistics.interim_n)),
        "max_percent": min(100, round(100 * n_complete / proto.max_sample_size)),
        "interim_reached": n_complete >= proto.statistics.interim_n, "shows_overdue": overdue is not None,
        "sites": rows, "site_codes": [code for code, _ in sites], "recruitment": recruitment,
        "screening": [{"outcome": o.replace("_", " "), "count": outcomes[o]} for o in sorted(outcomes)],
        "forecast": fc,
    }


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
