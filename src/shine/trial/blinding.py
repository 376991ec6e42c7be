"""The blinding secret: one source (``settings.SHINE_BLINDING_KEY``) and the keys derived from it.

Held by the server and the unblinded side (the DSMB gets it to match A/B to the arms); no blinded role
ever receives it or anything from which it could be computed.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def blinding_key() -> bytes:
    """The secret that codes arms as A/B in blinded exports (``arm_code_map``)."""
    return settings.SHINE_BLINDING_KEY.encode()


def audit_commitment_key() -> bytes:
    """The key of the audit trail's commitments to blinded values (a key of its own, derived from the secret,
    so the A/B coding and the audit never share a key)."""
    return hmac.new(blinding_key(), b"shine-audit-commitment", hashlib.sha256).digest()
