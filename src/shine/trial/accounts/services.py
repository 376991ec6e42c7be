"""Every write on users, sites, memberships and tokens, each audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from shine import protocol
from shine.trial.audit import security
from shine.trial.audit import services as audit
from shine.trial.audit.models import AuditEvent
from shine.trial.audit.services import Actor
from shine.trial.errors import Refused

from .models import ApiToken, Membership, Site, User
from .roles import role as role_def

TOKEN_PREFIX = "shine_"
SESSION_STARTED = "shine_session_started"  # session key: UTC ISO time of the login (shine.web.middleware)


def sync_sites_from_protocol(*, actor: Actor) -> list[Site]:
    """Create or rename the protocol's sites (idempotent)."""
    out = []
    with transaction.atomic():
        for s in protocol.load().sites:
            site = Site.objects.filter(code=s.code).first()
            if site is None:
                site = audit.create(Site, actor=actor, code=s.code, name=s.name)
            elif site.name != s.name:
                site = audit.update(site, actor=actor, reason="site name from the protocol", name=s.name)
            out.append(site)
    return out


def _sites(codes) -> list[Site]:
    codes = list(dict.fromkeys(codes))
    found = {s.code: s for s in Site.objects.filter(code__in=codes)}
    unknown = [c for c in codes if c not in found]
    if unknown:
        known = ", ".join(Site.objects.values_list("code", flat=True)) or "none (run `shine migrate`)"
        raise Refused(f"unknown site code {', '.join(unknown)}; known sites: {known}", field="site")
    return [found[c] for c in codes]


def create_user(*, actor: Actor, username: str, role: str, sites=(), password: str | None = None,
                full_name: str = "", email: str = "") -> tuple[User, str]:
    """Create a user with a role and site memberships. Returns the user and the (possibly generated) password."""
    try:
        rdef = role_def(role)
    except ValueError as exc:
        raise Refused(str(exc), field="role") from None
    if not username or not username.strip():
        raise Refused("username is required", field="username")
    if User.objects.filter(username=username).exists():
        raise Refused(f"a user named {username!r} already exists", field="username")
    site_objs = _sites(sites)
    if not rdef.cross_site and not site_objs:
        raise Refused(f"role {role} works at sites: give at least one --site", field="site")
    password = password or secrets.token_urlsafe(12)
    try:
        validate_password(password, User(username=username, full_name=full_name, email=email))
    except ValidationError as exc:
        raise Refused("; ".join(exc.messages), field="password") from None
    with transaction.atomic():
        user = audit.create(User, actor=actor, username=username, role=role, full_name=full_name, email=email,
                            password=make_password(password))
        for site in site_objs:
            audit.create(Membership, actor=actor, user=user, site=site)
    return user, password


def change_role(user: User, *, actor: Actor, role: str, reason: str) -> User:
    try:
        role_def(role)
    except ValueError as exc:
        raise Refused(str(exc), field="role") from None
    before = user.role
    user = audit.update(user, actor=actor, reason=reason, role=role)
    security.event("role_changed", user=user.username, old=before, new=role, by=actor.username)
    return user


def deactivate(user: User, *, actor: Actor, reason: str) -> User:
    return audit.update(user, actor=actor, reason=reason, is_active=False)


