"""The security log: JSON lines on stdout (``shine.security``) for the hospital's log collector.

Logins, refusals, token use, role changes and audit anchors are also audit events (append-only, hash-chained,
filterable by action on the audit page); this log is the copy a collector reads as they happen. One JSON
object a line, so a CR or LF in a user-supplied value (a username, a path) can never forge a line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

log = logging.getLogger("shine.security")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
                 "event": record.getMessage(), **getattr(record, "security", {})}
        return json.dumps(entry, ensure_ascii=True, default=str, sort_keys=True)


def event(name: str, *, level: int = logging.INFO, **fields) -> None:
    log.log(level, name, extra={"security": fields})
