"""Every write of lists, packs, allocations and unblindings: keyword-only, one transaction, audited.

``randomise`` is the locked critical section of the trial (DESIGN.md, habit 6): the site's row is locked
(``select_for_update``) so that one randomisation at a time takes the next slot of the site's stratum and a
pack of the slot's arm at that site; retries with the same request id return the same answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from shine import protocol as protocol_mod
from shine.clinical import dosing
from shine.trial.accounts import second_factor
from shine.trial.accounts.models import Site, User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require, require_site_staff
from shine.trial.accounts.services import serialise_attempts, too_many_failures
from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.enrollment.models import Participant, Screening
from shine.trial.errors import Refused
from shine.web.formats import local_datetime

from . import lists
from .models import Allocation, Pack, PackEvent, RandomisationList, Slot, Unblinding

log = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return timezone.now()


def _number(x) -> str:
    """A number for a message, as short as it goes (30, 2.5) and in the active language (2,5 in Danish)."""
    return formats.number_format(f"{x:g}")


# ---------------------------------------------------------------- randomisation lists (unblinded roles)

def _create_list(*, user: User | None, actor: Actor, entries: list[lists.Entry], name: str, source: str,
                 seed: str, block_sizes: tuple[int, ...], length: int) -> RandomisationList:
    if RandomisationList.objects.filter(active=True).exists():
        raise Refused(_("a randomisation list is already active; retire it before adding another"), field="name",
                      status=409)
    sites = {s.code: s for s in Site.objects.all()}
    missing = sorted({e.site for e in entries} - set(sites))
    if missing:
        raise Refused(_("sites %(sites)s are not set up (run `shine demo` or sync the sites)")
                      % {"sites": ", ".join(missing)}, field="site")
    rlist = audit.create(RandomisationList, actor=actor, name=name, source=source,
                         algorithm=lists.ALGORITHM if source == "generated" else "", seed=seed,
                         block_sizes=",".join(str(b) for b in block_sizes), length_per_site=length,
                         sha256=lists.sha256(entries), active=True, created_at=_now(), created_by=user)
    for e in entries:
        audit.create(Slot, actor=actor, rlist=rlist, site=sites[e.site], position=e.position, number=e.number,
                     block=e.block, block_size=e.block_size, arm=e.arm)
    return rlist


def _list_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) > 80:
        raise Refused(_("the name must be at most %(limit)s characters; got %(length)s")
                      % {"limit": 80, "length": len(name)}, field="name")
    return name


def generate_list(*, user: User, length_per_site: int, name: str = "", sites: tuple[str, ...] | None = None,
                  request_id: str = "") -> RandomisationList:
    """Generate the concealed list: stratified by site, permuted blocks of the protocol's sizes, seeded
    from :mod:`secrets` (the seed is recorded with the list)."""
    require(user, Perm.MANAGE_RANDOMISATION)
    p = protocol_mod.load()
    if not isinstance(length_per_site, int) or not 1 <= length_per_site <= p.max_sample_size:
        raise Refused(_("the length per site must be a whole number from 1 to %(max)s (the trial's maximum "
                        "sample size)") % {"max": p.max_sample_size}, field="length_per_site")
    codes = tuple(sites or p.site_codes)
    unknown = [c for c in codes if c not in p.site_codes]
    if unknown:
        raise Refused(_("unknown site %(unknown)s; the sites are: %(sites)s")
                      % {"unknown": ", ".join(unknown), "sites": ", ".join(p.site_codes)}, field="sites")
    seed = lists.new_seed()
    entries = lists.generate(seed=seed, sites=codes, length=length_per_site, block_sizes=p.randomisation.block_sizes,
                             arms=p.arms, site_order=p.site_codes)
    name = _list_name(name) or f"list {_now():%Y-%m-%d}"
    with transaction.atomic():
        return _create_list(user=user, actor=Actor.of(user, request_id), entries=entries, name=name,
                            source="generated", seed=f"{seed:032x}", block_sizes=p.randomisation.block_sizes,
                            length=length_per_site)


def import_list(*, user: User, text: str, name: str, request_id: str = "") -> RandomisationList:
    """Import a list made elsewhere (CSV ``site,position,number,block,block_size,arm``) after checking it."""
    require(user, Perm.MANAGE_RANDOMISATION)
    p = protocol_mod.load()
    try:
        entries = lists.parse(text, sites=p.site_codes, arms=p.arms, block_sizes=p.randomisation.block_sizes)
    except ValueError as exc:
        raise Refused(_("the list was not imported: %(problems)s") % {"problems": exc}, field="file") from None
    name = _list_name(name) or f"imported {_now():%Y-%m-%d}"
    length = max(sum(1 for e in entries if e.site == s) for s in {e.site for e in entries})
    with transaction.atomic():
        return _create_list(user=user, actor=Actor.of(user, request_id), entries=entries, name=name,
                            source="imported", seed="", block_sizes=p.randomisation.block_sizes, length=length)


def retire_list(rlist: RandomisationList, *, user: User, reason: str, request_id: str = "") -> RandomisationList:
    require(user, Perm.MANAGE_RANDOMISATION)
    return audit.update(rlist, actor=Actor.of(user, request_id), reason=reason, active=False)


def list_entries(rlist: RandomisationList) -> list[lists.Entry]:
    return [lists.Entry(s.site.code, s.position, s.number, s.block, s.block_size, s.arm)
            for s in rlist.slots.select_related("site").order_by("site__code", "position")]


def verify_list(rlist: RandomisationList) -> bool:
    """True when the slots stored still hash to the list's manifest SHA-256."""
    return lists.sha256(list_entries(rlist)) == rlist.sha256


