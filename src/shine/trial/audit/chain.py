"""Canonical serialisation of audit events, keyed commitments to blinded values, and the SHA-256 hash chain.

A blinded value (an arm) has two candidates, so any unkeyed hash over it tells a blinded reader which one
was stored. The content hash therefore covers a *commitment* to each blinded value: HMAC-SHA256 under a key
the blinded side never holds, over the value and its place (record, field, side, event time). A blinded
reader receives the commitments in place of the values and can still recompute every hash of the chain.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
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


CONTENT_FIELDS = ("at", "actor_id", "actor", "role", "action", "object_type", "object_id", "changes", "reason",
                  "request_id", "app_version")


def _sha256(data) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


COMMITMENT_PREFIX = "hmac-sha256:"


def commitment(key: bytes, *, object_type: str, object_id: str, at: dt.datetime, field: str, side: int,
               value) -> str:
    """Keyed commitment to one blinded value; ``side`` 0 is the old value, 1 the new one."""
    message = canonical_json([object_type, str(object_id), encode_value(at), field, side, value])
    return COMMITMENT_PREFIX + hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def committed_changes(changes_json: str, blinded: frozenset[str] | set[str], key: bytes, *, object_type: str,
                      object_id: str, at: dt.datetime) -> str:
    """The event's changes (canonical JSON) with each blinded value replaced by its commitment; an empty
    value stays empty (that a value was set is not blinded, only which one)."""
    if not blinded:
        return changes_json
    changes = json.loads(changes_json)
    names = blinded & changes.keys()
    if not names:
        return changes_json
    for name in names:
        changes[name] = [None if v is None else commitment(key, object_type=object_type, object_id=object_id,
                                                           at=at, field=name, side=side, value=v)
                         for side, v in enumerate(changes[name])]
    return canonical_json(changes)


def content_hash(fields: dict) -> str:
    """SHA-256 over an event's canonical content (every field but its id and hashes), ``changes`` being the
    committed form (:func:`committed_changes`)."""
    return _sha256([encode_value(fields[name]) for name in CONTENT_FIELDS])


def seal_hash(*, seq: int, event_id: int, content_hash: str, prev_hash: str) -> str:
    return _sha256([seq, event_id, content_hash, prev_hash])
