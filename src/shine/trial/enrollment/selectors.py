"""Reads of the screening log and participants, always scoped to the user's sites."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils.translation import gettext as _

from shine.trial.accounts.models import Site, User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import member_site_ids, require, require_site_staff, scope_to_sites, works_at

from . import cpr as cprmod
from .models import Participant, Screening

_NUMBER = re.compile(r"^[A-Za-z]{1,8}-\d{1,6}$")


def sites_for_work(user: User) -> QuerySet[Site]:
    return Site.objects.filter(pk__in=member_site_ids(user))


def site_for_work(user: User, code: str) -> Site:
    """A site where the user may write (is a member); 404 for other sites, 403 for read-only roles."""
    if user.role_def.cross_site:
        raise PermissionDenied(_("your role may not change records at a site"))
    site = sites_for_work(user).filter(code=(code or "").upper()).first()
    if site is None:
        raise Http404(_("no such site"))
    return site


def participants_for(user: User) -> QuerySet[Participant]:
    require(user, Perm.VIEW_PARTICIPANTS)
    return scope_to_sites(Participant.objects.select_related("site", "screening"), user)


def participant_for_user(user: User, pk_or_number, *, write: bool = False) -> Participant:
    """The participant by primary key or number (``HGH-0007``), scoped to the user's sites.

    404 when it does not exist or belongs to a site the user may not see (no hint which); with
    ``write=True`` also 403 unless the user is site staff of the participant's site (cross-site roles
    read only). The action's own permission (consent, randomise, …) is checked by its service.
    """
    require(user, Perm.VIEW_PARTICIPANTS)
    key = str(pk_or_number).strip()
    if key.isascii() and key.isdigit():  # isdigit alone also takes '²', which int() refuses
        where = {"pk": int(key)}
    elif _NUMBER.match(key):
        where = {"number": key.upper()}
    else:
        raise Http404(_("no such participant"))
    # one row by a unique key, on every request: no ordering (the default one joins the sites to sort) and only
    # the site along (the screening loads if asked for); scoped as participants_for scopes
    participant = next(iter(scope_to_sites(Participant.objects.select_related("site").filter(**where), user)
                            .order_by()[:1]), None)
    if participant is None:
        raise Http404(_("no such participant"))
    # require_site_staff's answer without a query of its own: site staff see only the sites where they work
    # (the scope above), so a participant found for them is at one of their sites; cross-site roles work at none
    if write and user.role_def.cross_site:
        raise PermissionDenied(_("only staff of the participant's site may change its records"))
    return participant


def screenings_for(user: User) -> QuerySet[Screening]:
    if not (user.can(Perm.SCREEN) or user.can(Perm.VIEW_PARTICIPANTS)):
        raise PermissionDenied(_("your role may not view the screening log"))
    return scope_to_sites(Screening.objects.select_related("site", "screened_by"), user)


def screening_for_user(user: User, pk, *, write: bool = False) -> Screening:
    key = str(pk).strip()
    if key.upper().startswith("S-"):
        key = key[2:]
    screening = screenings_for(user).filter(pk=int(key)).first() if key.isascii() and key.isdigit() else None
    if screening is None:
        raise Http404(_("no such screening"))
    if write:
        require_site_staff(user, screening.site_id, to=_("change its screening log"))
    return screening


def cpr_for(user: User, participant: Participant) -> str | None:
    """The CPR number in clear, for site staff of the participant's site only; None for everyone else."""
    if not participant.cpr_encrypted or not works_at(user, participant.site_id):
        return None
    return cprmod.decrypt(participant.cpr_encrypted, participant_number=participant.number) or str(cprmod.UNREADABLE)


def waiting_for_consent(qs: QuerySet[Participant]) -> QuerySet[Participant]:
    """Those of ``qs`` still waiting for next-of-kin or patient consent, oldest guardian consent first
    (annotated ``guardian_at``)."""
    return (qs.filter(Q(awaiting_next_of_kin=True) | Q(awaiting_patient=True))
            .annotate(guardian_at=Min("consent_events__occurred_at",
                                      filter=Q(consent_events__kind="guardian_consent")))
            .order_by("guardian_at", "pk"))


def worklist(user: User) -> QuerySet[Participant]:
    """Participants still waiting for next-of-kin or patient consent, oldest first."""
    return waiting_for_consent(participants_for(user))


@dataclass(frozen=True)
class MonthCount:
    site: str
    month: str
    screened: int
    eligible: int
    randomised: int


def counts_per_site_month(user: User) -> list[MonthCount]:
    rows = (screenings_for(user).annotate(month=TruncMonth("screened_at")).values("site__code", "month")
            .annotate(screened=Count("pk"),
                      eligible=Count("pk", filter=Q(assessment="eligible")),
                      randomised=Count("pk", filter=Q(outcome=Screening.Outcome.RANDOMISED)))
            .order_by("site__code", "month"))
    return [MonthCount(r["site__code"], r["month"].strftime("%Y-%m"), r["screened"], r["eligible"],
                       r["randomised"]) for r in rows]


@dataclass(frozen=True)
class Consort:
    """The enrolment part of a CONSORT flow diagram, from the screening log."""

    screened: int
    not_eligible: int
    not_eligible_by_criterion: dict[str, int]
    not_assessable: int
    eligible: int
    awaiting_decision: int
    not_randomised: int
    not_randomised_by_reason: dict[str, int]
    randomised: int
    randomised_by_site: dict[str, int]


def consort(user: User) -> Consort:
    qs = screenings_for(user)
    outcomes = Counter(qs.values_list("outcome", flat=True))
    criteria: Counter = Counter()
    for reasons in qs.filter(outcome=Screening.Outcome.NOT_ELIGIBLE).values_list("reasons", flat=True):
        criteria.update(r for r in reasons.split(";") if r)
    reasons = Counter(qs.filter(outcome=Screening.Outcome.ELIGIBLE_NOT_RANDOMISED)
                      .values_list("not_randomised_reason", flat=True))
    by_site: dict[str, int] = defaultdict(int)
    for code in qs.filter(outcome=Screening.Outcome.RANDOMISED).values_list("site__code", flat=True):
        by_site[code] += 1
    Out = Screening.Outcome
    return Consort(
        screened=sum(outcomes.values()), not_eligible=outcomes[Out.NOT_ELIGIBLE],
        not_eligible_by_criterion=dict(sorted(criteria.items())), not_assessable=outcomes[Out.NOT_ASSESSABLE],
        eligible=outcomes[Out.ELIGIBLE] + outcomes[Out.ELIGIBLE_NOT_RANDOMISED] + outcomes[Out.RANDOMISED],
        awaiting_decision=outcomes[Out.ELIGIBLE], not_randomised=outcomes[Out.ELIGIBLE_NOT_RANDOMISED],
        not_randomised_by_reason=dict(sorted(reasons.items())), randomised=outcomes[Out.RANDOMISED],
        randomised_by_site=dict(sorted(by_site.items())))
