"""The arm column of the analysis export, always obtained from the allocation module.

* Unblinded export: :func:`unblinded_arms` asks ``allocations_for(user)``, which checks ``VIEW_ALLOCATION``.
* Blinded export: :func:`coded_arms` gets A/B codes from ``allocation.selectors.coded_groups``, coded as
  ``shine.analysis`` codes an unblinded data set (``arm_code_map``, keyed with ``shine.trial.blinding``'s
  secret), so a DSMB holding the unblinded export and the key gets the same labels:
  ``load(unblinded).blind(key)``.
"""

from __future__ import annotations

from shine.trial.accounts.models import User
from shine.trial.blinding import blinding_key


def unblinded_arms(user: User) -> dict[str, str]:
    """Participant number → arm, through the allocation module (403 unless the role may see arms)."""
    from shine.trial.allocation.selectors import allocations_for

    return {a.participant.number: a.slot.arm for a in allocations_for(user).iterator(chunk_size=500)}


def coded_arms(numbers: set[str], key: bytes | None = None) -> dict[str, str]:
    """Participant number → A/B for the participants of a blinded export (coded inside the allocation module)."""
    from shine.trial.allocation.selectors import coded_groups

    return coded_groups(numbers, key if key is not None else blinding_key())
