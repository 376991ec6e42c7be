"""``shine safety remind``: mail pharmacovigilance every clock due within ``safety.remind_before_hours`` or
overdue, once per clock and deadline (a rerun mails nothing new), and say so in one line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shine import protocol as protocol_mod
from shine.web.formats import local_datetime

from . import selectors
from .models import Reminder
from .services import pv_recipients


@dataclass(frozen=True)
class RemindResult:
    due: int       # clocks due soon or overdue
    mailed: int    # of them, newly reminded in this run

    def summary(self) -> str:
        return _("safety remind: %(due)s clock(s) due or overdue, %(mailed)s newly mailed") % {
            "due": self.due, "mailed": self.mailed}


def remind(*, now: dt.datetime | None = None) -> RemindResult:
    """The mail goes to configured addresses (pharmacovigilance), not to users: in the trial's default
    language; the summary line is in the language of the command line."""
    with translation.override(settings.LANGUAGE_CODE):
        return _remind(now or timezone.now())


def _remind(now: dt.datetime) -> RemindResult:
    horizon = now + dt.timedelta(hours=protocol_mod.load().safety.remind_before_hours)
    due = [i for i in selectors.all_running_clocks(now=now) if i.due <= horizon]
    new = []
    with transaction.atomic():
        seen = set(Reminder.objects.filter(key__in=[i.key for i in due]).values_list("key", flat=True))
        for item in due:
            if item.key in seen:
                continue
            try:
                with transaction.atomic():
                    Reminder.objects.create(key=item.key, due=item.due, sent_at=now)
            except IntegrityError:  # a concurrent run took it
                continue
            new.append(item)
        if new:
            lines = [f"{local_datetime(i.due)} {i.state_words:<8} {i.case}: {i.what}" for i in new]
            subject = ngettext("%(trial)s: %(n)s safety clock due", "%(trial)s: %(n)s safety clocks due",
                               len(new)) % {"trial": protocol_mod.load().name, "n": len(new)}
            # inside the transaction: a failed mail leaves no reminder row behind, so the next run retries
            send_mail(subject, _("Due or overdue:") + "\n\n" + "\n".join(lines) + "\n", settings.DEFAULT_FROM_EMAIL,
                      pv_recipients())
    return RemindResult(due=len(due), mailed=len(new))