# ---------------------------------------------------------------- packs and their ledger

def _pack_number() -> str:
    return f"PK-{secrets.randbelow(900000) + 100000}"


def create_packs(*, user: User, count_per_arm: int, request_id: str = "") -> list[Pack]:
    """Label ``count_per_arm`` packs of each arm at the pharmacy, with random numbers in random order."""
    require(user, Perm.MANAGE_PACKS)
    if not isinstance(count_per_arm, int) or not 1 <= count_per_arm <= 1000:
        raise Refused(_("packs per arm must be a whole number from 1 to %(max)s") % {"max": 1000},
                      field="count_per_arm")
    arms = [a for a in protocol_mod.load().arms for _ in range(count_per_arm)]
    secrets.SystemRandom().shuffle(arms)
    actor = Actor.of(user, request_id)
    packs = []
    with transaction.atomic():
        taken = set(Pack.objects.values_list("number", flat=True))
        for arm in arms:
            number = _pack_number()
            while number in taken:
                number = _pack_number()
            taken.add(number)
            pack = audit.create(Pack, actor=actor, number=number, arm=arm, status=Pack.Status.CENTRAL, site=None,
                                created_at=_now())
            audit.create(PackEvent, actor=actor, pack=pack, kind=PackEvent.Kind.CREATED, site=None, at=_now(),
                         by=user)
            packs.append(pack)
    return packs


# kind -> (statuses it may follow, status after)
_TRANSITIONS = {
    PackEvent.Kind.RECEIVED: ((Pack.Status.CENTRAL,), Pack.Status.AT_SITE),
    PackEvent.Kind.RETURNED: ((Pack.Status.AT_SITE, Pack.Status.DISPENSED), Pack.Status.RETURNED),
    PackEvent.Kind.DESTROYED: ((Pack.Status.CENTRAL, Pack.Status.AT_SITE, Pack.Status.RETURNED),
                               Pack.Status.DESTROYED),
}


def _cannot(kind: str) -> str:
    """Why a pack cannot take this event, one whole sentence per event (placeholders: pack, status)."""
    if kind == PackEvent.Kind.RECEIVED:
        return _("pack %(pack)s is %(status)s; it cannot be received at a site")
    if kind == PackEvent.Kind.RETURNED:
        return _("pack %(pack)s is %(status)s; it cannot be returned")
    return _("pack %(pack)s is %(status)s; it cannot be destroyed")


def pack_event(*, user: User, numbers: list[str], kind: str, site_code: str = "", note: str = "",
               request_id: str = "") -> list[Pack]:
    """Append ``received`` (at ``site_code``), ``returned`` or ``destroyed`` to the ledger of packs."""
    require(user, Perm.MANAGE_PACKS)
    if kind not in _TRANSITIONS:
        raise Refused(_("the event (kind) must be one of: %(kinds)s") % {"kinds": ", ".join(_TRANSITIONS)},
                      field="kind")
    numbers = [n.strip().upper() for n in numbers if n and n.strip()]
    if not numbers:
        raise Refused(_("give at least one pack number"), field="numbers")
    site = None
    if kind == PackEvent.Kind.RECEIVED:
        site = Site.objects.filter(code=(site_code or "").upper()).first()
        if site is None:
            raise Refused(_("unknown site %(site)s") % {"site": repr(site_code)}, field="site")
    if len(note) > 400:
        raise Refused(_("the note must be at most %(limit)s characters") % {"limit": 400}, field="note")
    allowed, after = _TRANSITIONS[kind]
    actor = Actor.of(user, request_id)
    out = []
    with transaction.atomic():
        packs = {p.number: p for p in Pack.objects.select_for_update().filter(number__in=numbers)}
        unknown = [n for n in numbers if n not in packs]
        if unknown:
            raise Refused(_("unknown pack %(packs)s") % {"packs": ", ".join(unknown[:10])}, field="numbers")
        for n in numbers:
            pack = packs[n]
            if pack.status not in allowed:
                raise Refused(_cannot(kind) % {"pack": n, "status": pack.get_status_display()}, field="numbers",
                              status=409)
            values = {"status": after}
            if site is not None:
                values["site"] = site
            pack = audit.update(pack, actor=actor, reason=f"pack {kind}", **values)
            audit.create(PackEvent, actor=actor, pack=pack, kind=kind, site=site or pack.site, at=_now(), by=user,
                         note=note)
            out.append(pack)
    return out


