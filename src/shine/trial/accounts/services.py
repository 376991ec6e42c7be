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
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
        known = ", ".join(Site.objects.values_list("code", flat=True)) or _("none (run `shine migrate`)")
        raise Refused(_("unknown site code %(codes)s; known sites: %(known)s") % {"codes": ", ".join(unknown),
                                                                                 "known": known}, field="site")
    return [found[c] for c in codes]


def create_user(*, actor: Actor, username: str, role: str, sites=(), password: str | None = None,
                full_name: str = "", email: str = "") -> tuple[User, str]:
    """Create a user with a role and site memberships. Returns the user and the (possibly generated) password."""
    try:
        rdef = role_def(role)
    except ValueError as exc:
        raise Refused(str(exc), field="role") from None
    if not username or not username.strip():
        raise Refused(_("username is required"), field="username")
    if User.objects.filter(username=username).exists():
        raise Refused(_("a user named '%(username)s' already exists") % {"username": username}, field="username")
    site_objs = _sites(sites)
    if not rdef.cross_site and not site_objs:
        raise Refused(_("role %(role)s works at sites: give at least one --site") % {"role": role}, field="site")
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
    from . import second_factor

    before = user.role
    user = audit.update(user, actor=actor, reason=reason, role=role)
    security.event("role_changed", user=user.username, old=before, new=role, by=actor.username)
    if second_factor.required(user) and not second_factor.has_device(user):
        # sessions opened with the password alone end: the next login sets up the second factor
        end_sessions(user, actor=actor, reason=f"new role {role} needs a second factor")
    return user


LANGUAGE_CODES = ("", *(code for code, _name in settings.LANGUAGES))  # blank: the browser's preference


def set_language(user: User, *, actor: Actor, language: str) -> User:
    """The language of a user's pages (and of the mails to them), set by the user: one of LANGUAGES, or blank
    to follow the browser. Audited like every change of a user."""
    language = (language or "").strip()
    if language not in LANGUAGE_CODES:
        raise Refused(_("unknown language '%(language)s'; choose one of: %(choices)s")
                      % {"language": language, "choices": ", ".join(c for c in LANGUAGE_CODES if c)},
                      field="language")
    user = User.objects.get(pk=user.pk)  # the row itself (a request's user is a lazy wrapper)
    return audit.update(user, actor=actor, reason="language setting", language=language)


def deactivate(user: User, *, actor: Actor, reason: str) -> User:
    return audit.update(user, actor=actor, reason=reason, is_active=False)


def set_sites(user: User, *, actor: Actor, sites, reason: str) -> None:
    if not reason or not reason.strip():
        raise Refused(_("a reason for changing the sites is required"), field="reason")
    wanted = {s.pk: s for s in _sites(sites)}
    with transaction.atomic():
        current = {m.site_id: m for m in Membership.objects.filter(user=user)}
        for site_id, membership in current.items():
            if site_id not in wanted:
                audit.delete(membership, actor=actor, reason=reason)
        if not user.role_def.cross_site and not wanted:
            raise Refused(_("role %(role)s works at sites: give at least one site") % {"role": user.role},
                          field="site")
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


PENDING_LOGIN = "shine_pending_login"  # session key: the user whose password was right, until the second step


# what a lockout mail says was wrong, by the (English, logged) name of the attempts
LOCKOUT_WHAT = {"passwords": gettext_lazy("passwords"), "current passwords": gettext_lazy("current passwords"),
                "second-factor codes": gettext_lazy("second-factor codes")}


