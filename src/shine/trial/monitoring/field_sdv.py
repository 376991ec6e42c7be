"""Source data verification of single fields (docs/monitoring.md, "SDV per field").

A field verification stores the SHA-256 of the field's value and the record's version (audit event) when the
monitor compared it with the source. The field asks for re-verification as soon as an audit event after that
version changes it (even back to the verified value): the change's own event is what moved it, so any write
path is seen without a hook in the records app. The record's other verified fields stay verified.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shine.trial.accounts.models import User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.audit import services as audit
from shine.trial.audit.chain import canonical_json
from shine.trial.audit.models import AuditEvent
from shine.trial.audit.services import Actor
from shine.trial.enrollment.models import Participant
from shine.trial.errors import Refused, entered_text

from . import casebook, labels
from .models import FieldVerification

NOTE_LIMIT = 400
FIELDS_LIMIT = 60  # fields verified in one go (a daily record has about 30)


def value_hash(value) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FieldRow:
    field: str
    value: object                       # as the audit trail encodes it
    status: str                         # "verified", "re-verify", "not verified"
    verification: FieldVerification | None
    changed_by_event: int | None        # the audit event that changed the field after its verification

    @property
    def label(self) -> str:
        return labels.field_label(self.field)


def _changed_fields_after(object_type: str, object_id: str, after: int) -> dict[str, int]:
    """Field -> the first audit event after ``after`` that changed it."""
    out: dict[str, int] = {}
    for pk, changes in AuditEvent.objects.filter(object_type=object_type, object_id=object_id,
                                                 id__gt=after).order_by("id").values_list("id", "changes"):
        try:
            names = json.loads(changes or "{}")
        except ValueError:
            continue
        for name in names if isinstance(names, dict) else ():
            out.setdefault(name, pk)
    return out


def _latest(participant: Participant, object_type: str | None = None,
            object_id: str | None = None) -> dict[tuple[str, str, str], FieldVerification]:
    qs = FieldVerification.objects.filter(participant=participant).select_related("verified_by").order_by("pk")
    if object_type is not None:
        qs = qs.filter(object_type=object_type, object_id=object_id)
    return {(v.object_type, v.object_id, v.field): v for v in qs}


def field_rows(participant: Participant, entry: casebook.Entry) -> list[FieldRow]:
    """Each entered field of the record with its verification status."""
    latest = _latest(participant, entry.object_type, entry.object_id)
    values = audit.snapshot(entry.instance)
    changed: dict[int, dict[str, int]] = {}  # verified version -> fields changed after it
    rows = []
    for name in casebook.record_fields(entry.instance):
        v = latest.get((entry.object_type, entry.object_id, name))
        event = None
        if v is None:
            status = "not verified"
        else:
            if v.version_event not in changed:
                changed[v.version_event] = _changed_fields_after(entry.object_type, entry.object_id, v.version_event)
            event = changed[v.version_event].get(name)
            status = "re-verify" if event is not None or v.value_hash != value_hash(values.get(name)) \
                else "verified"
        rows.append(FieldRow(name, values.get(name), status, v, event))
    return rows


@dataclass(frozen=True)
class FieldSummary:
    verified: int
    reverify: int


def summaries(participant: Participant, entries: list[casebook.Entry]) -> dict[tuple[str, str], FieldSummary]:
    """(object_type, object_id) -> counts of verified and re-verify fields, for the records with any."""
    latest = _latest(participant)
    if not latest:
        return {}
    by_entry = {(e.object_type, e.object_id): e for e in entries}
    out: dict[tuple[str, str], list[int]] = {}
    for (t, i, name), v in latest.items():
        e = by_entry.get((t, i))
        if e is None:
            continue
        counts = out.setdefault((t, i), [0, 0])
        current = audit.snapshot(e.instance).get(name)
        stale = v.version_event != e.version_event and name in _changed_fields_after(t, i, v.version_event)
        counts[1 if stale or v.value_hash != value_hash(current) else 0] += 1
    return {k: FieldSummary(*c) for k, c in out.items()}


def reverify_count(participant: Participant) -> int:
    """Fields of the participant's records verified and changed since."""
    return sum(s.reverify for s in summaries(participant, casebook.entries(participant)).values())


def verify_fields(*, user: User, participant: Participant, form: str, object_id, fields: list[str],
                  note: str = "", request_id: str = "") -> list[FieldVerification]:
    """Record that the current values of some fields of a record match the source (all or none)."""
    require(user, Perm.VERIFY_SOURCE)
    note = entered_text("note", note, label=_("source compared"), limit=NOTE_LIMIT)
    if form not in casebook.FORMS:
        raise Refused(_("form must be one of %(forms)s") % {"forms": ", ".join(casebook.FORMS)}, field="form")
    if not isinstance(fields, (list, tuple)) or not fields:
        raise Refused(_("fields: choose at least one field to verify"), field="fields")
    if len(fields) > FIELDS_LIMIT:
        raise Refused(_("fields: at most %(limit)s in one verification") % {"limit": FIELDS_LIMIT}, field="fields")
    with transaction.atomic():
        from .services import record_entry

        e = record_entry(participant, form, object_id)
        allowed = casebook.record_fields(e.instance)
        wanted = []
        for name in fields:
            if not isinstance(name, str) or name not in allowed:
                raise Refused(_("fields: %(name)s is not a field of %(record)s; fields: %(fields)s") % {
                    "name": repr(str(name)[:40]), "record": labels.record_label(e.label),
                    "fields": ", ".join(labels.field_label(n) for n in allowed)}, field="fields")
            if name not in wanted:
                wanted.append(name)
        status = {r.field: r.status for r in field_rows(participant, e)}
        already = [n for n in wanted if status.get(n) == "verified"]
        if already:
            raise Refused(_("already verified in their current value: %(fields)s")
                          % {"fields": ", ".join(labels.field_label(n) for n in already)}, field="fields", status=409)
        values, actor, now = audit.snapshot(e.instance), Actor.of(user, request_id), timezone.now()
        return [audit.create(FieldVerification, actor=actor, participant=participant, object_type=e.object_type,
                             object_id=e.object_id, form=form, field=name, value_hash=value_hash(values.get(name)),
                             version_event=e.version_event or 0, note=note, verified_by=user, verified_at=now)
                for name in wanted]
