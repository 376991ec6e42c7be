"""The audit trail as a file for an inspector or the archive (docs/exports.md): ``audit-trail.csv`` with one
row per changed field of each event (an event without field changes, such as a login, is one row), in chain
order, and ``manifest.json`` with the file's SHA-256 and the chain verification's result at the time of the
export. A blinded role's file holds the keyed commitments of blinded values, never the values (as on the
audit page), so it can still recompute every content hash.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from shine.trial.accounts.models import User
from shine.trial.audit import services as audit
from shine.trial.audit.selectors import AuditFilter, events, seal_of, visible_changes
from shine.trial.audit.services import Actor

COLUMNS = ("seq", "event_id", "at", "actor", "role", "action", "object_type", "object_id", "field", "old", "new",
           "reason", "request_id", "app_version", "content_hash", "seal_hash")


def _cell(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def export_audit_trail(out_dir: str | Path, *, user: User, object_type: str = "", object_id: str = "",
                       request_id: str = "") -> dict:
    """Write the trail (or the events of one record) as the user's role may see it; returns the manifest."""
    from shine.trial.audit.verify import verify

    qs = events(user, AuditFilter(object_type=object_type, object_id=object_id)).order_by("id")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "audit-trail.csv"
    count = rows = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for event in qs.iterator(chunk_size=2000):
            seal = seal_of(event)
            base = [seal["seq"] or "", event.pk, event.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
                    event.actor, event.role, event.action, event.object_type, event.object_id]
            tail = [event.reason, event.request_id, event.app_version, event.content_hash, seal["hash"] or ""]
            changes = visible_changes(event, user)
            for field in sorted(changes) or [None]:
                old, new = changes[field] if field is not None else (None, None)
                writer.writerow([*base, field or "", _cell(old), _cell(new), *tail])
                rows += 1
            count += 1
    result = verify()
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = {"trial": "SHINE", "created": timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds"),
                "exported_by": user.username, "role": user.role, "blinded": user.role_def.blinded,
                "scope": {"object_type": object_type, "object_id": object_id} if object_type else "whole trial",
                "events": count, "rows": rows,
                "chain_verification": {"ok": result.ok, "summary": result.summary(), "events": result.events,
                                       "first_broken_event": result.first_broken_event},
                "files": {path.name: {"bytes": path.stat().st_size, "sha256": sha}}}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    with transaction.atomic():
        audit.record(actor=Actor.of(user, request_id), action="export", object_type="reports.audit_trail",
                     object_id=object_type and f"{object_type}:{object_id}",
                     changes={"events": [None, count], "sha256": [None, sha]})
    return manifest
