"""The infusion log as a transition table (no database): which event may follow which, and what it does.

The log is a list of segments (a constant rate from ``started_at`` to ``stopped_at``). Its state is read off
the last segment; an event either closes the running segment (with a stop reason), opens a new one, or both
(a rate change). :func:`step` refuses an event the state does not allow, naming the field, with the same
words whatever the arm.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from shine.trial.errors import Refused

from .edit_checks import local
from .words import word

KINDS = ("start", "stop", "restart", "rate_change", "end")
STOP_KINDS = ("interrupted", "adverse_event", "death", "discharge", "other")  # 'interrupted' = restart expected
NOT_STARTED, RUNNING, PAUSED, ENDED = "not started", "running", "paused", "ended"


@dataclass(frozen=True)
class Segment:
    started_at: dt.datetime
    stopped_at: dt.datetime | None
    stop_reason: str = ""


@dataclass(frozen=True)
class Step:
    """What an allowed event does: ``close`` the running segment with this stop reason (None: nothing to
    close), ``opens`` a new segment at the event's time (it needs a rate); ``reason``: the audit reason."""
    close: str | None
    opens: bool
    reason: str


# (state, event) → step; any other pair is refused by :func:`step`
TABLE: dict[tuple[str, str], Step] = {
    (NOT_STARTED, "start"): Step(None, True, ""),
    (RUNNING, "stop"): Step("", False, "infusion stopped"),  # close with the stop reason given
    (RUNNING, "rate_change"): Step("rate_change", True, "rate change"),
    (RUNNING, "end"): Step("planned_end", False, "infusion ended as planned"),
    (PAUSED, "restart"): Step(None, True, ""),
}


def state(segments: list[Segment]) -> str:
    if not segments:
        return NOT_STARTED
    last = segments[-1]
    if last.stopped_at is None:
        return RUNNING
    return PAUSED if last.stop_reason in ("interrupted", "rate_change") else ENDED


def ended(segments) -> bool:
    """``segments``: (stopped_at, stop_reason) pairs or :class:`Segment`, in order. Ended when the last one
    stopped for good."""
    return state([s if isinstance(s, Segment) else Segment(None, *s) for s in segments]) == ENDED


def check_event(kind: str, stop_reason: str = "") -> None:
    """Refuse an event that is no event of the log, whatever its state."""
    if kind not in KINDS:
        raise Refused(_("kind must be one of %(allowed)s") % {"allowed": ", ".join(KINDS)}, field="kind")
    if stop_reason and kind != "stop":
        raise Refused(_("a stop reason belongs to a stop, not to a %(kind)s") % {"kind": word(kind)},
                      field="stop_reason")


def step(segments: list[Segment], kind: str, at: dt.datetime, *, stop_reason: str = "", note: str = "") -> Step:
    """The step of event ``kind`` at ``at`` after ``segments``, or Refused (field named)."""
    check_event(kind, stop_reason)
    now = state(segments)
    found = TABLE.get((now, kind))
    if found is None:
        if kind == "start":
            raise Refused(_("the infusion has already started: record a restart or a rate change"), field="kind",
                          status=409)
        if kind == "restart" and now == ENDED:
            why = word(segments[-1].stop_reason)
            raise Refused(_("the infusion ended (%(why)s); it cannot restart") % {"why": why}, field="kind",
                          status=409)
        if kind == "restart":
            raise Refused(_("a restart needs an infusion that was stopped"), field="kind", status=409)
        raise Refused(_("the infusion is not running"), field="kind", status=409)
    last = segments[-1] if segments else None
    if kind == "restart" and at < last.stopped_at:
        raise Refused(_("a restart cannot be before the stop (%(time)s)") % {"time": local(last.stopped_at)},
                      field="at")
    if found.close is not None and at <= last.started_at:
        raise Refused(_("must be after the segment's start (%(time)s)") % {"time": local(last.started_at)},
                      field="at")
    if kind == "stop":
        if stop_reason not in STOP_KINDS:
            raise Refused(_("stop reason must be one of %(allowed)s") % {"allowed": ", ".join(STOP_KINDS)},
                          field="stop_reason")
        if stop_reason == "other" and not note:
            raise Refused(_("say why in the note when the reason is 'other'"), field="note")
        return Step(stop_reason, False, f"infusion stopped: {stop_reason}")
    return found
