"""Check the audit trail: the hash chain is unbroken, and replaying it rebuilds every audited record."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.utils.translation import gettext as _

from . import anchor as anchor_mod
from . import chain
from .models import AuditedModel, AuditEvent
from .services import content_hash_of, object_type, seal_pending, snapshot

DATA_ACTIONS = ("create", "update", "delete")
_DELETED = object()


@dataclass(frozen=True)
class Verification:
    events: int
    records: int
    first_broken_event: str | None = None
    record_problems: tuple[str, ...] = field(default_factory=tuple)
    anchor_problems: tuple[str, ...] = field(default_factory=tuple)
    anchors: int | None = None  # lines of the anchor file checked; None: no anchor given

    @property
    def ok(self) -> bool:
        return self.first_broken_event is None and not self.record_problems and not self.anchor_problems

    def summary(self) -> str:
        lines = []
        if self.first_broken_event:
            lines.append(_("BROKEN CHAIN: %(problem)s") % {"problem": self.first_broken_event})
        lines += [_("RECORD DIFFERS FROM ITS HISTORY: %(problem)s") % {"problem": p} for p in self.record_problems]
        lines += [_("CHAIN DIFFERS FROM ITS ANCHOR: %(problem)s") % {"problem": p} for p in self.anchor_problems]
        counts = {"events": self.events, "records": self.records, "anchors": self.anchors}
        if self.anchors is None:
            checked = _("%(events)s events, %(records)s audited records checked") % counts
        else:
            checked = _("%(events)s events, %(records)s audited records, %(anchors)s anchors checked") % counts
        lines.append((_("OK: %(checked)s") if self.ok else _("FAILED: %(checked)s")) % {"checked": checked})
        return "\n".join(lines)


def audited_models() -> list[type[AuditedModel]]:
    return [m for m in apps.get_models() if issubclass(m, AuditedModel)]


# seals with their events, a seal whose event row is gone included (an inner join would hide it)
_SEALS_SQL = """
    SELECT s.seq, s.event_id, s.prev_hash, s.hash, e.id FROM audit_auditseal s
    LEFT JOIN audit_auditevent e ON e.id = s.event_id WHERE s.seq > %s ORDER BY s.seq LIMIT %s
"""


def _seals(using: str, chunk: int):
    from django.db import connections

    after = 0
    while True:
        with connections[using].cursor() as cursor:
            cursor.execute(_SEALS_SQL, [after, chunk])
            rows = cursor.fetchall()
        if not rows:
            return
        events = AuditEvent.objects.using(using).in_bulk([r[4] for r in rows if r[4] is not None])
        for seq, event_id, prev_hash, digest, found in rows:
            yield seq, event_id, prev_hash, digest, events.get(found)
        after = rows[-1][0]


def verify(using: str = "default", chunk: int = 2000, anchor: Path | None = None) -> Verification:
    """Check the chain, the replay, and (given an anchor file) the chain against every anchored head."""
    seal_pending(using=using)  # events committed a moment ago get their seal first
    anchored = anchor_mod.read(anchor) if anchor is not None else []
    anchors: dict[int, list[anchor_mod.Anchor]] = {}
    for a in anchored:
        anchors.setdefault(a.seq, []).append(a)
    anchor_problems: list[str] = []
    state: dict[tuple[str, str], dict | object] = {}
    broken = None
    expected_prev, expected_seq, count = chain.GENESIS_HASH, 1, 0
    for seq, event_id, prev_hash, digest, ev in _seals(using, chunk):
        count += 1
        for a in anchors.pop(seq, ()):
            if a.hash != digest:
                anchor_problems.append(f"seal #{seq} has a hash other than the one anchored on line {a.line} "
                                       "(the chain was rewritten)")
        if broken is None:
            where = f"seal #{seq} (event {event_id})"
            if ev is None:
                broken = f"{where}: the event it seals is missing (deleted)"
            elif seq != expected_seq:
                broken = f"{where}: expected seal #{expected_seq} (seals missing)"
            elif prev_hash != expected_prev:
                broken = f"{where}: previous-hash does not match seal #{seq - 1}"
            elif content_hash_of(ev) != ev.content_hash:
                broken = f"{where}: event content does not match its hash (altered)"
            elif chain.seal_hash(seq=seq, event_id=ev.pk, content_hash=ev.content_hash,
                                 prev_hash=prev_hash) != digest:
                broken = f"{where}: seal hash does not match (altered)"
        expected_prev, expected_seq = digest, seq + 1
        if ev is not None and ev.action in DATA_ACTIONS:
            _apply(state, ev)
    for seq, lost in sorted(anchors.items()):
        anchor_problems.append(f"seal #{seq}, anchored on line {lost[0].line}, is missing: the trail was cut "
                               f"short (it ends at seal #{expected_seq - 1})")
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
    problems += _record_checks(using)
    return Verification(events=count, records=records, first_broken_event=broken, record_problems=tuple(problems),
                        anchor_problems=tuple(anchor_problems), anchors=None if anchor is None else len(anchored))


def _record_checks(using: str) -> list[str]:
    """Checks an audited model defines on its own rows (``audit_integrity``: e.g. that an encrypted value
    belongs to the record that holds it)."""
    out = []
    for model in audited_models():
        check = getattr(model, "audit_integrity", None)
        if check is not None:
            out += check(model._default_manager.using(using))
    return out


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
