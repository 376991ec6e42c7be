"""A session that ends mid-form loses nothing.

The form page carries a signed token naming its user, form, participant and study day. When the Save arrives
after the session has ended (idle timeout, absolute lifetime, or the session removed on the server), the request
is anonymous, but the token proves whose page it was: the typed texts are kept as a :class:`FormDraft` for that
user, the browser is sent to the login page, and after the login the same form opens with the values put back
and a note saying so. A draft is never a record: nothing is scored, scheduled, exported or audited from it, and
it is deleted when the form is saved or after ``KEPT_FOR``. It is only ever shown to the user who typed it, on a
page that user may still open (the form's own access checks run as usual).
"""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from shine.trial.accounts.services import SESSION_STARTED

from .models import FormDraft

KEPT_FOR = dt.timedelta(hours=24)
TOKEN_FIELD = "draft_token"
_SALT = "shine.records.draft"
_NOT_KEPT = {TOKEN_FIELD, "csrfmiddlewaretoken", "action"}


def token_for(*, user, form: str, participant, study_day: int | None) -> str:
    """The token a form page carries: which user's page it is, and for which form, participant and day."""
    return signing.dumps({"u": user.pk, "f": form, "p": participant.number, "d": study_day}, salt=_SALT)


def _read(token: str) -> dict | None:
    # a page older than the longest possible session cannot have been typed into during one
    max_age = dt.timedelta(hours=settings.SESSION_ABSOLUTE_HOURS) + dt.timedelta(hours=1)
    try:
        return signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.BadSignature:
        return None


def keep(*, token: str, form: str, key: str, data) -> bool:
    """Keep what was typed into a form whose session has ended. Returns whether it was kept: only with a valid
    token for this very form and participant (a forged, stale or misplaced token keeps nothing)."""
    from shine.trial.accounts.models import User
    from shine.trial.enrollment.models import Participant

    claim = _read(token)
    if not claim or claim.get("f") != form or claim.get("p") != key:
        return False
    user = User.objects.filter(pk=claim["u"], is_active=True).first()
    participant = Participant.objects.filter(number=key).first()
    if user is None or participant is None:
        return False
    study_day = claim["d"]
    if study_day is None:  # a new daily record opened without its day: the day typed into the form
        typed = data.get("study_day", "").strip()
        if not typed.isdigit():
            return False
        study_day = int(typed)
    values = {name: [v[:400] for v in data.getlist(name)] for name in data if name not in _NOT_KEPT}
    FormDraft.objects.filter(typed_at__lt=timezone.now() - KEPT_FOR).delete()
    FormDraft.objects.update_or_create(user=user, form=form, participant=participant, study_day=study_day,
                                       defaults={"values": values, "typed_at": timezone.now()})
    return True


def restore(*, user, form: str, participant, study_day: int,
            form_class: type[forms.Form]) -> tuple[dict, dt.datetime] | None:
    """The values a user's draft puts back into the form (as initial values) and when they were typed."""
    draft = FormDraft.objects.filter(user=user, form=form, participant=participant, study_day=study_day,
                                     typed_at__gte=timezone.now() - KEPT_FOR).first()
    if draft is None:
        return None
    fields = form_class.base_fields
    initial = {name: (texts if isinstance(fields[name], forms.MultipleChoiceField) else (texts[0] if texts else ""))
               for name, texts in draft.values.items() if name in fields}
    return initial, draft.typed_at


def discard(*, user, form: str, participant, study_day: int) -> None:
    """Once the form is saved its draft is gone."""
    FormDraft.objects.filter(user=user, form=form, participant=participant, study_day=study_day).delete()


def session_timing(request) -> dict:
    """For the page's expiry warning: the idle timeout and the seconds left of the session's absolute lifetime."""
    left = None
    started = request.session.get(SESSION_STARTED)
    if started:
        end = dt.datetime.fromisoformat(started) + dt.timedelta(hours=settings.SESSION_ABSOLUTE_HOURS)
        left = max(0, int((end - dt.datetime.now(dt.UTC)).total_seconds()))
    return {"idle_seconds": settings.SESSION_COOKIE_AGE, "absolute_left_seconds": left}


def keeps_typed_values(form: str):
    """Put above ``login_required``: a Save that arrives after the session ended keeps what was typed (see the
    module's text) and asks for the login, which then comes back to the form."""
    def decorator(view):
        @wraps(view)
        def wrapped(request, key, *args, **kwargs):
            if request.method == "POST" and not request.user.is_authenticated:
                if request.headers.get("X-Shine-Preview") == "json":  # the live preview: nothing to keep
                    return JsonResponse({"detail": _("Your session has ended."), "errors": []}, status=401)
                if keep(token=request.POST.get(TOKEN_FIELD, ""), form=form, key=key, data=request.POST):
                    messages.info(request, _("Your session had ended, so nothing was saved yet. What you typed is "
                                             "kept: log in again and it is put back into the form."))
                return redirect_to_login(request.get_full_path())
            return view(request, key, *args, **kwargs)

        return wrapped

    return decorator
