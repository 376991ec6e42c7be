"""The arm column of the analysis export, always obtained from the allocation module.

* Unblinded export: :func:`unblinded_arms` asks ``allocations_for(user)``, which checks ``VIEW_ALLOCATION``.
* Blinded export: :func:`coded_arms` gets A/B codes from ``allocation.selectors.coded_groups``, coded as
  ``shine.analysis`` codes an unblinded data set (``arm_code_map``, keyed with ``SHINE_BLINDING_KEY``), so a
  DSMB holding the unblinded export and the key gets the same labels: ``load(unblinded).blind(key)``.
"""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from shine.trial.accounts.models import User


def unblinded_arms(user: User) -> dict[str, str]:
    """Participant number → arm, through the allocation module (403 unless the role may see arms)."""
    from shine.trial.allocation.selectors import allocations_for

    return {a.participant.number: a.slot.arm for a in allocations_for(user).iterator(chunk_size=500)}


def blinding_key() -> bytes:
    """``SHINE_BLINDING_KEY``; in the demo a key kept under the var folder is made when unset."""
    key = os.environ.get("SHINE_BLINDING_KEY", "")
    if key:
        return key.encode()
    if getattr(settings, "PRODUCTION", False):
        raise ImproperlyConfigured("SHINE_BLINDING_KEY must be set in production for a blinded export "
                                   "(the DSMB needs the same key to match A/B to the arms)")
    path = settings.VAR_DIR / "blinding_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def coded_arms(numbers: set[str], key: bytes | None = None) -> dict[str, str]:
    """Participant number → A/B for the participants of a blinded export (coded inside the allocation module)."""
    from shine.trial.allocation.selectors import coded_groups

    return coded_groups(numbers, key if key is not None else blinding_key())
