"""The database lock and its pre-lock checklist (docs/monitoring.md, "Database lock").

A data manager locks the trial database once every item of the checklist is green; the refusal lists every
failing item in words. While the lock is in force a trigger on the audit trail (migration 0002) makes the
database refuse every audited write on trial data — page, API or command alike, since each goes through the
audit services — and the audit service turns that into a 409 refusal. Only the sponsor's trial manager lifts
the lock, with a reason; both are audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from shine.trial.accounts.models import User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.enrollment.models import Participant
from shine.trial.errors import Refused, entered_text

from . import casebook, field_sdv, labels, selectors
from .models import DatabaseLock, Query

REASON_LIMIT = 400
SHOWN = 12  # failures named per item; the rest are counted
# schedule statuses that leave an expected form not done: nothing here codes a form "not done"
NOT_DONE = ("upcoming", "due", "overdue", "incomplete", "missed")
SAE_WINDOW_DAYS = 7  # serious adverse events are collected on days 0-7 (PROTOCOL.md), deaths included


@dataclass
class Item:
    code: str
    title: str  # lazy: in the reader's language where it is shown
    failures: list[str] = field(default_factory=list)
    more: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def add(self, text: str) -> None:
        if len(self.failures) < SHOWN:
            self.failures.append(text)
        else:
            self.more += 1

    @property
    def summary(self) -> str:
        if self.ok:
            return _("%(title)s: yes") % {"title": self.title}
        if self.more:
            return _("%(title)s: no — %(failures)s; and %(more)s more") % {
                "title": self.title, "failures": "; ".join(self.failures), "more": self.more}
        return _("%(title)s: no — %(failures)s") % {"title": self.title, "failures": "; ".join(self.failures)}

    def as_dict(self) -> dict:
        """The item as stored with the lock and given by the API: in the trial's language."""
        with translation.override(settings.LANGUAGE_CODE):
            title = str(self.title)
        return {"code": self.code, "title": title, "ok": self.ok, "failures": self.failures, "more": self.more}


class ChecklistFailed(Refused):
    def __init__(self, items: list[Item]):
        failing = [i for i in items if not i.ok]
        super().__init__(ngettext("the database cannot be locked, %(n)s item of the checklist failing: %(items)s",
                                  "the database cannot be locked, %(n)s items of the checklist failing: %(items)s",
                                  len(failing)) % {"n": len(failing), "items": " | ".join(i.summary for i in failing)},
                         status=409)
        self.items = items


def _participants() -> list[Participant]:
    return list(Participant.objects.filter(randomised_at__isnull=False).select_related("site")
                .order_by("site__code", "randomised_at", "pk"))


def _queries(item: Item) -> None:
    for q in Query.objects.filter(state__in=selectors.ACTIVE).select_related("participant").order_by("number"):
        item.add(_("%(query)s is %(state)s (%(participant)s, %(target)s)") % {
            "query": q.label, "state": q.get_state_display(), "participant": q.participant.number,
            "target": labels.query_target(q)})


def _sdv(item: Item, people: list[Participant], entries: dict[int, list]) -> None:
    if selectors.current_plan() is None:
        item.add(_("no SDV plan has been saved"))
        return
    for p in people:
        prog = selectors.progress(p, entries[p.pk])
        fields = sum(s.reverify for s in field_sdv.summaries(p, entries[p.pk]).values())
        parts = [what % {"n": n} for n, what in (
            (prog.to_verify, ngettext("%(n)s record to verify", "%(n)s records to verify", prog.to_verify)),
            (prog.reverify, ngettext("%(n)s record to re-verify", "%(n)s records to re-verify", prog.reverify)),
            (fields, ngettext("%(n)s field to re-verify", "%(n)s fields to re-verify", fields))) if n]
        if parts:
            item.add(_("%(participant)s: %(what)s") % {"participant": p.number, "what": ", ".join(parts)})


def _signatures(item: Item, people: list[Participant], entries: dict[int, list]) -> None:
    for p in people:
        sigs = selectors.signatures(p, entries[p.pk])
        if not sigs:
            item.add(_("%(participant)s: casebook not signed") % {"participant": p.number})
        elif not any(s.valid for s in sigs):
            item.add(_("%(participant)s: signature broken by a later change, re-sign required")
                     % {"participant": p.number})


def _schedule(item: Item, people: list[Participant], now: dt.datetime) -> None:
    from shine.trial.records import schedule as sched
    from shine.trial.records import selectors as records

    for start in range(0, len(people), 200):
        part = people[start:start + 200]
        facts = records.facts(part, now)
        for p in part:
            for it in sched.items(facts[p.pk]):
                if it.status in NOT_DONE:
                    what = {"participant": p.number, "form": it.label, "status": it.status_label, "why": it.why}
                    item.add((_("%(participant)s: %(form)s %(status)s (%(why)s)") if it.why
                              else _("%(participant)s: %(form)s %(status)s")) % what)


