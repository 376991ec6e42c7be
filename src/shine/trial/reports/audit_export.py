"""The audit trail as a file for an inspector or the archive (docs/exports.md), for the whole trial, one record
or one participant:

* ``csv`` (default): ``audit-trail.csv`` with one row per changed field of each event (an event without field
  changes, such as a login, is one row), in chain order;
* ``odm``: ``audit-trail-odm.xml``, a CDISC ODM 1.3.2 Archival Transactional file with one ``AuditRecord``
  per event and the e-signatures as ``Signature``\\ s (:mod:`shine.exchange.odm_audit`).

Either way ``manifest.json`` holds the file's SHA-256 and the chain verification's result at the time of the
export. A blinded role's file holds the keyed commitments of blinded values, never the values (as on the
audit page), so it can still recompute every content hash.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shine.exchange import odm_audit
from shine.trial.accounts.models import Membership, User
from shine.trial.accounts.roles import ROLES
from shine.trial.audit import services as audit
from shine.trial.audit.models import AuditedModel
from shine.trial.audit.selectors import AuditFilter, events, seal_of, visible_changes
from shine.trial.audit.services import Actor
from shine.trial.audit.services import object_type as type_of
from shine.trial.enrollment.models import Participant, Screening
from shine.trial.errors import Refused

COLUMNS = ("seq", "event_id", "at", "actor", "role", "action", "object_type", "object_id", "field", "old", "new",
           "reason", "request_id", "app_version", "content_hash", "seal_hash")
FORMATS = ("csv", "odm")
FILE_NAMES = {"csv": "audit-trail.csv", "odm": "audit-trail-odm.xml"}
CHUNK = 2000


def _cell(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


# ---------------------------------------------------------------- which participant an event's record belongs to

def subject_paths() -> dict[str, tuple[str, str]]:
    """Record type → (lookup of the participant's number, lookup of the site's code) for every audited record
    that belongs to a participant: the participant, its screening, records with a ``participant`` and records
    of such a record (a query's messages)."""
    out: dict[str, tuple[str, str]] = {type_of(Participant): ("number", "site__code"),
                                       type_of(Screening): ("participant__number", "site__code")}
    direct: dict[type, str] = {}
    models = [m for m in apps.get_models() if issubclass(m, AuditedModel) and m not in (Participant, Screening)]
    for model in models:
        try:
            f = model._meta.get_field("participant")
        except FieldDoesNotExist:
            continue
        if f.is_relation and f.related_model is Participant:
            direct[model] = "participant"
            out[type_of(model)] = ("participant__number", "participant__site__code")
    for model in models:
        if model in direct:
            continue
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model in direct:
                out[type_of(model)] = (f"{f.name}__participant__number", f"{f.name}__participant__site__code")
                break
    return out


def _resolve(chunk: list, paths: dict[str, tuple[str, str]]) -> dict[tuple[str, str], tuple[str | None, str]]:
    """(object_type, object_id) → (participant number or None, site code or "") for a chunk of events; a
    deleted record is found through the participant named in the event's own changes."""
    wanted: dict[str, set[str]] = {}
    for e in chunk:
        if e.object_type in paths and e.object_id:
            wanted.setdefault(e.object_type, set()).add(e.object_id)
    out: dict[tuple[str, str], tuple[str | None, str]] = {}
    for t, ids in wanted.items():
        number, site = paths[t]
        model = apps.get_model(t)
        pks = [i for i in ids if i.isdigit()]
        for pk, n, s in model.objects.filter(pk__in=pks).values_list("pk", number, site):
            out[(t, str(pk))] = (n, s or "")
    missing = {}
    for e in chunk:
        key = (e.object_type, e.object_id)
        if key in out or e.object_type not in paths:
            continue
        pid = json.loads(e.changes).get("participant_id")
        pid = next((v for v in (pid or []) if isinstance(v, int)), None)
        if pid is not None:
            missing[key] = pid
    if missing:
        found = dict((pk, (n, s)) for pk, n, s in Participant.objects.filter(pk__in=set(missing.values()))
                     .values_list("pk", "number", "site__code"))
        out.update({key: found[pid] for key, pid in missing.items() if pid in found})
    return out


def participant_scope(number: str) -> Q:
    """The events of every record of one participant (a deleted record's events through its creation's
    participant)."""
    p = Participant.objects.filter(number=number).first()
    if p is None:
        raise Refused(_("no participant %(number)s") % {"number": number}, "participant", status=404)
    from shine.trial.audit.models import AuditEvent

    paths = subject_paths()
    ids: dict[str, set[str]] = {}
    for t, (path, _site) in paths.items():
        ids[t] = {str(pk) for pk in apps.get_model(t).objects.filter(**{path: number}).values_list("pk", flat=True)}
    for t, i in (AuditEvent.objects.filter(action="delete", object_type__in=list(paths),
                                           changes__contains=f'"participant_id":[{p.pk},')
                 .values_list("object_type", "object_id")):
        ids[t].add(i)
    q = Q(pk__in=[])
    for t, found in ids.items():
        if found:
            q |= Q(object_type=t, object_id__in=sorted(found))
    return q


# ---------------------------------------------------------------- the two writers

def _write_csv(qs, path: Path, user: User) -> dict:
    count = rows = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for event in qs.iterator(chunk_size=CHUNK):
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
    return {"events": count, "rows": rows}


def _user_type(role: str) -> str:
    r = ROLES.get(role)
    if r is None:
        return "Other"
    return "Sponsor" if r.cross_site else "Investigator"


def _edit_point(role: str, at: dt.datetime, locked_from: dt.datetime | None) -> str | None:
    if locked_from is not None and at >= locked_from:
        return "DBAudit"
    return {"monitor": "Monitoring", "data_manager": "DataManagement"}.get(role)


def _time(value, fallback: dt.datetime) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return fallback
    return parsed if parsed.tzinfo else fallback


def _signed(event, changes: dict) -> odm_audit.Signed | None:
    if event.object_type == "monitoring.signature" and event.action == "create":
        meaning = (changes.get("meaning") or [None, None])[1]
        at = (changes.get("signed_at") or [None, None])[1]
        return odm_audit.Signed(str(meaning or "review"), _time(at, event.at))
    if event.object_type == "monitoring.monitoringvisit":
        at = (changes.get("signed_at") or [None, None])[1]
        if at:
            return odm_audit.Signed("visit_report", _time(at, event.at))
    return None


def odm_events(qs, user: User) -> Iterator[odm_audit.Event]:
    """The events of ``qs`` (chain order) as the ODM file shows them, resolved chunk by chunk."""
    from shine.trial.monitoring.models import DatabaseLock

    locked_from = DatabaseLock.objects.aggregate(first=Min("locked_at"))["first"]
    names = dict(User.objects.values_list("username", "full_name"))
    home: dict[str, str] = {}
    for username, code in Membership.objects.order_by("pk").values_list("user__username", "site__code"):
        home.setdefault(username, code)
    paths = subject_paths()
    chunk: list = []

    def flush() -> Iterator[odm_audit.Event]:
        subjects = _resolve(chunk, paths)
        for event in chunk:
            subject, site = subjects.get((event.object_type, event.object_id), (None, ""))
            user_type = _user_type(event.role)
            location = (site or home.get(event.actor, "")) if user_type == "Investigator" else odm_audit.CENTRAL
            changes = visible_changes(event, user)
            yield odm_audit.Event(
                event_id=event.pk, at=event.at, user=event.actor, user_name=names.get(event.actor, ""),
                user_type=user_type, location=location, action=event.action, object_type=event.object_type,
                object_id=event.object_id, changes=changes, reason=event.reason,
                edit_point=_edit_point(event.role, event.at, locked_from), seq=seal_of(event)["seq"],
                content_hash=event.content_hash, subject=subject, signature=_signed(event, changes))
        chunk.clear()

    for event in qs.iterator(chunk_size=CHUNK):
        chunk.append(event)
        if len(chunk) >= CHUNK:
            yield from flush()
    yield from flush()


def _write_odm(qs, path: Path, user: User, *, single_subject: bool) -> dict:
    from shine.trial.accounts.models import Site

    counts = odm_audit.write_audit(odm_events(qs, user), path, sites=dict(Site.objects.values_list("code", "name")),
                                   single_subject=single_subject,
                                   description="SHINE audit trail" + (" (blinded view)" if user.role_def.blinded
                                                                      else ""))
    return {"events": counts["events"], "subject_transactions": counts["subject_transactions"],
            "other_audit_records": counts["other_audit_records"], "signatures": counts["signatures"]}


def export_audit_trail(out_dir: str | Path, *, user: User, object_type: str = "", object_id: str = "",
                       participant: str = "", format: str = "csv", request_id: str = "") -> dict:
    """Write the trail (or the events of one record, or of one participant) as the user's role may see it;
    returns the manifest."""
    from shine.trial.audit.verify import verify

    if format not in FORMATS:
        raise Refused(_("format must be one of %(formats)s") % {"formats": ", ".join(FORMATS)}, "format")
    qs = events(user, AuditFilter(object_type=object_type, object_id=object_id)).order_by("id")
    if participant:
        qs = qs.filter(participant_scope(participant))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / FILE_NAMES[format]
    if format == "csv":
        counts = _write_csv(qs, path, user)
    else:
        counts = _write_odm(qs, path, user, single_subject=bool(participant))
    result = verify()
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if participant:
        scope: dict | str = {"participant": participant}
    elif object_type:
        scope = {"object_type": object_type, "object_id": object_id}
    else:
        scope = "whole trial"
    manifest = {"trial": "SHINE", "created": timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds"),
                "exported_by": user.username, "role": user.role, "blinded": user.role_def.blinded,
                "format": format, "scope": scope, **counts,
                "chain_verification": {"ok": result.ok, "summary": result.summary(), "events": result.events,
                                       "first_broken_event": result.first_broken_event},
                "files": {path.name: {"bytes": path.stat().st_size, "sha256": sha}}}
    if format == "odm":
        manifest["odm"] = {"version": "1.3.2", "file_type": "Transactional", "archival": True}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    scope_id = f"participant:{participant}" if participant else (object_type and f"{object_type}:{object_id}")
    with transaction.atomic():
        audit.record(actor=Actor.of(user, request_id), action="export", object_type="reports.audit_trail",
                     object_id=scope_id, changes={"events": [None, counts["events"]], "sha256": [None, sha],
                                                  "format": [None, format]})
    return manifest
