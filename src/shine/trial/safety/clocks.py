"""Reporting clocks of serious adverse events: plain functions of stored times (no Django, no database).

Times are aware datetimes. A clock in hours counts elapsed hours (24 h is 24 h, also across a change of
summer time); a clock in days counts calendar days in the trial's time zone and ends at the same wall-clock
time (7 days from Saturday 10:00 is Saturday 10:00, whether or not the clocks changed in between). A clock
is met when its report was made at or before the deadline, to the second.

The starts are stored when the fact that starts them is first recorded (see the safety services); nothing
here looks at any other field, so editing one cannot move a deadline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC


def gettext_noop(message: str) -> str:
    """Marks a message for the safety catalogue (translated where it is shown, see ``Clock.label``)."""
    return message


SAE_REPORT = "sae_report"                # investigator → sponsor
SUSAR_INITIAL = "susar_initial"          # sponsor → authority, 7 or 15 days
SUSAR_FOLLOWUP = "susar_followup"        # fatal or life-threatening: follow-up 8 days after the initial deadline
SUSAR_RESTART = "susar_restart"          # became fatal or life-threatening after the first decision: 7 days again
DEATH_DECISION = "death_decision"        # a recorded death with no fatal case yet: site's 24 h

LABELS = {SAE_REPORT: gettext_noop("SAE report to the sponsor"),
          SUSAR_INITIAL: gettext_noop("SUSAR report to the authority"),
          SUSAR_FOLLOWUP: gettext_noop("SUSAR follow-up report"),
          SUSAR_RESTART: gettext_noop("SUSAR report (became fatal or life-threatening)"),
          DEATH_DECISION: gettext_noop("SAE report of a recorded death")}


@dataclass(frozen=True)
class Rules:
    sae_report_hours: int
    susar_fatal_days: int
    susar_fatal_followup_days: int
    susar_other_days: int
    tz: str = "Europe/Copenhagen"

    @classmethod
    def of(cls, safety, tz: str = "Europe/Copenhagen") -> Rules:
        return cls(safety.sae_report_hours, safety.susar_fatal_days, safety.susar_fatal_followup_days,
                   safety.susar_other_days, tz)


@dataclass(frozen=True)
class Clock:
    kind: str
    starts: dt.datetime
    due: dt.datetime
    met_at: dt.datetime | None = None

    @property
    def label(self) -> str:
        """The clock's name in the active language (Django's under the web app; still no Django import here)."""
        from shine.i18n import _

        return _(LABELS[self.kind])

    def state(self, now: dt.datetime) -> str:
        """``met``, ``late`` (reported after the deadline), ``running`` or ``overdue``."""
        if self.met_at is not None:
            return "met" if self.met_at <= self.due else "late"
        return "running" if now <= self.due else "overdue"

    def running(self) -> bool:
        return self.met_at is None


def _aware(t: dt.datetime, name: str) -> dt.datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")
    return t


def add_hours(t: dt.datetime, hours: int) -> dt.datetime:
    """Elapsed hours (computed in UTC, so a change of summer time neither adds nor removes one)."""
    return _aware(t, "start").astimezone(UTC) + dt.timedelta(hours=hours)


def add_days(t: dt.datetime, days: int, tz: str) -> dt.datetime:
    """The same wall-clock time ``days`` calendar days later in ``tz``, as UTC.

    A wall-clock time that does not exist that day (skipped by the spring change) is read with the offset
    before the change, i.e. one hour later in real time; one that occurs twice (autumn) is the first.
    """
    zone = ZoneInfo(tz)
    local = _aware(t, "start").astimezone(zone)
    wall = local.replace(tzinfo=None) + dt.timedelta(days=days)
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def sae_clock(site_aware_at: dt.datetime, sponsor_aware_at: dt.datetime | None, rules: Rules) -> Clock:
    """The investigator's report to the sponsor: within ``sae_report_hours`` of the site becoming aware."""
    return Clock(SAE_REPORT, site_aware_at, add_hours(site_aware_at, rules.sae_report_hours), sponsor_aware_at)


def death_clock(entered_at: dt.datetime, rules: Rules) -> Clock:
    """A death recorded on the records forms and not yet reported as a fatal SAE."""
    return Clock(DEATH_DECISION, entered_at, add_hours(entered_at, rules.sae_report_hours))


def earlier(*times: dt.datetime | None) -> dt.datetime:
    known = [t for t in times if t is not None]
    if not known:
        raise ValueError("a SUSAR clock needs the time the site or the sponsor became aware")
    return min(known)


def susar_clocks(*, aware_from: dt.datetime, fatal: bool, initial_sent_at: dt.datetime | None = None,
                 followup_sent_at: dt.datetime | None = None, restart_from: dt.datetime | None = None,
                 restart_sent_at: dt.datetime | None = None, rules: Rules) -> list[Clock]:
    """The sponsor's clocks of a SUSAR to report.

    ``aware_from``: the earlier of the site's and the sponsor's awareness. ``fatal``: fatal or
    life-threatening when the SUSAR was decided (7 days, then the follow-up 8 days after that deadline;
    otherwise 15 days). ``restart_from``: when the sponsor learnt that a SUSAR decided as neither became
    fatal or life-threatening (a 7-day clock from then).
    """
    if fatal:
        initial = Clock(SUSAR_INITIAL, aware_from, add_days(aware_from, rules.susar_fatal_days, rules.tz),
                        initial_sent_at)
        followup = Clock(SUSAR_FOLLOWUP, initial.due,
                         add_days(initial.due, rules.susar_fatal_followup_days, rules.tz), followup_sent_at)
        return [initial, followup]
    clocks = [Clock(SUSAR_INITIAL, aware_from, add_days(aware_from, rules.susar_other_days, rules.tz),
                    initial_sent_at)]
    if restart_from is not None:
        clocks.append(Clock(SUSAR_RESTART, restart_from, add_days(restart_from, rules.susar_fatal_days, rules.tz),
                            restart_sent_at))
    return clocks
