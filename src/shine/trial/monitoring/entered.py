"""The checks of text and times entered on the monitoring pages, refused with the field in words in the
reader's language (the same rules as :func:`shine.trial.errors.entered_text` and ``entered_time``)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from shine.trial.errors import CLOCK_SKEW, Refused


def text(name: str, value, *, label, limit: int, required: bool = False) -> str:
    """Free text, stripped; refused when required and empty, or longer than ``limit``. ``label``: the field in
    words (translated)."""
    value = (value or "").strip()
    if required and not value:
        raise Refused(_("%(field)s is required") % {"field": label}, field=name)
    if len(value) > limit:
        raise Refused(_("%(field)s must be at most %(limit)s characters") % {"field": label, "limit": limit},
                      field=name)
    return value


def time(name: str, value, *, label, required: bool = True):
    """A date-time: aware (naive means the server's time zone), not in the future beyond the clock skew."""
    import datetime as dt

    if value is None or value == "":
        if required:
            raise Refused(_("%(field)s is required") % {"field": label}, field=name)
        return None
    if not isinstance(value, dt.datetime):
        raise Refused(_("%(field)s must be a date and time") % {"field": label}, field=name)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > timezone.now() + CLOCK_SKEW:
        raise Refused(_("%(field)s must not be in the future") % {"field": label}, field=name)
    return value
