"""Request id on every request (kept in audit events and returned as X-Request-ID); session lifetime and
caching rules for every response."""

import datetime as dt
import json
import logging
import re
import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.utils.cache import patch_cache_control

from shine.trial.accounts.services import SESSION_STARTED

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id(get_response):
    def middleware(request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        response = get_response(request)
        response["X-Request-ID"] = request.request_id
        return response

    return middleware


def session_lifetime_and_no_store(get_response):
    """A session ends SESSION_ABSOLUTE_HOURS after its login, however active (the idle timeout is the cookie's
    age); and no response is kept by a browser or proxy cache (pages and API carry participant data)."""
    limit = dt.timedelta(hours=settings.SESSION_ABSOLUTE_HOURS)

    def middleware(request):
        started = request.session.get(SESSION_STARTED) if request.user.is_authenticated else None
        if started and dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(started) > limit:
            logout(request)
        response = get_response(request)
        patch_cache_control(response, no_store=True, private=True)
        return response

    return middleware


def security_log(get_response):
    """Every refusal of a signed-in or anonymous request (401, 403) is a security event: audited and logged."""
    def middleware(request):
        response = get_response(request)
        if response.status_code in (401, 403):
            _refusal(request, response.status_code)
        return response

    return middleware


def _refusal(request, status: int) -> None:
    from django.db import transaction

    from shine.trial.audit import security
    from shine.trial.audit import services as audit

    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    actor = audit.Actor.of(user, request.request_id) if signed_in else \
        audit.Actor(username="(anonymous)", role="anonymous", request_id=request.request_id)
    # the path as typed, escaped (a hostile path may hold NUL or control characters no database text takes)
    path = json.dumps(request.path)[1:-1]
    with transaction.atomic():
        audit.record(actor=actor, action="permission_refused", object_type="security.request",
                     object_id=path[:64], reason=f"{request.method} {path[:500]} → {status}")
    security.event("permission_refused", level=logging.WARNING, user=actor.username, role=actor.role,
                   method=request.method,
                   route=request.path, status=status, request_id=request.request_id)
