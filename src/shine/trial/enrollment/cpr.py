"""Civil registration numbers (CPR): checked, encrypted at rest bound to their participant, and a keyed digest.

The key is ``settings.CPR_ENCRYPTION_KEY`` (environment ``CPR_ENCRYPTION_KEY``; generated under the var
directory in the demo). The number is encrypted with AES-256-GCM under a key derived from it, with the
participant number as associated data: a ciphertext moved to another participant's row fails to decrypt
there (and ``shine audit verify`` names the row). The digest is HMAC-SHA256 under another derived key, so the
audit trail can record that a CPR number was set or changed (and the database can refuse the same person
twice) without the 10^7 possible numbers being guessable from a plain hash.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shine.trial.errors import Refused

_FORMAT = re.compile(r"^(\d{6})-?(\d{4})$")


def normalise(raw: str) -> str:
    """``DDMMYY-SSSS`` from ``DDMMYYSSSS`` or ``DDMMYY-SSSS``; Refused (field ``cpr``) otherwise."""
    value = (raw or "").strip().replace(" ", "")
    m = _FORMAT.match(value)
    if not m:
        raise Refused(_("the CPR number must be 10 digits, DDMMYY-SSSS"), field="cpr")
    date, serial = m.groups()
    day, month, year = int(date[:2]), int(date[2:4]), int(date[4:])
    # any century will do for the check: 29 February needs a leap year, 2000 is one
    try:
        dt.date(2000 + year, month, day)
    except ValueError:
        raise Refused(_("the CPR number must start with a date of birth DDMMYY; %(digits)s is not a date")
                      % {"digits": date}, field="cpr") from None
    return f"{date}-{serial}"


FORMAT_PREFIX = "aesgcm1:"
UNREADABLE = gettext_lazy("(cannot be decrypted: not encrypted for this participant, or another CPR_ENCRYPTION_KEY)")


def _aead() -> AESGCM:
    return AESGCM(hashlib.sha256(b"shine-cpr-aead:" + settings.CPR_ENCRYPTION_KEY.encode()).digest())


def _bound(participant_number: str) -> bytes:
    return f"shine-cpr:{participant_number}".encode()


def encrypt(cpr: str, *, participant_number: str) -> str:
    nonce = os.urandom(12)
    sealed = _aead().encrypt(nonce, cpr.encode(), _bound(participant_number))
    return FORMAT_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(token: str, *, participant_number: str) -> str | None:
    """The CPR number, or None when the ciphertext was not made for this participant under this key."""
    if not token.startswith(FORMAT_PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(token[len(FORMAT_PREFIX):].encode())
        return _aead().decrypt(raw[:12], raw[12:], _bound(participant_number)).decode()
    except (InvalidTag, ValueError):
        return None


def digest(cpr: str) -> str:
    key = hashlib.sha256(b"shine-cpr-digest:" + settings.CPR_ENCRYPTION_KEY.encode()).digest()
    return hmac.new(key, cpr.encode(), hashlib.sha256).hexdigest()
