"""The one refusal type of the services (a message that names the field and the limit), and the one check of
times entered by staff."""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _


class Refused(ValueError):
    """A write refused for a stated reason; nothing was written."""

    def __init__(self, message: str, field: str | None = None, *, status: int = 400):
        super().__init__(message)
        self.field = field
        self.status = status

    @property
    def message(self) -> str:
        return str(self)


# a time typed on a ward clock may run this far ahead of the server
CLOCK_SKEW = dt.timedelta(minutes=5)


def _words(name: str, label) -> str:
    """The field as the message names it: its label (translated), else its name in words."""
    return str(label) if label else name.replace("_", " ")


def entered_text(name: str, value, *, limit: int, required: bool = False, label=None) -> str:
    """Free text entered by staff, stripped; refused when required and empty, or longer than ``limit``.
    ``label`` is the field in words, in the reader's language (a gettext_lazy string)."""
    value = (value or "").strip()
    field = _words(name, label)
    if required and not value:
        raise Refused(_("%(field)s is required") % {"field": field}, field=name)
    if len(value) > limit:
        raise Refused(_("%(field)s must be at most %(limit)s characters") % {"field": field, "limit": limit},
                      field=name)
    return value


def entered_time(name: str, value, *, required: bool = True, label=None) -> dt.datetime | None:
    """A date-time entered by staff: aware (naive means the server's time zone), not in the future."""
    field = _words(name, label)
    if value is None or value == "":
        if required:
            raise Refused(_("%(field)s is required") % {"field": field}, field=name)
        return None
    if not isinstance(value, dt.datetime):
        raise Refused(_("%(field)s must be a date and time") % {"field": field}, field=name)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > timezone.now() + CLOCK_SKEW:
        raise Refused(_("%(field)s must not be in the future") % {"field": field}, field=name)
    return value


def rid(request) -> str:
    """The request's id (set by ``shine.web.middleware.request_id``), for the audit events of its writes."""
    return getattr(request, "request_id", "")


def refuse(form, exc: Refused, *, field: str | None = None) -> int:
    """Put a refusal on a page's form (on its field, ``field`` or the refusal's own, when the form has it);
    returns the status to answer with."""
    name = exc.field if field is None else field
    form.add_error(name if name in form.fields else None, str(exc))
    return exc.status if exc.status in (400, 403, 409) else 400


def attempt(form, action) -> tuple[object | None, int]:
    """Run a page's service call: (its result, 200), or (None, status) with the refusal on the form."""
    try:
        return action(), 200
    except Refused as exc:
        return None, refuse(form, exc)
