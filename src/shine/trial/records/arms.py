"""The arm column of the analysis export: the only place in this app that touches allocation.

* Unblinded export: :func:`unblinded_arms` asks the allocation module (``allocations_for(user)``, which
  checks ``VIEW_ALLOCATION`` itself).
* Blinded export: :func:`coded_arms` writes A/B, coded exactly as ``shine.analysis`` codes an unblinded data
  set (``Dataset.blind(secret)``: the lowest bit of the first byte of HMAC-SHA-256 over
  ``"arm-code\\n" + "pid:arm\\n…"`` in participant order, keyed with ``SHINE_BLINDING_KEY``). So a DSMB
  holding the unblinded export and the key gets the same A/B labels: ``load(unblinded).blind(key)``.

The allocation module has no user-free function for the coding yet: :func:`_arms_for_coding` reads the
allocation's arm in one query, here only, and returns nothing but A/B codes. It belongs in
``shine.trial.allocation.selectors`` (reported to the lead); replace its body by that call once it exists.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from shine import protocol as protocol_mod
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


def code_map(allocation: list[tuple[str, str]], key: bytes) -> dict[str, str]:
    """Arm → A/B as ``shine.analysis.dataset.Dataset.blind`` computes it for these (pid, arm) pairs."""
    active, control = protocol_mod.load().arms
    text = "\n".join(f"{pid}:{arm}" for pid, arm in sorted(allocation))
    digest = hmac.new(key, ("arm-code\n" + text).encode(), hashlib.sha256).digest()
    return {active: "A", control: "B"} if digest[0] % 2 == 0 else {active: "B", control: "A"}


def _arms_for_coding(numbers: set[str]) -> list[tuple[str, str]]:
    from shine.trial.allocation.models import Allocation

    rows = Allocation.objects.filter(participant__number__in=numbers).values_list("participant__number", "slot__arm")
    return list(rows.iterator(chunk_size=1000))


def coded_arms(numbers: set[str], key: bytes | None = None) -> dict[str, str]:
    """Participant number → A/B for the participants of a blinded export."""
    allocation = _arms_for_coding(numbers)
    codes = code_map(allocation, key if key is not None else blinding_key())
    return {pid: codes[arm] for pid, arm in allocation}
