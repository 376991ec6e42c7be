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


CONTENT_FIELDS = ("at", "actor_id", "actor", "role", "action", "object_type", "object_id", "changes", "reason",
                  "request_id", "app_version")


def _sha256(data) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def content_hash(fields: dict) -> str:
    """SHA-256 over an event's canonical content (every field but its id and hashes)."""
    return _sha256([encode_value(fields[name]) for name in CONTENT_FIELDS])


def content_hash_of(event) -> str:
    return content_hash({name: getattr(event, name) for name in CONTENT_FIELDS})


def seal_hash(*, seq: int, event_id: int, content_hash: str, prev_hash: str) -> str:
    return _sha256([seq, event_id, content_hash, prev_hash])