# ---------------------------------------------------------------- randomisation

@dataclass(frozen=True)
class Randomised:
    """What the bedside needs after a randomisation (never the arm)."""

    participant: str
    randomisation_number: int
    pack_number: str
    randomised_at: dt.datetime
    weight_kg: float
    weight_estimated: bool
    infusion_rate_ml_per_h: float
    planned_volume_ml: float
    duration_hours: float
    concentration_ng_per_ml: float
    dose_ng_per_kg_min: float
    request_id: str

    def summary(self) -> str:
        return (f"{self.participant}: randomisation number {self.randomisation_number}, pack {self.pack_number}, "
                f"{self.infusion_rate_ml_per_h:.2f} mL/h, {self.planned_volume_ml:.1f} mL over "
                f"{self.duration_hours:g} h")


def _result(a: Allocation) -> Randomised:
    i = protocol_mod.load().intervention
    return Randomised(participant=a.participant.number, randomisation_number=a.randomisation_number,
                      pack_number=a.pack.number, randomised_at=a.allocated_at, weight_kg=a.weight_kg,
                      weight_estimated=bool(a.participant.weight_estimated),
                      infusion_rate_ml_per_h=a.infusion_rate_ml_per_h, planned_volume_ml=a.planned_volume_ml,
                      duration_hours=i.duration_hours, concentration_ng_per_ml=i.concentration_ng_per_ml,
                      dose_ng_per_kg_min=i.dose_ng_per_kg_min, request_id=a.request_id)


def _pack_for(site: Site, arm: str) -> Pack | None:
    """A pack of the slot's arm at the site, drawn at random (locked), or None.

    Random, not the lowest number: staff who see which packs a site holds would otherwise learn, from each
    pack dispensed past a lower-numbered one, that the two hold different arms. And None whenever *any* arm
    has run out at the site, so a refusal never depends on which arm the next slot holds."""
    available = Pack.objects.filter(site=site, status=Pack.Status.AT_SITE)
    if available.values("arm").distinct().count() < len(protocol_mod.load().arms):
        return None
    candidates = list(available.select_for_update(skip_locked=True).filter(arm=arm))
    return secrets.choice(candidates) if candidates else None


def _same_request(participant: Participant, request_id: str) -> Randomised | None:
    a = Allocation.objects.select_related("participant", "pack").filter(request_id=request_id).first()
    if a is None:
        return None
    if a.participant_id != participant.pk:
        raise Refused(_("this request id was already used to randomise another participant; send a new one"),
                      field="request_id", status=409)
    return _result(a)


