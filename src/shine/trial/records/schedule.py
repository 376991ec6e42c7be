"""The visit schedule as plain rules over a participant's facts (no database).

Everything is counted from the randomisation time R (PROTOCOL.md, docs/data-model.md): study day *d* is
``[R + (d−1)·24 h, R + d·24 h)``. The protocol module gives the days (``schedule.biobank_days``,
``daily_record_last_day``, ``followup_days`` and ``followup_window_days``).

Statuses: ``done``; ``incomplete`` (a daily record saved with inputs that have neither a value nor a
missing-data code; ``why`` names them); ``upcoming`` (not yet open); ``due`` (open, not yet late); ``overdue``
(late, can still be entered); ``missed`` (its window has closed); ``not_required`` (death, ICU discharge or a
consent stop made it unnecessary; ``why`` says which).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from shine import protocol as protocol_mod
from shine.web.formats import local_date

DAY = dt.timedelta(hours=24)
BASELINE_GRACE = dt.timedelta(hours=24)       # baseline form overdue after this
DAILY_GRACE = dt.timedelta(hours=24)          # a day's record is overdue this long after the day ends
SAMPLE_GRACE = dt.timedelta(hours=24)         # a sample drawn on its day may be entered until then
INFUSION_START_GRACE = dt.timedelta(hours=6)  # infusion log overdue when not started by then
# the statuses in words, in the reader's language (the status codes themselves go to the API)
STATUS_WORDS = {"overdue": pgettext_lazy("schedule", "overdue"), "due": pgettext_lazy("schedule", "due"),
                "incomplete": pgettext_lazy("schedule", "incomplete"),
                "upcoming": pgettext_lazy("schedule", "upcoming"),
                "missed": pgettext_lazy("schedule", "missed"), "done": pgettext_lazy("schedule", "done"),
                "not_required": pgettext_lazy("schedule", "not required")}
URGENCY = {"overdue": 0, "due": 1, "incomplete": 1, "upcoming": 2, "missed": 3, "done": 4, "not_required": 5}


@dataclass(frozen=True)
class Facts:
    randomised_at: dt.datetime
    now: dt.datetime
    baseline_done: bool = False
    daily_days: frozenset = frozenset()
    incomplete_days: tuple = ()               # ((study day, (labels of the inputs without value or code)), …)
    stays: tuple = ()                         # ((admitted_at, discharged_at or None), …)
    died_at: dt.datetime | None = None
    sample_days: frozenset = frozenset()
    infusion_started: bool = False
    infusion_ended: bool = False
    followup_days: frozenset = frozenset()
    data_stop_at: dt.datetime | None = None   # consent refused or withdrawn: no new data from then
    vital_status_allowed: bool = True         # vital status may still be followed after a stop


@dataclass(frozen=True)
class Item:
    form: str                   # baseline, daily, sample, infusion, followup
    label: str
    study_day: int | None
    opens_at: dt.datetime
    overdue_at: dt.datetime     # late from here (for follow-up visits: the window's end)
    status: str
    why: str = ""

    @property
    def status_label(self) -> str:
        return str(STATUS_WORDS.get(self.status, self.status.replace("_", " ")))

    @property
    def urgency(self) -> tuple:
        return (URGENCY[self.status], self.overdue_at)


def day_start(randomised_at: dt.datetime, day: int) -> dt.datetime:
    return randomised_at + (day - 1) * DAY


def study_day_of(randomised_at: dt.datetime, at: dt.datetime) -> int:
    """The study day that contains ``at`` (0 or less before randomisation)."""
    return (at - randomised_at) // DAY + 1


def in_icu_on(facts: Facts, day: int, *, now: dt.datetime | None = None) -> bool:
    """The participant spent part of study ``day`` in the ICU and was alive at its start."""
    start = day_start(facts.randomised_at, day)
    end = start + DAY
    if facts.died_at is not None and facts.died_at <= start:
        return False
    for admitted, discharged in facts.stays:
        stay_end = discharged or facts.died_at or now or facts.now
        if admitted < end and stay_end > start:
            return True
    return False


def _status(now, opens, overdue_at, done, *, closes=None) -> str:
    if done:
        return "done"
    if now < opens:
        return "upcoming"
    if closes is not None and now >= closes:
        return "missed"
    return "overdue" if now >= overdue_at else "due"


def _left_icu_reason(facts: Facts, day: int) -> str:
    start = day_start(facts.randomised_at, day)
    if facts.died_at is not None and facts.died_at <= start:
        return _("died %(date)s") % {"date": local_date(facts.died_at)}
    return _("not in the ICU (discharged)")


def _daily(day: int) -> str:
    return _("Daily ICU record, day %(day)s") % {"day": day}


def items(facts: Facts, protocol=None) -> list[Item]:
    """Every scheduled item of the participant up to now (and the next upcoming ones), in time order."""
    p = protocol or protocol_mod.load()
    s = p.schedule
    R, now = facts.randomised_at, facts.now
    stop = facts.data_stop_at
    out: list[Item] = []

    def stopped(at: dt.datetime, *, vital: bool = False) -> bool:
        return stop is not None and at >= stop and not (vital and facts.vital_status_allowed)

    out.append(Item("baseline", _("Baseline (day 0)"), 0, R, R + BASELINE_GRACE,
                    _status(now, R, R + BASELINE_GRACE, facts.baseline_done)))
    if facts.infusion_ended:
        out.append(Item("infusion", _("Infusion log"), None, R, R + INFUSION_START_GRACE, "done"))
    elif facts.infusion_started:
        # a running infusion needs nothing until its planned end: then its end is due, late a day after
        end = R + p.intervention.duration_hours * dt.timedelta(hours=1)
        out.append(Item("infusion", _("Infusion log: record the end"), None, end, end + DAY,
                        _status(now, end, end + DAY, False)))
    else:
        out.append(Item("infusion", _("Infusion log: record the start"), None, R, R + INFUSION_START_GRACE,
                        _status(now, R, R + INFUSION_START_GRACE, False)))

    current = min(study_day_of(R, now), s.daily_record_last_day)
    left_from = None
    incomplete = dict(facts.incomplete_days)
    for d in range(1, current + 1):
        start = day_start(R, d)
        if d in facts.daily_days:
            if d in incomplete:
                out.append(Item("daily", _daily(d), d, start, start + DAY + DAILY_GRACE,
                                "incomplete", _("no value or code: %(inputs)s") % {
                                    "inputs": ", ".join(map(str, incomplete[d]))}))
                continue
            out.append(Item("daily", _daily(d), d, start, start + DAY + DAILY_GRACE, "done"))
            continue
        if not in_icu_on(facts, d):
            left_from = left_from or d
            continue
        if left_from is not None:
            out.append(Item("daily", _("Daily ICU records, days %(first)s–%(last)s") % {"first": left_from,
                                                                                       "last": d - 1}, left_from,
                            day_start(R, left_from), day_start(R, d), "not_required",
                            _left_icu_reason(facts, left_from)))
            left_from = None
        if stopped(start):
            out.append(Item("daily", _daily(d), d, start, start + DAY, "not_required",
                            _("consent stopped new data")))
            continue
        out.append(Item("daily", _daily(d), d, start, start + DAY + DAILY_GRACE,
                        _status(now, start, start + DAY + DAILY_GRACE, False)))
    if left_from is not None:
        out.append(Item("daily", _("Daily ICU records from day %(day)s") % {"day": left_from}, left_from,
                        day_start(R, left_from),
                        day_start(R, left_from), "not_required", _left_icu_reason(facts, left_from)))

    for d in s.biobank_days:
        start = day_start(R, d)
        label = _("Blood sample, day %(day)s") % {"day": d}
        if d in facts.sample_days:
            out.append(Item("sample", label, d, start, start + DAY, "done"))
        elif facts.died_at is not None and facts.died_at <= start:
            out.append(Item("sample", label, d, start, start + DAY, "not_required", _("died")))
        elif stopped(start):
            out.append(Item("sample", label, d, start, start + DAY, "not_required", _("consent stopped new data")))
        else:
            out.append(Item("sample", label, d, start, start + DAY,
                            _status(now, start, start + DAY, False, closes=start + DAY + SAMPLE_GRACE)))

    for visit in s.followup_days:
        lo, hi = s.followup_window_days[visit]
        opens, closes = day_start(R, lo), R + hi * DAY
        label = _("Day-%(day)s follow-up") % {"day": visit}
        if visit in facts.followup_days:
            out.append(Item("followup", label, visit, opens, closes, "done"))
        elif facts.died_at is not None and facts.died_at <= opens:
            out.append(Item("followup", label, visit, opens, closes, "not_required", _("died before the visit")))
        elif stopped(opens, vital=True):
            out.append(Item("followup", label, visit, opens, closes, "not_required",
                            _("consent stopped follow-up")))
        else:
            out.append(Item("followup", label, visit, opens, closes,
                            _status(now, opens, closes, False, closes=closes)))
    return sorted(out, key=lambda i: (i.opens_at, i.form != "baseline", i.study_day or 0))
