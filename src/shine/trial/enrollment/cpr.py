"""Civil registration numbers (CPR): checked, encrypted at rest (Fernet), and a keyed digest.

The key is ``settings.CPR_ENCRYPTION_KEY`` (environment ``CPR_ENCRYPTION_KEY``; generated under the var
directory in the demo). The digest is HMAC-SHA256 under a key derived from it, so the audit trail can record
that a CPR number was set or changed (and the database can refuse the same person twice) without the 10^7
possible numbers being guessable from a plain hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from shine.trial.errors import Refused

_FORMAT = re.compile(r"^(\d{6})-?(\d{4})$")


def normalise(raw: str) -> str:
    """``DDMMYY-SSSS`` from ``DDMMYYSSSS`` or ``DDMMYY-SSSS``; Refused (field ``cpr``) otherwise."""
    value = (raw or "").strip().replace(" ", "")
    m = _FORMAT.match(value)
    if not m:
        raise Refused("CPR number must be 10 digits, DDMMYY-SSSS", field="cpr")
    date, serial = m.groups()
    day, month, year = int(date[:2]), int(date[2:4]), int(date[4:])
    # any century will do for the check: 29 February needs a leap year, 2000 is one
    try:
        dt.date(2000 + year, month, day)
    except ValueError:
        raise Refused(f"CPR number must start with a date of birth DDMMYY; {date} is not a date", field="cpr") from None
    return f"{date}-{serial}"


def _fernet() -> Fernet:
    return Fernet(settings.CPR_ENCRYPTION_KEY)


def encrypt(cpr: str) -> str:
    return _fernet().encrypt(cpr.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return "(cannot be decrypted with the configured CPR_ENCRYPTION_KEY)"


def digest(cpr: str) -> str:
    key = hashlib.sha256(b"shine-cpr-digest:" + settings.CPR_ENCRYPTION_KEY.encode()).digest()
    return hmac.new(key, cpr.encode(), hashlib.sha256).hexdigest()