def randomise(participant: Participant, *, user: User, weight_kg, weight_estimated: bool,
              request_id: str, clock: Callable[[], dt.datetime] | None = None) -> Randomised:
    """Randomise an enrolled participant. Refused unless eligible, the guardian has consented (and nobody
    has refused or withdrawn since), not yet randomised, and a pack of the allocated arm is at the site.
    ``clock`` (default: now) gives the randomisation time; only the demo loader and tests pass one (pages and
    the API never do), to enter a trial that started in the past."""
    require(user, Perm.RANDOMISE)
    require_site_staff(user, participant.site_id, to="randomise its patients")
    request_id = (request_id or "").strip()
    if not request_id or len(request_id) > 80:
        raise Refused(_("the request id is required (1 to 80 characters; the same id makes a retry safe)"),
                      field="request_id")
    done = _same_request(participant, request_id)
    if done:
        return done
    i = protocol_mod.load().intervention
    if weight_estimated not in (True, False):
        raise Refused(_("say whether the weight is estimated (true) or measured (false)"), field="weight_estimated")
    try:
        weight = float(weight_kg)
        rate = dosing.infusion_rate_ml_per_h(weight)
        volume = dosing.planned_volume_ml(weight)
    except (TypeError, ValueError):
        raise Refused(_("the weight must lie between %(min)s and %(max)s kg; got %(got)s")
                      % {"min": _number(i.min_weight_kg), "max": _number(i.max_weight_kg), "got": repr(weight_kg)},
                      field="weight_kg") from None
    actor = Actor.of(user, request_id)
    with transaction.atomic():
        site = Site.objects.select_for_update().get(pk=participant.site_id)  # one randomisation per site at a time
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        done = _same_request(participant, request_id)
        if done:
            return done
        if participant.randomised_at is not None:
            raise Refused(_("%(participant)s is already randomised (randomisation number %(number)s)")
                          % {"participant": participant.number, "number": participant.randomisation_number},
                          status=409)
        screening = Screening.objects.select_for_update().get(pk=participant.screening_id)
        if screening.assessment != "eligible":
            raise Refused(_("%(participant)s is not eligible according to the screening")
                          % {"participant": participant.number}, status=409)
        if not participant.consent_events.filter(kind="guardian_consent").exists():
            raise Refused(_("the scientific guardian's consent must be recorded before randomisation"), status=409)
        if not participant.new_data_allowed:
            raise Refused(_("consent was refused or withdrawn for %(participant)s: it cannot be randomised")
                          % {"participant": participant.number}, status=409)
        rlist = RandomisationList.objects.filter(active=True).first()
        if rlist is None:
            raise Refused(_("no randomisation list is active: the pharmacy must generate or import one"), status=409)
        slot = (Slot.objects.select_for_update().filter(rlist=rlist, site=site, used_at__isnull=True)
                .order_by("position").first())
        if slot is None:
            raise Refused(_("the randomisation list for %(site)s is used up: the pharmacy must add a list")
                          % {"site": site.code}, status=409)
        pack = _pack_for(site, slot.arm)
        if pack is None:  # the same words whatever the arm: the message must not hint at it
            raise Refused(_("no trial drug pack is available at %(site)s: the pharmacy must send packs before "
                            "randomisation") % {"site": site.code}, field="site", status=409)
        now = (clock or _now)()
        reason = f"randomisation of {participant.number}"
        audit.update(slot, actor=actor, reason=reason, used_at=now)
        audit.update(pack, actor=actor, reason=reason, status=Pack.Status.DISPENSED)
        audit.create(PackEvent, actor=actor, pack=pack, kind=PackEvent.Kind.DISPENSED, site=site, at=now, by=user,
                     participant=participant)
        allocation = audit.create(Allocation, actor=actor, participant=participant, slot=slot, pack=pack,
                                  randomisation_number=slot.number, allocated_at=now, allocated_by=user,
                                  request_id=request_id, weight_kg=weight, infusion_rate_ml_per_h=rate,
                                  planned_volume_ml=volume)
        audit.update(participant, actor=actor, reason=reason, weight_kg=weight, weight_estimated=weight_estimated,
                     randomised_at=now, randomisation_number=slot.number)
        audit.update(screening, actor=actor, reason=reason, outcome=Screening.Outcome.RANDOMISED)
        allocation.participant = participant
    return _result(allocation)


# ---------------------------------------------------------------- emergency unblinding

UNBLIND_ATTEMPTS = "allocation.unblind_attempts"  # audit object type of password re-entries, keyed by username