def _safety(item: Item, people: list[Participant]) -> None:
    from shine.trial.records.models import Death
    from shine.trial.safety.models import CaseVersion

    fatal_cases: dict[int, list[str]] = {}
    latest: dict[int, CaseVersion] = {}
    for v in CaseVersion.objects.select_related("case", "case__participant").order_by("case_id", "version"):
        latest[v.case_id] = v
    for v in latest.values():
        if v.death:
            fatal_cases.setdefault(v.case.participant_id, []).append(v.case.number)
    deaths = {d.participant_id: d for d in Death.objects.filter(participant__in=people)}
    by_pk = {p.pk: p for p in people}
    for pid, cases in fatal_cases.items():
        if pid not in deaths and pid in by_pk:
            item.add(_("%(participant)s: safety case %(cases)s reports a death, the casebook has none")
                     % {"participant": by_pk[pid].number, "cases": ", ".join(cases)})
    for pid, d in deaths.items():
        p = by_pk[pid]
        if d.died_at - p.randomised_at <= dt.timedelta(days=SAE_WINDOW_DAYS + 1) and pid not in fatal_cases:
            item.add(_("%(participant)s: died on study day %(day)s (SAE window) with no safety case reporting the "
                       "death") % {"participant": p.number, "day": (d.died_at - p.randomised_at).days + 1})


def _flagged(item: Item, people: list[Participant]) -> None:
    from shine.trial.monitoring.deviations import REVIEWABLE

    for form, model in REVIEWABLE.items():
        for r in model.objects.filter(needs_review=True, participant__in=people).select_related("participant"):
            item.add(_("%(participant)s: %(form)s record %(record)s has flagged values awaiting review") % {
                "participant": r.participant.number, "form": labels.form_label(form), "record": r.pk})


def checklist(now: dt.datetime | None = None) -> list[Item]:
    """The pre-lock checklist over the whole trial, each item with what fails it."""
    now = now or timezone.now()
    people = _participants()
    items = [Item("queries", gettext_lazy("No query open, answered or held back")),
             Item("sdv", gettext_lazy("Source data verification complete per the SDV plan")),
             Item("signatures", gettext_lazy("Every casebook signed by an investigator, unchanged since")),
             Item("schedule", gettext_lazy("Every expected form done (no incomplete day or missing form per the "
                                           "schedule)")),
             Item("safety", gettext_lazy("Safety cases reconciled with the deaths in the casebooks")),
             Item("review", gettext_lazy("Every flagged value reviewed"))]
    _queries(items[0])
    entries = {p.pk: casebook.entries(p) for p in people}  # read once: SDV and signatures both need them
    _sdv(items[1], people, entries)
    _signatures(items[2], people, entries)
    _schedule(items[3], people, now)
    _safety(items[4], people)
    _flagged(items[5], people)
    return items


def current() -> DatabaseLock | None:
    return DatabaseLock.objects.filter(unlocked_at__isnull=True).first()


def history() -> list[DatabaseLock]:
    return list(DatabaseLock.objects.select_related("locked_by", "unlocked_by"))


def lock_database(*, user: User, reason: str, request_id: str = "") -> DatabaseLock:
    """Lock the trial database when the checklist is green; otherwise refuse, naming every failing item."""
    require(user, Perm.MANAGE_DATA)
    reason = entered_text("reason", reason, label=_("reason"), limit=REASON_LIMIT, required=True)
    with transaction.atomic():
        if DatabaseLock.objects.select_for_update().filter(unlocked_at__isnull=True).exists():
            raise Refused(_("the database is already locked"), status=409)
        items = checklist()
        if not all(i.ok for i in items):
            raise ChecklistFailed(items)
        return audit.create(DatabaseLock, actor=Actor.of(user, request_id), lock_reason=reason,
                            checklist=[i.as_dict() for i in items], locked_by=user, locked_at=timezone.now())


def unlock_database(*, user: User, reason: str, request_id: str = "") -> DatabaseLock:
    """Lift the database lock (the sponsor's trial manager only), with a reason."""
    require(user, Perm.UNLOCK_DATABASE)
    reason = entered_text("reason", reason, label=_("reason"), limit=REASON_LIMIT, required=True)
    with transaction.atomic():
        lk = DatabaseLock.objects.select_for_update().filter(unlocked_at__isnull=True).first()
        if lk is None:
            raise Refused(_("the database is not locked"), status=409)
        return audit.update(lk, actor=Actor.of(user, request_id), reason=f"database unlock: {reason}",
                            unlock_reason=reason, unlocked_by=user, unlocked_at=timezone.now())
