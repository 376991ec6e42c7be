"""Check the audit trail: the hash chain is unbroken, and replaying it rebuilds every audited record."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.apps import apps

from . import chain
from .models import AuditedModel, AuditEvent, AuditSeal
from .services import object_type, seal_pending, snapshot

DATA_ACTIONS = ("create", "update", "delete")
_DELETED = object()


@dataclass(frozen=True)
class Verification:
    events: int
    records: int
    first_broken_event: str | None = None
    record_problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.first_broken_event is None and not self.record_problems

    def summary(self) -> str:
        lines = []
        if self.first_broken_event:
            lines.append(f"BROKEN CHAIN: {self.first_broken_event}")
        lines += [f"RECORD DIFFERS FROM ITS HISTORY: {p}" for p in self.record_problems]
        lines.append(f"{'OK' if self.ok else 'FAILED'}: {self.events} events, {self.records} audited records checked")
        return "\n".join(lines)


def audited_models() -> list[type[AuditedModel]]:
    return [m for m in apps.get_models() if issubclass(m, AuditedModel)]


def verify(using: str = "default", chunk: int = 2000) -> Verification:
    seal_pending(using=using)  # events committed a moment ago get their seal first
    state: dict[tuple[str, str], dict | object] = {}
    broken = None
    expected_prev, expected_seq, count = chain.GENESIS_HASH, 1, 0
    seals = AuditSeal.objects.using(using).select_related("event").order_by("seq")
    for seal in seals.iterator(chunk_size=chunk):
        ev = seal.event
        count += 1
        if broken is None:
            where = f"seal #{seal.seq} (event {ev.pk})"
            if seal.seq != expected_seq:
                broken = f"{where}: expected seal #{expected_seq} (seals missing)"
            elif seal.prev_hash != expected_prev:
                broken = f"{where}: previous-hash does not match seal #{seal.seq - 1}"
            elif chain.content_hash_of(ev) != ev.content_hash:
                broken = f"{where}: event content does not match its hash (altered)"
            elif chain.seal_hash(seq=seal.seq, event_id=ev.pk, content_hash=ev.content_hash,
                                 prev_hash=seal.prev_hash) != seal.hash:
                broken = f"{where}: seal hash does not match (altered)"
        expected_prev, expected_seq = seal.hash, seal.seq + 1
        if ev.action in DATA_ACTIONS:
            _apply(state, ev)
    unsealed = AuditEvent.objects.using(using).filter(seal__isnull=True).order_by("id").first()
    if broken is None and unsealed is not None:
        broken = f"event {unsealed.pk}: not in the chain (no seal)"
    if broken is None:
        total = AuditEvent.objects.using(using).count()
        if total != count:
            broken = f"{total - count} event(s) are not in the chain"

    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    records = 0
    for model in audited_models():
        otype = object_type(model)
        for row in model._default_manager.using(using).order_by("pk").iterator(chunk_size=chunk):
            records += 1
            key = (otype, str(row.pk))
            seen.add(key)
            replayed = state.get(key)
            if replayed is None or replayed is _DELETED:
                problems.append(f"{otype} {row.pk}: exists but has no {'create' if replayed is None else 'live'} "
                                "event in the audit trail")
                continue
            current = snapshot(row)
            diffs = [f"{k}={current.get(k)!r} but history says {replayed.get(k)!r}"
                     for k in sorted(set(current) | set(replayed)) if current.get(k) != replayed.get(k)]
            if diffs:
                problems.append(f"{otype} {row.pk}: " + "; ".join(diffs))
    for key, replayed in state.items():
        if replayed is not _DELETED and key not in seen:
            problems.append(f"{key[0]} {key[1]}: in the audit trail but missing from the database")
    return Verification(events=count, records=records, first_broken_event=broken, record_problems=tuple(problems))


def _apply(state: dict, ev: AuditEvent) -> None:
    key = (ev.object_type, ev.object_id)
    changes = json.loads(ev.changes)
    if ev.action == "delete":
        state[key] = _DELETED
        return
    current = {} if ev.action == "create" or state.get(key) in (None, _DELETED) else dict(state[key])
    for name, (_old, new) in changes.items():
        current[name] = new
    state[key] = current