def set_sites(user: User, *, actor: Actor, sites, reason: str) -> None:
    if not reason or not reason.strip():
        raise Refused("a reason for changing the sites is required", field="reason")
    wanted = {s.pk: s for s in _sites(sites)}
    with transaction.atomic():
        current = {m.site_id: m for m in Membership.objects.filter(user=user)}
        for site_id, membership in current.items():
            if site_id not in wanted:
                audit.delete(membership, actor=actor, reason=reason)
        if not user.role_def.cross_site and not wanted:
            raise Refused(f"role {user.role} works at sites: give at least one site", field="site")
        for site_id, site in wanted.items():
            if site_id not in current:
                audit.create(Membership, actor=actor, user=user, site=site, reason=reason)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(user: User, *, actor: Actor, name: str = "api") -> str:
    """A new API token for ``user``; the returned string is shown once and never stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    raw = f"{TOKEN_PREFIX}{prefix}_{secret}"
    audit.create(ApiToken, actor=actor, user=user, name=name, prefix=prefix, digest=_digest(raw))
    return raw


def user_for_token(raw: str) -> User | None:
    """The active user a bearer token belongs to, or None for a malformed, unknown or revoked token."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or raw.count("_") < 2:
        return None
    prefix = raw[len(TOKEN_PREFIX):].split("_", 1)[0]
    token = ApiToken.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True).first()
    if token is None or not hmac.compare_digest(token.digest, _digest(raw)) or not token.user.is_active:
        return None
    now = dt.datetime.now(dt.UTC)
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token.last_used_at = now
        token.save(update_fields=["last_used_at"])
        security.event("token_used", user=token.user.username, token=token.prefix)  # at most once a minute
    return token.user


def serialise_attempts(key: str) -> None:
    """Inside a transaction: attempts on one account (a login, a password re-entry) run one after another,
    so parallel guesses are each counted before the next is judged (PostgreSQL: a transaction-scoped advisory
    lock on the key; SQLite's write transactions are serialised already)."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def too_many_failures(*, object_type: str, object_id: str, failure: str, success: str) -> bool:
    """True after LOGIN_MAX_FAILURES ``failure`` events on this object within LOGIN_LOCKOUT_MINUTES with no
    ``success`` since (read from the audit trail, which records every attempt)."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    recent = list(AuditEvent.objects.filter(object_type=object_type, object_id=object_id[:64], at__gte=since,
                                            action__in=(success, failure))
                  .order_by("-id").values_list("action", flat=True)[: settings.LOGIN_MAX_FAILURES])
    return len(recent) >= settings.LOGIN_MAX_FAILURES and all(a == failure for a in recent)


def is_locked_out(username: str) -> bool:
    return too_many_failures(object_type="accounts.login", object_id=username, failure="login_failed",
                             success="login")


def login(request, *, username: str, password: str) -> User:
    """Check the password, start the session, and audit the attempt either way. Attempts on one username are
    serialised, so N parallel wrong passwords are counted as N and the lockout holds."""
    request_id = getattr(request, "request_id", "")
    anonymous = Actor(username=username[:150] or "(blank)", role="anonymous", request_id=request_id)
    refusal = None
    with transaction.atomic():
        serialise_attempts(f"shine-login:{username[:150]}")
        if is_locked_out(username):
            audit.record(actor=anonymous, action="login_refused_locked", object_type="accounts.login",
                         object_id=username[:64])
            refusal = Refused(f"too many failed logins: account locked for {settings.LOGIN_LOCKOUT_MINUTES} "
                              "minutes", field="username")
        elif (user := authenticate(request, username=username, password=password)) is None:
            audit.record(actor=anonymous, action="login_failed", object_type="accounts.login",
                         object_id=username[:64])
            refusal = Refused("wrong username or password", field="password")
        else:
            django_login(request, user)  # a new session id (Django cycles the key at login)
            request.session[SESSION_STARTED] = dt.datetime.now(dt.UTC).isoformat()
            audit.record(actor=Actor.of(user, request_id), action="login", object_type="accounts.login",
                         object_id=username[:64])
    outcome = "login" if refusal is None else "login_failed" if refusal.field == "password" else "login_refused_locked"
    security.event(outcome, level=logging.INFO if refusal is None else logging.WARNING, user=username[:150],
                   request_id=request_id)
    if refusal is not None:  # raised after the commit: the attempt stays in the trail
        raise refusal
    return user


def logout(request) -> None:
    user = request.user
    if user.is_authenticated:
        with transaction.atomic():
            audit.record(actor=Actor.of(user, getattr(request, "request_id", "")), action="logout",
                         object_type="accounts.login", object_id=user.username[:64])
    django_logout(request)