def emergency_unblind(participant: Participant, *, user: User, reason: str, password: str, code: str = "",
                      request_id: str = "") -> str:
    """Reveal the arm of one participant to this investigator: reason and password (and a second-factor code if
    they have an authenticator) required; audited;
    the sponsor is told by e-mail (without the arm). Returns the arm."""
    require(user, Perm.EMERGENCY_UNBLIND)
    require_site_staff(user, participant.site_id, to="unblind its participants")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise Refused(_("give the clinical reason for unblinding (at least %(min)s characters)") % {"min": 10},
                      field="reason")
    if len(reason) > 2000:
        raise Refused(_("the reason must be at most %(limit)s characters") % {"limit": 2000}, field="reason")
    actor = Actor.of(user, request_id)
    allocation = Allocation.objects.select_related("slot").filter(participant=participant).first()
    if allocation is None:
        raise Refused(_("%(participant)s is not randomised: there is nothing to unblind")
                      % {"participant": participant.number}, status=409)
    refusal = None
    with transaction.atomic():  # password re-entries by one user are throttled like logins
        serialise_attempts(f"shine-unblind:{user.username}")
        if too_many_failures(object_type=UNBLIND_ATTEMPTS, object_id=user.username, failure="unblind_refused",
                             success="unblind_password_ok"):
            audit.record(actor=actor, action="unblind_refused_locked", object_type=UNBLIND_ATTEMPTS,
                         object_id=user.username[:64], reason=f"participant {participant.number}")
            refusal = Refused(_("too many wrong passwords: unblinding is locked for %(minutes)s minutes (any other "
                                "investigator of the site can unblind)") % {"minutes": settings.LOGIN_LOCKOUT_MINUTES},
                              field="password", status=403)
        elif not password or not user.check_password(password):
            audit.record(actor=actor, action="unblind_refused", object_type=UNBLIND_ATTEMPTS,
                         object_id=user.username[:64], reason=f"wrong password (participant {participant.number})")
            refusal = Refused(_("the password is wrong: re-enter your own password to unblind"), field="password",
                              status=403)
        elif second_factor.has_device(user) and not second_factor.check(user, code, purpose="emergency unblinding",
                                                                         actor=actor):
            audit.record(actor=actor, action="unblind_refused", object_type=UNBLIND_ATTEMPTS,
                         object_id=user.username[:64],
                         reason=f"wrong second-factor code (participant {participant.number})")
            refusal = Refused(_("wrong or already used code: enter %(help)s to unblind")
                              % {"help": second_factor.CODE_HELP}, field="code", status=403)
        else:  # the success that ends a run of failures, in the unblinding's own transaction
            audit.record(actor=actor, action="unblind_password_ok", object_type=UNBLIND_ATTEMPTS,
                         object_id=user.username[:64], reason=f"participant {participant.number}")
            unblinding = audit.create(Unblinding, actor=actor, participant=participant, user=user, at=_now(),
                                      clinical_reason=reason)
    if refusal is not None:
        raise refusal
    _notify_sponsor(unblinding, actor)
    return allocation.slot.arm


def susar_unblind(participant: Participant, *, user: User, reason: str, request_id: str = "") -> tuple[Unblinding, str]:
    """Reveal one participant's arm to pharmacovigilance for a SUSAR assessment (called by the safety services
    inside their transaction): audited as an unblinding by this user; returns it and the arm."""
    require(user, Perm.UNBLIND_SUSAR)
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_("give the reason for the SUSAR unblinding"), field="reason")
    if len(reason) > 2000:
        raise Refused(_("the reason must be at most %(limit)s characters") % {"limit": 2000}, field="reason")
    allocation = Allocation.objects.select_related("slot").filter(participant=participant).first()
    if allocation is None:
        raise Refused(_("%(participant)s is not randomised: there is nothing to unblind")
                      % {"participant": participant.number}, status=409)
    with transaction.atomic():
        unblinding = audit.create(Unblinding, actor=Actor.of(user, request_id), participant=participant, user=user,
                                  at=_now(), clinical_reason=reason)
    return unblinding, allocation.slot.arm


def _notify_sponsor(unblinding: Unblinding, actor: Actor) -> None:
    """Tell the sponsor's configured addresses, in the trial's language (settings.LANGUAGE_CODE), never the arm."""
    p = unblinding.participant
    trial = protocol_mod.load().name
    with translation.override(settings.LANGUAGE_CODE):
        values = {"trial": trial, "participant": p.number, "site": p.site.code,
                  "investigator": unblinding.user.full_name or unblinding.user.username,
                  "username": unblinding.user.username,
                  "time": f"{local_datetime(unblinding.at)} {timezone.localtime(unblinding.at):%Z}".strip(),
                  "reason": unblinding.clinical_reason}
        subject = _("%(trial)s: emergency unblinding of %(participant)s") % values
        body = "\n".join([
            _("Emergency unblinding in the %(trial)s trial.") % values, "",
            _("Participant: %(participant)s (site %(site)s)") % values,
            _("Investigator: %(investigator)s (%(username)s)") % values,
            _("Time: %(time)s") % values,
            _("Reason: %(reason)s") % values, "",
            _("The allocation was shown to the investigator only; it is not part of this message."), ""])
    recipients = list(settings.SPONSOR_EMAILS)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        action = "sponsor_notified"
    except Exception:  # the unblinding stands; the failure is audited and logged for follow-up
        log.exception("sponsor notification of unblinding %s failed", unblinding.pk)
        action = "sponsor_notification_failed"
    with transaction.atomic():
        audit.record(actor=actor, action=action, object_type="allocation.unblinding", object_id=str(unblinding.pk),
                     changes={"recipients": [None, recipients]})