def _lockout_mail(username: str, what: str) -> None:
    """After the commit that locks an account: tell its owner and the administrators (no password, no code),
    each in their own language."""
    from django.core.mail import send_mail

    from shine.web.formats import local_datetime

    owner = User.objects.filter(username=username).first()
    people = [*User.objects.filter(role="admin", is_active=True).exclude(email=""), *([owner] if owner else [])]
    by_language: dict[str, set[str]] = {}
    for person in people:
        if person.email:
            by_language.setdefault(person.language or settings.LANGUAGE_CODE, set()).add(person.email)
    now = dt.datetime.now(dt.UTC)
    for language, recipients in sorted(by_language.items()):
        with translation.override(language):
            values = {"username": username, "minutes": settings.LOGIN_LOCKOUT_MINUTES,
                      "failures": settings.LOGIN_MAX_FAILURES, "what": LOCKOUT_WHAT.get(what, what),
                      "time": local_datetime(now)}
            subject = _("SHINE: account %(username)s locked") % values
            body = _("The SHINE account '%(username)s' is locked for %(minutes)s minutes after %(failures)s wrong "
                     "%(what)s in a row (%(time)s).\n\nIf this was not you, tell the trial's administrator: "
                     "someone may be guessing the account's %(what)s.\n") % values
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, sorted(recipients))
        except OSError as exc:  # a mail server down must not turn a refusal into a 500
            security.event("lockout_mail_failed", level=logging.ERROR, user=username, error=str(exc))


def _failure(actor: Actor, *, action: str, object_type: str, username: str, locked_now, what: str) -> None:
    """Record a failed attempt; the one that locks the account is security-logged and mailed after the commit."""
    audit.record(actor=actor, action=action, object_type=object_type, object_id=username[:64])
    if locked_now():
        request_id = actor.request_id
        transaction.on_commit(lambda: (security.event("account_locked", level=logging.WARNING, user=username,
                                                      after=what, request_id=request_id),
                                       _lockout_mail(username, what)))


def login(request, *, username: str, password: str) -> str:
    """Check the password and audit the attempt either way. Attempts on one username are serialised, so N
    parallel wrong passwords are counted as N and the lockout holds. Returns ``"done"`` (logged in), or, for a
    user who takes a second factor, ``"code"`` (a code is due) or ``"enrol"`` (an authenticator must be set
    up first): the session is not logged in until then."""
    from . import second_factor

    request_id = getattr(request, "request_id", "")
    anonymous = Actor(username=username[:150] or "(blank)", role="anonymous", request_id=request_id)
    refusal = None
    step = "done"
    with transaction.atomic():
        serialise_attempts(f"shine-login:{username[:150]}")
        if is_locked_out(username):
            audit.record(actor=anonymous, action="login_refused_locked", object_type="accounts.login",
                         object_id=username[:64])
            refusal = Refused(_("too many failed logins: account locked for %(minutes)s minutes")
                              % {"minutes": settings.LOGIN_LOCKOUT_MINUTES}, field="username")
        elif (user := authenticate(request, username=username, password=password)) is None:
            _failure(anonymous, action="login_failed", object_type="accounts.login", username=username,
                     locked_now=lambda: is_locked_out(username), what="passwords")
            refusal = Refused(_("wrong username or password"), field="password")
        elif second_factor.needed(user):
            request.session.cycle_key()  # the half-way state gets a fresh id too
            request.session[PENDING_LOGIN] = {"user": user.pk, "backend": user.backend,
                                              "at": dt.datetime.now(dt.UTC).isoformat()}
            audit.record(actor=Actor.of(user, request_id), action="login_password_ok",
                         object_type="accounts.login", object_id=username[:64])
            step = "code" if second_factor.has_device(user) else "enrol"
        else:
            _complete_login(request, user)
    outcome = ("login" if step == "done" else "login_password_ok") if refusal is None else \
        "login_failed" if refusal.field == "password" else "login_refused_locked"
    security.event(outcome, level=logging.INFO if refusal is None else logging.WARNING, user=username[:150],
                   request_id=request_id)
    if refusal is not None:  # raised after the commit: the attempt stays in the trail
        raise refusal
    return step


