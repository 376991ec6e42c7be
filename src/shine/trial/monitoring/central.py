"""Central statistical monitoring on the trial's data: the rows :func:`shine.central_monitoring.site_signals`
needs, read blinded (no arm, no allocation) from every site's records (docs/monitoring.md)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from shine.central_monitoring import Signal, site_signals
from shine.trial.accounts.models import User
from shine.trial.accounts.roles import Perm
from shine.trial.enrollment.models import Participant
from shine.trial.records.models import Baseline, DailyRecord
from shine.trial.records.schedule import day_start

DAILY = ("map_mmhg", "platelets", "creatinine", "bilirubin")
SAE_DAYS = 7  # serious adverse events are collected on days 0-7 (PROTOCOL.md)


def may_view(user: User) -> bool:
    return user.is_authenticated and user.can(Perm.VIEW_PARTICIPANTS) and (
        user.can(Perm.VERIFY_SOURCE) or user.can(Perm.MANAGE_DATA))


def report(user: User, *, now: dt.datetime | None = None) -> list[Signal]:
    """Every site's signals; monitors and data managers only (they see every site)."""
    if not may_view(user) or not user.role_def.cross_site:
        raise PermissionDenied(_("your role may not view central monitoring"))
    from shine.trial.safety.models import Case

    now = now or timezone.now()
    people = {p.pk: p for p in Participant.objects.filter(randomised_at__isnull=False).select_related(
        "site", "screening")}
    site = {pk: p.site.code for pk, p in people.items()}
    values = {v: [] for v in ("map_mmhg", "norepinephrine", "weight_kg", "lactate_mmol_l")}
    daily = {v: [] for v in DAILY}
    missing: dict[str, list[int]] = {}
    lags = []
    for r in DailyRecord.objects.filter(participant_id__in=people).only(
            "participant_id", "study_day", "entered_at", *DAILY, "norepinephrine"):
        p = people[r.participant_id]
        s, n = site[p.pk], p.number
        values["map_mmhg"].append((s, n, r.map_mmhg))
        if r.norepinephrine:
            values["norepinephrine"].append((s, n, r.norepinephrine))
        counts = missing.setdefault(s, [0, 0])
        for v in DAILY:
            value = getattr(r, v)
            daily[v].append((s, n, value))
            counts[0] += value is None
            counts[1] += 1
        lags.append((s, (r.entered_at - day_start(p.randomised_at, r.study_day + 1)).total_seconds() / 3600))
    for b in Baseline.objects.filter(participant_id__in=people).only("participant_id", "weight_kg"):
        values["weight_kg"].append((site[b.participant_id], people[b.participant_id].number, b.weight_kg))
    for p in people.values():
        if p.screening.lactate_mmol_l is not None:
            values["lactate_mmol_l"].append((site[p.pk], p.number, p.screening.lactate_mmol_l))
    serious: dict[int, int] = {}
    for c in Case.objects.filter(participant_id__in=people).prefetch_related("versions"):
        first = min(c.versions.all(), key=lambda v: v.version, default=None)
        p = people[c.participant_id]
        if first is not None and first.serious and first.onset_at - p.randomised_at <= dt.timedelta(days=SAE_DAYS + 1):
            serious[p.pk] = serious.get(p.pk, 0) + 1
    sae: dict[str, list[float]] = {}
    for p in people.values():
        at_risk = min(SAE_DAYS, max(0.0, (now - p.randomised_at).total_seconds() / 86400))
        row = sae.setdefault(site[p.pk], [0, 0.0])
        row[0] += serious.get(p.pk, 0)
        row[1] += at_risk
    return site_signals(values=values, daily=daily,
                        missing={"daily record": {s: (m, n) for s, (m, n) in missing.items()}},
                        lags={"daily record": lags}, sae={s: (int(k), t) for s, (k, t) in sae.items()})
