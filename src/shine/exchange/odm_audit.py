"""The audit trail as a CDISC ODM 1.3.2 *Archival* Transactional file (``FileType="Transactional"``,
``Archival="Yes"``): one ``AuditRecord`` per audit event, in chain order.

* An event on a participant's record is a ``SubjectData`` transaction: its record type is a form and a
  repeating item group (the mapping is :func:`.odm.audit_mapping`, next to the Snapshot's), the record id the
  repeat key, ``TransactionType`` ``Insert`` (create), ``Remove`` (delete) or ``Update`` (any other change),
  never ``Upsert``; each changed field is an ``ItemData`` with the new value (``IsNull="Yes"`` when cleared) and
  the value it replaced as an ``Annotation/Comment``; the ``AuditRecord`` of the item group holds the user
  (``UserRef``), where (``LocationRef``: the participant's site for a site role, the trial's coordinating
  centre otherwise), the time (``DateTimeStamp``, ISO 8601 with offset), the reason (``ReasonForChange``),
  ``EditPoint`` (``DBAudit`` from the first database lock on, ``Monitoring`` for a monitor,
  ``DataManagement`` for a data manager) and ``SourceID`` (event id, seal number, action, content hash).
* An event on no participant (a login, an export, a monitoring visit) is an ``AuditRecord`` of
  ``ClinicalData/AuditRecords`` with the same content.
* An investigator's casebook signature is a ``Signature`` of the participant's ``SubjectData``, a signed
  monitoring visit report one of ``ClinicalData/Signatures``; their meanings are ``SignatureDef``\\ s in
  ``AdminData`` with the users and locations.

The body is written to temporary files while the users, locations, record types and fields are collected, so
memory does not grow with the events; the header (metadata, admin data) is written first into the final file.
Pure Python (no Django): the trial side (:mod:`shine.trial.reports.audit_export`) gives the events.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import metadata as md
from .odm import GLOBAL_VARIABLES, NS, STUDY_EVENT_OID, AuditFormMap, _esc, _oid_part, audit_mapping

AUDIT_METADATA_VERSION_OID = "MDV.SHINE.AUDIT.1"
CENTRAL = ""  # the location of cross-site work: the trial's coordinating centre
USER_TYPES = ("Investigator", "Sponsor", "Lab", "Other")
EDIT_POINTS = ("Monitoring", "DataManagement", "DBAudit")

# the meanings of the e-signatures that exist: an investigator's casebook signature (21 CFR 11.50, password
# re-entered) and a monitor's signature of a monitoring visit report
SIGNATURE_DEFS: dict[str, tuple[str, str]] = {
    "authorship": ("authorship of the participant's casebook",
                   "21 CFR 11.50 electronic signature of the investigator, password re-entered"),
    "review": ("review of the participant's casebook",
               "21 CFR 11.50 electronic signature of the investigator, password re-entered"),
    "approval": ("approval of the participant's casebook",
                 "21 CFR 11.50 electronic signature of the investigator, password re-entered"),
    "visit_report": ("the monitor's signature of a monitoring visit report",
                     "21 CFR 11.50 electronic signature of the monitor, password re-entered"),
}


@dataclass(frozen=True)
class Signed:
    """An e-signature made by the event: its meaning (a :data:`SIGNATURE_DEFS` key) and time."""

    meaning: str
    at: dt.datetime


@dataclass(frozen=True)
class Event:
    """One audit event as the file shows it (values as the exporting user's role may see them)."""

    event_id: int
    at: dt.datetime  # timezone-aware
    user: str
    user_name: str
    user_type: str  # one of USER_TYPES
    location: str  # site code, or CENTRAL
    action: str
    object_type: str
    object_id: str
    changes: Mapping[str, tuple | list] = field(default_factory=dict)  # field → (old, new)
    reason: str = ""
    edit_point: str | None = None
    seq: int | None = None
    content_hash: str = ""
    subject: str | None = None  # the participant's number when the record is a participant's
    signature: Signed | None = None


def iso(at: dt.datetime) -> str:
    """Full ISO 8601 with microseconds and offset (UTC: ``+00:00``)."""
    if at.tzinfo is None:
        raise ValueError("audit times must carry their offset")
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def cell(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def user_oid(username: str) -> str:
    return _esc("USR." + username)  # an OID is any text: the username as it is, so two never collide


def location_oid(code: str) -> str:
    return _esc("LOC." + code) if code else "LOC.CENTRE"


def transaction_type(action: str) -> str:
    return {"create": "Insert", "delete": "Remove"}.get(action, "Update")


@dataclass
class _Seen:
    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # username → (name, type)
    locations: set[str] = field(default_factory=set)
    forms: dict[str, dict[str, None]] = field(default_factory=dict)  # object_type → fields, ordered
    signatures: set[str] = field(default_factory=set)


def _audit_record(e: Event) -> str:
    edit = f' EditPoint="{e.edit_point}"' if e.edit_point else ""
    reason = f"<ReasonForChange>{_esc(e.reason)}</ReasonForChange>" if e.reason else ""
    source = f"event {e.event_id}, seal {e.seq if e.seq is not None else 'pending'}, {e.action}"
    if e.object_type:
        source += f" {e.object_type} {e.object_id}".rstrip()
    if e.content_hash:
        source += f", content sha256 {e.content_hash}"
    return (f'<AuditRecord ID="AR.{e.event_id}"{edit}><UserRef UserOID="{user_oid(e.user)}"/>'
            f'<LocationRef LocationOID="{location_oid(e.location)}"/><DateTimeStamp>{iso(e.at)}</DateTimeStamp>'
            f"{reason}<SourceID>{_esc(source)}</SourceID></AuditRecord>")


def _signature(e: Event, signed: Signed) -> str:
    return (f'<Signature ID="SG.{e.event_id}"><UserRef UserOID="{user_oid(e.user)}"/>'
            f'<LocationRef LocationOID="{location_oid(e.location)}"/>'
            f'<SignatureRef SignatureOID="SD.{_oid_part(signed.meaning)}"/>'
            f"<DateTimeStamp>{iso(signed.at)}</DateTimeStamp></Signature>")


def _subject_xml(e: Event, form: AuditFormMap) -> str:
    assert e.subject is not None
    kind = transaction_type(e.action) if e.changes or e.action in ("create", "delete") else "Context"
    sig = _signature(e, e.signature) if e.signature else ""
    parts = [f'<SubjectData SubjectKey="{_esc(e.subject)}" TransactionType="Context">{sig}'
             f'<StudyEventData StudyEventOID="{STUDY_EVENT_OID}" TransactionType="Context">'
             f'<FormData FormOID="{form.form_oid}" TransactionType="Context">'
             f'<ItemGroupData ItemGroupOID="{form.group_oid}" ItemGroupRepeatKey="{_esc(e.object_id or "-")}" '
             f'TransactionType="{kind}">{_audit_record(e)}']
    for name in sorted(e.changes):
        old, new = e.changes[name]
        was = (f'<Annotation SeqNum="1"><Comment>{_esc("previous value: " + cell(old))}</Comment></Annotation>'
               if old is not None else "")
        if new is None:
            parts.append(f'<ItemData ItemOID="{form.item_oid(name)}" IsNull="Yes">{was}</ItemData>')
        else:
            parts.append(f'<ItemData ItemOID="{form.item_oid(name)}" Value="{_esc(cell(new))}">{was}</ItemData>')
    parts.append("</ItemGroupData></FormData></StudyEventData></SubjectData>\n")
    return "".join(parts)


def _metadata(seen: _Seen) -> str:
    forms = [audit_mapping(t) for t in seen.forms]
    out = [f'<Study OID="{md.STUDY_OID}">', GLOBAL_VARIABLES,
           f'<MetaDataVersion OID="{AUDIT_METADATA_VERSION_OID}" Name="SHINE audit trail: the audited records"'
           f' Description="each record type of the audit trail, its audited fields as text">',
           f'<Protocol><StudyEventRef StudyEventOID="{STUDY_EVENT_OID}" OrderNumber="1" Mandatory="Yes"/>'
           f"</Protocol>",
           f'<StudyEventDef OID="{STUDY_EVENT_OID}" Name="Trial" Repeating="No" Type="Common">']
    out += [f'<FormRef FormOID="{f.form_oid}" OrderNumber="{i}" Mandatory="No"/>' for i, f in enumerate(forms, 1)]
    out.append("</StudyEventDef>")
    out += [f'<FormDef OID="{f.form_oid}" Name="{_esc(f.object_type)}" Repeating="No">'
            f'<ItemGroupRef ItemGroupOID="{f.group_oid}" Mandatory="No"/></FormDef>' for f in forms]
    for f in forms:
        out.append(f'<ItemGroupDef OID="{f.group_oid}" Name="{_esc(f.object_type)}" Repeating="Yes">')
        out += [f'<ItemRef ItemOID="{f.item_oid(n)}" OrderNumber="{i}" Mandatory="No"/>'
                for i, n in enumerate(seen.forms[f.object_type], 1)]
        out.append("</ItemGroupDef>")
    for f in forms:
        out += [f'<ItemDef OID="{f.item_oid(n)}" Name="{_esc(n)}" DataType="text"/>' for n in seen.forms[f.object_type]]
    out.append("</MetaDataVersion></Study>\n")
    return "".join(out)


def _admin(seen: _Seen, sites: Mapping[str, str]) -> str:
    out = [f'<AdminData StudyOID="{md.STUDY_OID}">']
    for username in sorted(seen.users):
        name, kind = seen.users[username]
        shown = f"<DisplayName>{_esc(name)}</DisplayName>" if name else ""
        out.append(f'<User OID="{user_oid(username)}" UserType="{kind}"><LoginName>{_esc(username)}</LoginName>'
                   f"{shown}</User>")
    for code in sorted(seen.locations):
        name = sites.get(code, code) if code else "SHINE coordinating centre"
        out.append(f'<Location OID="{location_oid(code)}" Name="{_esc(name or code)}" '
                   f'LocationType="{"Site" if code else "Sponsor"}"><MetaDataVersionRef StudyOID="{md.STUDY_OID}" '
                   f'MetaDataVersionOID="{AUDIT_METADATA_VERSION_OID}" EffectiveDate="2024-01-01"/></Location>')
    for meaning in sorted(seen.signatures):
        text_, legal = SIGNATURE_DEFS.get(meaning, (meaning, "electronic signature"))
        out.append(f'<SignatureDef OID="SD.{_oid_part(meaning)}" Methodology="Electronic"><Meaning>{_esc(text_)}'
                   f"</Meaning><LegalReason>{_esc(legal)}</LegalReason></SignatureDef>")
    out.append("</AdminData>\n")
    return "".join(out)


def write_audit(events: Iterable[Event], path: str | Path, *, sites: Mapping[str, str] | None = None,
                single_subject: bool = False, description: str = "", created: str | None = None) -> dict:
    """Write the file; returns the counts (events, subject transactions, other audit records, signatures)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    created = created or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    seen = _Seen()
    counts = {"events": 0, "subject_transactions": 0, "other_audit_records": 0, "signatures": 0}
    with tempfile.TemporaryDirectory(prefix="shine-odm-audit-") as tmp:
        subjects, others, signs = (open(Path(tmp) / n, "w", encoding="utf-8") for n in ("s", "o", "g"))
        with subjects, others, signs:
            for e in events:
                if e.user_type not in USER_TYPES or (e.edit_point and e.edit_point not in EDIT_POINTS):
                    raise ValueError(f"event {e.event_id}: user type {e.user_type!r}, edit point {e.edit_point!r}")
                counts["events"] += 1
                seen.users.setdefault(e.user, (e.user_name, e.user_type))
                seen.locations.add(e.location)
                if e.signature is not None:
                    seen.signatures.add(e.signature.meaning)
                    counts["signatures"] += 1
                if e.subject:
                    fields = seen.forms.setdefault(e.object_type, {})
                    for name in sorted(e.changes):
                        fields.setdefault(name, None)
                    subjects.write(_subject_xml(e, audit_mapping(e.object_type)))
                    counts["subject_transactions"] += 1
                else:
                    others.write(_audit_record(e) + "\n")
                    counts["other_audit_records"] += 1
                    if e.signature is not None:
                        signs.write(_signature(e, e.signature) + "\n")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            fh.write(f'<ODM xmlns="{NS}" FileType="Transactional" Archival="Yes" '
                     f'Granularity="{"SingleSubject" if single_subject else "All"}" FileOID="SHINE.AUDIT.{created}" '
                     f'CreationDateTime="{created}" ODMVersion="1.3.2" SourceSystem="SHINE" SourceSystemVersion="1"'
                     f' Description="{_esc(description or "SHINE audit trail")}">\n')
            fh.write(_metadata(seen))
            fh.write(_admin(seen, sites or {}))
            fh.write(f'<ClinicalData StudyOID="{md.STUDY_OID}" MetaDataVersionOID="{AUDIT_METADATA_VERSION_OID}">\n')
            with open(Path(tmp) / "s", encoding="utf-8") as part:
                shutil.copyfileobj(part, fh)
            for name, tag in (("o", "AuditRecords"), ("g", "Signatures")):
                if (Path(tmp) / name).stat().st_size:
                    fh.write(f"<{tag}>\n")
                    with open(Path(tmp) / name, encoding="utf-8") as part:
                        shutil.copyfileobj(part, fh)
                    fh.write(f"</{tag}>\n")
            fh.write("</ClinicalData>\n</ODM>\n")
    return counts
