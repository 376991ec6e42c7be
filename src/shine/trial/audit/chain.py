"""Canonical serialisation of audit events and their SHA-256 hash chain."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid

GENESIS_HASH = "0" * 64


def encode_value(value):
    """A JSON-safe, canonical form of a field value (the form stored in and replayed from the trail)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in audited data")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode_value(v) for k, v in value.items()}
    raise TypeError(f"cannot audit a value of type {type(value).__name__}")


def canonical_json(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_hash(*, seq: int, at: dt.datetime, actor_id, actor: str, role: str, action: str, object_type: str,
               object_id: str, changes: str, reason: str, request_id: str, app_version: str,
               prev_hash: str) -> str:
    payload = canonical_json([
        seq, encode_value(at), actor_id, actor, role, action, object_type, object_id, changes, reason,
        request_id, app_version, prev_hash,
    ])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def hash_of(event) -> str:
    """Recompute the hash of a stored :class:`AuditEvent` from its fields."""
    return event_hash(seq=event.seq, at=event.at, actor_id=event.actor_id, actor=event.actor, role=event.role,
                      action=event.action, object_type=event.object_type, object_id=event.object_id,
                      changes=event.changes, reason=event.reason, request_id=event.request_id,
                      app_version=event.app_version, prev_hash=event.prev_hash)
