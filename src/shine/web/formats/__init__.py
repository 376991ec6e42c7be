"""Dates and times in the active language's convention (the format modules beside this file), for the
messages and mails written in Python; templates use ``|date:"SHORT_DATETIME_FORMAT"`` for the same."""

import datetime as dt

from django.utils import formats, timezone


def local_datetime(t: dt.datetime | None) -> str:
    """01.12.2026 03:12 (Danish) or 2026-12-01 03:12 (English), in the trial's time zone; '' for none."""
    return formats.date_format(timezone.localtime(t), "SHORT_DATETIME_FORMAT") if t else ""


def local_date(d: dt.date | dt.datetime | None) -> str:
    if d is None:
        return ""
    if isinstance(d, dt.datetime):
        d = timezone.localtime(d)
    return formats.date_format(d, "SHORT_DATE_FORMAT")