def _complete_login(request, user: User, backend: str | None = None) -> None:
    django_login(request, user, backend=backend)  # a new session id (Django cycles the key at login)
    request.session[SESSION_STARTED] = dt.datetime.now(dt.UTC).isoformat()
    audit.record(actor=Actor.of(user, getattr(request, "request_id", "")), action="login",
                 object_type="accounts.login", object_id=user.username[:64])


def pending_login(request) -> User | None:
    """The user whose password was right in this session, if the second step is still due and not stale."""
    pending = request.session.get(PENDING_LOGIN)
    if not pending:
        return None
    started = dt.datetime.fromisoformat(pending["at"])
    if dt.datetime.now(dt.UTC) - started > dt.timedelta(minutes=settings.SECOND_FACTOR_PENDING_MINUTES):
        del request.session[PENDING_LOGIN]
        return None
    return User.objects.filter(pk=pending["user"], is_active=True).first()


def second_factor_locked(username: str) -> bool:
    from . import second_factor

    return too_many_failures(object_type=second_factor.OBJECT_TYPE, object_id=username,
                             failure="second_factor_failed", success="second_factor_ok")


def login_with_code(request, *, code: str) -> User:
    """The second step: a TOTP or recovery code for the pending user; the session is logged in on success."""
    from . import second_factor

    user = pending_login(request)
    if user is None:
        raise Refused(_("the password step has expired: log in again"), field="code", status=400)
    actor = Actor.of(user, getattr(request, "request_id", ""))
    refusal = locked = None
    with transaction.atomic():
        serialise_attempts(f"shine-login:{user.username}")
        if second_factor_locked(user.username):
            audit.record(actor=actor, action="login_refused_locked", object_type="accounts.login",
                         object_id=user.username[:64])
            refusal = locked = Refused(_("too many wrong codes: account locked for %(minutes)s minutes")
                                       % {"minutes": settings.LOGIN_LOCKOUT_MINUTES}, field="code")
        elif second_factor.check(user, code, purpose="login", actor=actor):
            backend = request.session[PENDING_LOGIN]["backend"]
            del request.session[PENDING_LOGIN]
            _complete_login(request, user, backend)
        elif second_factor_locked(user.username):  # this wrong code was the last one allowed
            transaction.on_commit(lambda: (security.event("account_locked", level=logging.WARNING,
                                                          user=user.username, after="codes"),
                                           _lockout_mail(user.username, "second-factor codes")))
            refusal = locked = Refused(_("too many wrong codes: account locked for %(minutes)s minutes")
                                       % {"minutes": settings.LOGIN_LOCKOUT_MINUTES}, field="code")
        else:
            refusal = Refused(_("wrong or already used code: enter %(help)s") % {"help": second_factor.CODE_HELP},
                              field="code")
    if refusal is not None:
        if locked is not None:  # back to the password step
            request.session.pop(PENDING_LOGIN, None)
        raise refusal
    security.event("login", user=user.username, request_id=actor.request_id, second_factor=True)
    return user


def enrol_and_login(request, *, code: str) -> list[str]:
    """The pending user confirms a new authenticator with its first code; logs the session in and returns the
    recovery codes (shown once)."""
    from . import second_factor

    user = pending_login(request)
    if user is None:
        raise Refused(_("the password step has expired: log in again"), field="code", status=400)
    actor = Actor.of(user, getattr(request, "request_id", ""))
    codes = second_factor.confirm_enrolment(user, code, actor=actor)
    if codes is None:
        raise Refused(_("that code does not match: check the phone's clock and enter the current 6-digit code"),
                      field="code")
    with transaction.atomic():
        backend = request.session[PENDING_LOGIN]["backend"]
        del request.session[PENDING_LOGIN]
        _complete_login(request, user, backend)
    security.event("login", user=user.username, request_id=actor.request_id, second_factor=True)
    return codes


def logout(request) -> None:
    user = request.user
    if user.is_authenticated:
        with transaction.atomic():
            audit.record(actor=Actor.of(user, getattr(request, "request_id", "")), action="logout",
                         object_type="accounts.login", object_id=user.username[:64])
    django_logout(request)


