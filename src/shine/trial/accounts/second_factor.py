"""The second factor: a TOTP authenticator app (django-otp) and one-time recovery codes.

Who must have one is set by the role (``roles.SECOND_FACTOR_ROLES``); anyone who has enrolled an authenticator
is asked for a code at login, before an electronic signature and before an emergency unblinding. A code is
good for one use (the device keeps the last time step accepted, so the same code, or an older one, is
refused) within 30 s steps, one step of clock drift either way. A recovery code works once and is deleted.
Checks of one user's codes run one after another (the device row is locked), so two parallel requests cannot
both spend one code. Every check is an audit event and a security-log line.
"""

from __future__ import annotations

import logging
import re
import secrets

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from shine.trial.audit import security
from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor

from .models import User

OBJECT_TYPE = "accounts.second_factor"  # audit object type of code checks and enrolments, keyed by username
RECOVERY_CODES = 8
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
CODE_MAX_LENGTH = 32  # a recovery code typed with spaces or dashes fits; anything longer is no code
CODE_HELP = gettext_lazy("the 6-digit code from your authenticator app, or one of your recovery codes")


def required(user: User) -> bool:
    return user.role_def.second_factor


def has_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def needed(user: User) -> bool:
    """Whether this user's login (and signature, unblinding) takes a code."""
    return required(user) or has_device(user)


def _event(actor: Actor, user: User, action: str, purpose: str, level=logging.INFO) -> None:
    audit.record(actor=actor, action=action, object_type=OBJECT_TYPE, object_id=user.username[:64],
                 reason=purpose)
    fields = {"user": user.username, "role": user.role, "purpose": purpose, "request_id": actor.request_id}
    security.event(action, level=level, **fields)  # the check happened, whatever becomes of the transaction


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()[:32]


def check(user: User, code: str, *, purpose: str, actor: Actor | None = None) -> bool:
    """True if ``code`` is a current TOTP code of one of the user's confirmed devices (not used before) or one
    of their recovery codes (then spent). Audited either way, in the caller's transaction if any."""
    actor = actor or Actor.of(user)
    code = _normalise(code)
    with transaction.atomic():
        ok = False
        if code.isdigit() and len(code) == 6:
            for device in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True):
                if device.verify_token(code):
                    ok = True
                    break
        elif code:
            for device in StaticDevice.objects.select_for_update().filter(user=user, confirmed=True):
                if device.verify_token(_recovery_digest(user, code)):
                    ok = True
                    break
        if ok:
            _event(actor, user, "second_factor_ok", purpose)
        else:
            _event(actor, user, "second_factor_failed", purpose, level=logging.WARNING)
    return ok


def start_enrolment(user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator (a new secret the first time); confirmed by a first good code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator app", confirmed=False)
    return device


def secret_of(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it typed in (base32, in groups of four)."""
    import base64

    raw = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def confirm_enrolment(user: User, code: str, *, actor: Actor) -> list[str] | None:
    """Confirm the pending authenticator with a first code; returns the new recovery codes (shown once) or None
    if the code is wrong. Any earlier authenticator and recovery codes are replaced."""
    code = _normalise(code)
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-id").first()
        if device is None or not (code.isdigit() and len(code) == 6) or not device.verify_token(code):
            _event(actor, user, "second_factor_enrol_failed", "enrolment", level=logging.WARNING)
            return None
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = new_recovery_codes(user)
        _event(actor, user, "second_factor_enrolled", "enrolment")
    return codes


def _recovery_digest(user: User, code: str) -> str:
    """What is stored of a recovery code: a keyed hash (HMAC-SHA256 under a key derived from SECRET_KEY, with the
    username), 80 bits in the 16 characters the table holds, so a copy of the database does not give the codes
    and cannot be searched for them offline without the key."""
    import base64
    import hashlib
    import hmac

    key = hashlib.sha256(b"shine recovery codes:" + settings.SECRET_KEY.encode()).digest()
    mac = hmac.new(key, f"{user.username}:{code}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac[:10]).decode().lower()


def new_recovery_codes(user: User, n: int = RECOVERY_CODES) -> list[str]:
    """Replace the user's recovery codes with ``n`` new ones (10 characters, about 50 bits each); only their
    keyed hashes are kept."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10)) for _ in range(n)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=_recovery_digest(user, c)) for c in codes])
    return codes


def enrol_for_demo(user: User) -> tuple[str, list[str]]:
    """A confirmed authenticator and recovery codes for a demo user, so a newcomer can log in (never in
    production). Returns the secret and the recovery codes."""
    if settings.PRODUCTION:
        from django.utils.translation import gettext

        raise RuntimeError(gettext("demo authenticators are not made in production"))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="demo authenticator", confirmed=True)
        codes = new_recovery_codes(user, n=3)
    return secret_of(device), codes


def remove(user: User, *, actor: Actor, reason: str) -> None:
    """An admin removes a user's authenticator and recovery codes (a lost phone): enrolment starts again at the
    next login."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        _event(actor, user, "second_factor_removed", reason)
