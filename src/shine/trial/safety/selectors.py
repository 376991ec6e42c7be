"""Reads of safety cases, scoped to the user's sites, and the clocks and views derived from them.

What a blinded user sees of a case never depends on the arm: a SUSAR decision is shown as "assessed by
pharmacovigilance" to everyone but the user who unblinded that participant, and SUSAR clocks (which run only
for the active arm) are listed only for that user.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from shine import protocol as protocol_mod
from shine.trial.accounts.models import User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import scope_to_sites

from . import clocks as clk
from .models import Case, CaseVersion, ReferenceSafetyInformation, SusarDecision


def may_view(user: User) -> bool:
    return user.is_authenticated and any(user.can(p) for p in (Perm.REPORT_SAFETY, Perm.VIEW_SAFETY,
                                                               Perm.ASSESS_SAFETY))


def cases_for(user: User) -> QuerySet[Case]:
    if not may_view(user):
        raise PermissionDenied(_("your role may not view safety cases"))
    return scope_to_sites(Case.objects.select_related("participant", "site"), user)


def case_for_user(user: User, number: str, *, write: bool = False) -> Case:
    """The case by its number (``HGH-0007-E1``), scoped as ``cases_for``; 404 for another site's, with
    ``write`` 403 unless the user is site staff who report safety."""
    key = (number or "").strip().upper()
    case = cases_for(user).filter(number=key).first() if key.isascii() and "\x00" not in key else None
    if case is None:
        raise Http404(_("no such case"))
    if write and (user.role_def.cross_site or not user.can(Perm.REPORT_SAFETY)):
        raise PermissionDenied(_("only staff of the participant's site may add to the case"))
    return case


def rsi_versions(user: User) -> QuerySet[ReferenceSafetyInformation]:
    if not may_view(user):
        raise PermissionDenied(_("your role may not view safety cases"))
    return ReferenceSafetyInformation.objects.select_related("entered_by")


def rules() -> clk.Rules:
    return clk.Rules.of(protocol_mod.load().safety, settings.TIME_ZONE)


def sees_arm(user: User, case: Case) -> bool:
    """Whether this user may see the arm of the case's participant (pharmacovigilance after the SUSAR
    unblinding; no role that views safety sees arms otherwise)."""
    from shine.trial.allocation.selectors import arm_for

    return arm_for(user, case.participant) is not None


def decision_of(case: Case) -> SusarDecision | None:
    """Read afresh (not the case's cached relation): the decision changes after the case was loaded."""
    return SusarDecision.objects.filter(case_id=case.pk).first()


def case_clocks(case: Case, user: User) -> list[clk.Clock]:
    """The case's clocks this user may see: the SAE report for everyone; SUSAR clocks for the unblinded, in
    both outcomes (on placebo each step records that nothing is sent, so the steps cannot tell the arm)."""
    out = []
    if case.site_aware_at is not None:
        out.append(clk.sae_clock(case.site_aware_at, case.sponsor_aware_at, rules()))
    decision = decision_of(case)
    if decision is not None and sees_arm(user, case):
        out += susar_clocks(decision)
    return out


def susar_clocks(decision: SusarDecision) -> list[clk.Clock]:
    return clk.susar_clocks(aware_from=decision.aware_from, fatal=decision.fatal,
                            initial_sent_at=decision.sent_at("initial"), followup_sent_at=decision.sent_at("followup"),
                            restart_from=decision.restart_from, restart_sent_at=decision.sent_at("restart"),
                            rules=rules())


def susar_status(case: Case, user: User) -> str:
    """The SUSAR line of the case, as this user may see it."""
    decision = decision_of(case)
    if decision is None:
        return ""
    if not sees_arm(user, case):
        return _("serious, related and unexpected: assessed by pharmacovigilance (participant unblinded for it)")
    if not decision.reportable:
        if decision.closed_note:
            return _("not reportable (placebo) — closed: %(note)s") % {"note": decision.closed_note}
        return _("not reportable (placebo)")
    return _("SUSAR to report")


# the states of the safety clocks in words (own context: other apps' "running" or "late" mean other things)
STATE_WORDS = {"met": pgettext_lazy("safety clock", "met"), "late": pgettext_lazy("safety clock", "late"),
               "running": pgettext_lazy("safety clock", "running"), "overdue": pgettext_lazy("safety clock", "overdue"),
               "to assess": pgettext_lazy("safety clock", "to assess")}


@dataclass(frozen=True)
class WorkItem:
    case: str             # case number, or the participant's number for a death without a case
    participant: str
    what: str
    due: dt.datetime | None
    state: str            # running, overdue, to assess, death without a fatal SAE
    clock: str = ""

    @property
    def state_words(self) -> str:
        return str(STATE_WORDS.get(self.state, self.state))

    @property
    def key(self) -> str:
        return f"{self.case}:{self.clock or self.what}:{self.due.isoformat() if self.due else ''}"


def worklist(user: User, *, now: dt.datetime | None = None) -> list[WorkItem]:
    """Every running clock the user may see (due first), then serious cases awaiting the sponsor."""
    from shine.trial.records.models import Death

    now = now or timezone.now()
    items: list[WorkItem] = []
    cases = list(cases_for(user).prefetch_related("versions"))
    for case in cases:
        for c in case_clocks(case, user):
            if c.running():
                items.append(WorkItem(case.number, case.participant.number, c.label, c.due, c.state(now), c.kind))
    # deaths on the records forms with no fatal case: a fatal SAE is still to be reported
    fatal = CaseVersion.objects.filter(case__participant=OuterRef("participant"), outcome="fatal")
    deaths = scope_to_sites(Death.objects.select_related("participant"), user, "participant__site") \
        .annotate(reported=Exists(fatal)).filter(reported=False)
    for d in deaths:
        c = clk.death_clock(d.died_at, rules())
        items.append(WorkItem(d.participant.number, d.participant.number,
                              _("death recorded without a fatal SAE report"), c.due, c.state(now), c.kind))
    items.sort(key=lambda i: i.due)
    if user.can(Perm.ASSESS_SAFETY):
        assessed = {(a, v) for a, v in _assessed_versions()}
        for case in cases:
            versions = sorted(case.versions.all(), key=lambda v: v.version)
            last = versions[-1]
            if last.serious and (case.pk, last.version) not in assessed:
                items.append(WorkItem(case.number, case.participant.number,
                                      _("assess version %(version)s") % {"version": last.version}, None, "to assess"))
    return items


def _assessed_versions():
    from .models import Assessment

    return Assessment.objects.values_list("case_id", "case_version")


def all_running_clocks(*, now: dt.datetime) -> list[tuple[Case | None, str, WorkItem]]:
    """Every running clock of the trial, for the reminder command (system side, sees SUSAR clocks)."""
    from shine.trial.records.models import Death

    out = []
    for case in Case.objects.select_related("participant"):
        cs = []
        if case.site_aware_at is not None:
            cs.append(clk.sae_clock(case.site_aware_at, case.sponsor_aware_at, rules()))
        decision = decision_of(case)
        if decision is not None and decision.reportable:
            cs += susar_clocks(decision)
        for c in cs:
            if c.running():
                out.append(WorkItem(case.number, case.participant.number, c.label, c.due, c.state(now), c.kind))
    fatal = CaseVersion.objects.filter(case__participant=OuterRef("participant"), outcome="fatal")
    for d in Death.objects.select_related("participant").annotate(reported=Exists(fatal)).filter(reported=False):
        c = clk.death_clock(d.died_at, rules())
        out.append(WorkItem(d.participant.number, d.participant.number,
                            _("death recorded without a fatal SAE report"), c.due, c.state(now), c.kind))
    return sorted(out, key=lambda i: i.due)