PASSWORD_ATTEMPTS = "accounts.password_change"  # audit object type of password-change attempts, by username
PASSWORD_MAX_LENGTH = 256  # a passphrase of any reasonable length (Argon2 takes it whole)


def change_password(request, *, current_password: str, new_password: str, code: str = "") -> None:
    """The signed-in user changes their own password: the current password again, and a code if they have an
    authenticator. Throttled like a login; the user's other sessions end; this one continues."""
    from django.contrib.auth import update_session_auth_hash

    from . import second_factor

    user = request.user
    actor = Actor.of(user, getattr(request, "request_id", ""))
    if len(new_password or "") > PASSWORD_MAX_LENGTH:
        raise Refused(_("the new password must be at most %(limit)s characters") % {"limit": PASSWORD_MAX_LENGTH},
                      field="new_password")
    try:
        validate_password(new_password or "", user)
    except ValidationError as exc:
        raise Refused("; ".join(exc.messages), field="new_password") from None
    refusal = None
    with transaction.atomic():
        serialise_attempts(f"shine-password:{user.username}")
        if too_many_failures(object_type=PASSWORD_ATTEMPTS, object_id=user.username,
                             failure="password_change_refused", success="password_changed"):
            refusal = Refused(_("too many wrong attempts: password change locked for %(minutes)s minutes")
                              % {"minutes": settings.LOGIN_LOCKOUT_MINUTES}, field="current_password", status=403)
        elif not current_password or not user.check_password(current_password):
            _failure(actor, action="password_change_refused", object_type=PASSWORD_ATTEMPTS, username=user.username,
                     locked_now=lambda: too_many_failures(object_type=PASSWORD_ATTEMPTS, object_id=user.username,
                                                          failure="password_change_refused",
                                                          success="password_changed"),
                     what="current passwords")
            refusal = Refused(_("the current password is wrong"), field="current_password", status=403)
        elif second_factor.has_device(user) and not second_factor.check(user, code, purpose="password change",
                                                                         actor=actor):
            audit.record(actor=actor, action="password_change_refused", object_type=PASSWORD_ATTEMPTS,
                         object_id=user.username[:64], reason="wrong second-factor code")
            refusal = Refused(_("wrong or already used code: enter %(help)s") % {"help": second_factor.CODE_HELP},
                              field="code", status=403)
        else:
            user.password = make_password(new_password)
            user.save(update_fields=["password"])  # excluded from the trail's values; the event below records it
            audit.record(actor=actor, action="password_changed", object_type=PASSWORD_ATTEMPTS,
                         object_id=user.username[:64])
    if refusal is not None:
        raise refusal
    end_sessions(user, actor=actor, reason="password changed", keep=request.session.session_key)
    if request.session.session_key and request.user.is_authenticated:
        update_session_auth_hash(request, user)  # this session goes on (with a new id)
    security.event("password_changed", user=user.username, request_id=actor.request_id)


def end_sessions(user: User, *, actor: Actor, reason: str, keep: str | None = None) -> int:
    """End every server session of ``user`` (except ``keep``): the cookies are refused from the next request.
    Audited and security-logged; returns how many ended."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    ended = [s.session_key for s in Session.objects.filter(expire_date__gt=timezone.now())
             if s.get_decoded().get(SESSION_KEY) == str(user.pk) and s.session_key != keep]
    with transaction.atomic():
        Session.objects.filter(session_key__in=ended).delete()
        audit.record(actor=actor, action="sessions_ended", object_type="accounts.login", object_id=user.username[:64],
                     reason=f"{reason} ({len(ended)} session{'s' if len(ended) != 1 else ''})")
    security.event("sessions_ended", level=logging.WARNING, user=user.username, by=actor.username, count=len(ended),
                   reason=reason, request_id=actor.request_id)
    return len(ended)
