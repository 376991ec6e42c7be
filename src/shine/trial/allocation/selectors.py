"""Reads of allocation data. The arm is read here and nowhere else; every function that returns it checks
that the user may see it (an unblinded role, or the investigator who unblinded that participant)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from shine import protocol as protocol_mod
from shine.trial.accounts.models import User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.enrollment.models import Participant

from . import lists
from .models import Allocation, Pack, PackEvent, RandomisationList, Unblinding


@dataclass(frozen=True)
class BlindedAllocation:
    """What anyone who may see the participant may see of its randomisation: no arm."""

    randomisation_number: int
    pack_number: str
    allocated_at: object
    allocated_by: str
    weight_kg: float
    infusion_rate_ml_per_h: float
    planned_volume_ml: float


def blinded_allocation(participant: Participant) -> BlindedAllocation | None:
    a = Allocation.objects.select_related("pack", "allocated_by").filter(participant=participant).first()
    if a is None:
        return None
    return BlindedAllocation(a.randomisation_number, a.pack.number, a.allocated_at, a.allocated_by.username,
                             a.weight_kg, a.infusion_rate_ml_per_h, a.planned_volume_ml)


def has_unblinded(user: User, participant: Participant) -> bool:
    return Unblinding.objects.filter(user=user, participant=participant).exists()


def arm_for(user: User, participant: Participant) -> str | None:
    """The participant's arm if this user may see it, else None."""
    if not user.is_authenticated:
        return None
    if not (user.can(Perm.VIEW_ALLOCATION) or has_unblinded(user, participant)):
        return None
    a = Allocation.objects.select_related("slot").filter(participant=participant).first()
    return a.slot.arm if a else None


def lists_for(user: User) -> QuerySet[RandomisationList]:
    require(user, Perm.VIEW_ALLOCATION)
    return RandomisationList.objects.annotate(n_slots=Count("slots"))


def list_for_user(user: User, pk: int) -> RandomisationList:
    from django.http import Http404

    rlist = lists_for(user).filter(pk=pk).first()
    if rlist is None:
        raise Http404("no such list")
    return rlist


def qc_report(user: User, rlist: RandomisationList) -> lists.QCReport:
    require(user, Perm.VIEW_ALLOCATION)
    from .services import list_entries

    return lists.qc(list_entries(rlist), protocol_mod.load().arms)


@dataclass(frozen=True)
class StockRow:
    site: str
    by_status_arm: dict
    available: dict


def stock(user: User) -> list[StockRow]:
    """Packs per site (None: the pharmacy), status and arm (unblinded)."""
    require(user, Perm.VIEW_ALLOCATION)
    table: dict = defaultdict(lambda: defaultdict(int))
    for row in Pack.objects.values("site__code", "status", "arm").annotate(n=Count("pk")):
        table[row["site__code"] or "pharmacy"][(row["status"], row["arm"])] += row["n"]
    arms = protocol_mod.load().arms
    out = []
    for site in sorted(table, key=lambda s: (s == "pharmacy", s)):
        counts = table[site]
        out.append(StockRow(site, dict(counts), {a: counts.get((Pack.Status.AT_SITE, a), 0) for a in arms}))
    return out


def packs_for(user: User) -> QuerySet[Pack]:
    require(user, Perm.VIEW_ALLOCATION)
    return Pack.objects.select_related("site")


def ledger(user: User) -> QuerySet[PackEvent]:
    require(user, Perm.VIEW_ALLOCATION)
    return PackEvent.objects.select_related("pack", "site", "by", "participant").order_by("-at", "-pk")


def allocations_for(user: User) -> QuerySet[Allocation]:
    """Every allocation with its arm (``slot.arm``): unblinded roles only."""
    require(user, Perm.VIEW_ALLOCATION)
    return Allocation.objects.select_related("participant", "participant__site", "slot", "pack", "allocated_by")


def coded_groups(numbers, key: bytes) -> dict[str, str]:
    """Participant number → "A"/"B" for a blinded export: the arms never leave this module, only the codes
    (``shine.analysis.dataset.arm_code_map``, so a DSMB holding the key can match them to the arms)."""
    from shine.analysis.dataset import arm_code_map

    allocation = list(Allocation.objects.filter(participant__number__in=set(numbers))
                      .values_list("participant__number", "slot__arm").iterator(chunk_size=1000))
    codes = arm_code_map(allocation, key)
    return {number: codes[arm] for number, arm in allocation}


def unblindings_for(user: User) -> QuerySet[Unblinding]:
    """Every emergency unblinding (who, whom, when, why; never the arm): DSMB statistician and sponsor."""
    require(user, Perm.VIEW_UNBLINDINGS)
    return Unblinding.objects.select_related("participant", "participant__site", "user")
