"""Reads of queries, SDV status, signatures and locks, always scoped to the user's sites (site staff see
their sites only, and no query still held back as a candidate)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from shine.trial.accounts.models import User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require, scope_to_sites
from shine.trial.enrollment.models import Participant

from . import casebook
from .models import Lock, Query, SdvPlan, Signature, Verification
from .services import assert_not_locked, draw  # noqa: F401  (assert_not_locked: the write paths' check)

ACTIVE = (Query.State.CANDIDATE, Query.State.OPEN, Query.State.ANSWERED)


def may_view_queries(user: User) -> bool:
    return user.is_authenticated and user.can(Perm.VIEW_PARTICIPANTS) and (
        user.can(Perm.RAISE_QUERY) or user.can(Perm.ENTER_DATA))


def queries_for(user: User) -> QuerySet[Query]:
    if not may_view_queries(user):
        raise PermissionDenied(_("your role may not view queries"))
    qs = scope_to_sites(Query.objects.select_related("participant", "site"), user)
    if not user.can(Perm.RAISE_QUERY):
        qs = qs.exclude(state=Query.State.CANDIDATE)
    return qs


def filtered(user: User, *, site: str = "", state: str = "", min_age_days: int | None = None,
             participant: str = "", now: dt.datetime | None = None) -> QuerySet[Query]:
    """Queries by site code, state (or 'active': candidate, open or answered) and age in days since opened."""
    qs = queries_for(user)
    if site:
        qs = qs.filter(site__code=site.upper())
    if state == "active":
        qs = qs.filter(state__in=ACTIVE)
    elif state:
        qs = qs.filter(state=state)
    if participant:
        qs = qs.filter(participant__number=participant.upper())
    if min_age_days is not None:
        qs = qs.filter(opened_at__lte=(now or timezone.now()) - dt.timedelta(days=min_age_days))
    return qs


def query_for_user(user: User, number) -> Query:
    key = str(number).strip().upper().removeprefix("Q-")
    q = queries_for(user).filter(number=int(key)).first() if key.isascii() and key.isdigit() and len(key) < 10 \
        else None
    if q is None:
        raise Http404("no such query")
    return q


def age_days(query: Query, now: dt.datetime | None = None) -> int | None:
    """Whole days the query has been open (until it was closed, cancelled or resolved)."""
    if query.opened_at is None:
        return None
    end = query.state_changed_at if query.state not in ACTIVE else (now or timezone.now())
    return (end - query.opened_at).days


# ---------------------------------------------------------------- source data verification

def plans() -> list[SdvPlan]:
    return list(SdvPlan.objects.order_by("version"))


def current_plan() -> SdvPlan | None:
    return SdvPlan.objects.order_by("-version").first()


def _plans_for(participant: Participant, all_plans: list[SdvPlan]) -> list[SdvPlan]:
    """The plan versions that applied to the participant at some time since randomisation: each plan until the
    next replaced it. A participant selected by any of them stays selected (sticky)."""
    out = []
    for plan, nxt in zip(all_plans, [*all_plans[1:], None]):
        if nxt is None or participant.randomised_at is None or nxt.created_at > participant.randomised_at:
            out.append(plan)
    return out


def _place_at_site(participant: Participant) -> int:
    """The participant's place (0-based) in its site's order of randomisation."""
    return Participant.objects.filter(site_id=participant.site_id, randomised_at__isnull=False).filter(
        randomised_at__lt=participant.randomised_at).count() + Participant.objects.filter(
        site_id=participant.site_id, randomised_at=participant.randomised_at, pk__lt=participant.pk).count()


def selection(participant: Participant, *, all_plans: list[SdvPlan] | None = None) -> dict[str, str]:
    """Form -> why the participant's records of that form need verification ('every participant', 'first N at
    the site', 'sampled (plan vN)'); forms not listed need none."""
    all_plans = plans() if all_plans is None else all_plans
    if participant.randomised_at is None:
        return {}
    place = None
    out: dict[str, str] = {}
    for plan in _plans_for(participant, all_plans):
        for form, rule in plan.rules.items():
            if form in out:
                continue
            if rule.get("all"):
                out[form] = _("every participant")
                continue
            if place is None:
                place = _place_at_site(participant)
            if place < rule["first"]:
                out[form] = _("first %(n)s at the site") % {"n": rule["first"]}
            elif draw(plan.seed, form, participant.number) < rule["percent"] / 100:
                out[form] = _("sampled (%(percent)s %%, plan v%(version)s)") % {
                    "percent": f"{rule['percent']:g}", "version": plan.version}
    return out


@dataclass(frozen=True)
class SdvRow:
    entry: casebook.Entry
    required: str          # why verification is required, or ""
    status: str            # "to verify", "verified", "re-verify", "not required"
    verification: Verification | None


def sdv_rows(participant: Participant, entries: list[casebook.Entry] | None = None) -> list[SdvRow]:
    chosen = selection(participant)
    latest: dict[tuple[str, str], Verification] = {}
    for v in Verification.objects.filter(participant=participant).select_related("verified_by").order_by("pk"):
        latest[(v.object_type, v.object_id)] = v
    rows = []
    for e in casebook.entries(participant) if entries is None else entries:
        v = latest.get((e.object_type, e.object_id))
        if v is not None:
            status = "verified" if v.version_event == e.version_event and v.content_hash == e.content_hash \
                else "re-verify"
        else:
            status = "to verify" if e.form in chosen else "not required"
        rows.append(SdvRow(e, chosen.get(e.form, ""), status, v))
    return rows


@dataclass(frozen=True)
class Progress:
    participant: Participant
    required: int
    verified: int
    reverify: int
    to_verify: int


def progress(participant: Participant, entries: list[casebook.Entry] | None = None) -> Progress:
    rows = [r for r in sdv_rows(participant, entries) if r.required or r.verification is not None]
    count = lambda s: sum(r.status == s for r in rows)  # noqa: E731
    return Progress(participant, sum(bool(r.required) for r in rows), count("verified"), count("re-verify"),
                    count("to verify"))


def sdv_worklist(user: User, *, site: str = "") -> list[Progress]:
    require(user, Perm.VERIFY_SOURCE)
    qs = scope_to_sites(Participant.objects.select_related("site"), user).filter(randomised_at__isnull=False)
    if site:
        qs = qs.filter(site__code=site.upper())
    return [progress(p) for p in qs.order_by("site__code", "randomised_at", "pk")]


def may_view_sdv(user: User) -> bool:
    return user.is_authenticated and user.can(Perm.VIEW_PARTICIPANTS) and (
        user.can(Perm.VERIFY_SOURCE) or user.can(Perm.MANAGE_DATA))


# ---------------------------------------------------------------- signatures and locks

@dataclass(frozen=True)
class SignatureStatus:
    signature: Signature
    valid: bool


def signatures(participant: Participant, entries: list[casebook.Entry] | None = None) -> list[SignatureStatus]:
    rows = list(Signature.objects.filter(participant=participant).select_related("signer"))
    if not rows:
        return []
    now_hash = casebook.casebook_hash(casebook.entries(participant) if entries is None else entries)
    return [SignatureStatus(s, s.content_hash == now_hash) for s in rows]


def locks(participant: Participant) -> list[Lock]:
    return list(Lock.objects.filter(participant=participant).select_related("locked_by", "unlocked_by"))


def lock_for_user(user: User, pk) -> Lock:
    require(user, Perm.VIEW_PARTICIPANTS)
    key = str(pk)
    lock = scope_to_sites(Lock.objects.select_related("participant"), user, "participant__site").filter(
        pk=int(key)).first() if key.isascii() and key.isdigit() and len(key) < 18 else None
    if lock is None:
        raise Http404("no such lock")
    return lock
