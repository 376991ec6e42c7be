"""The only way to write trial data: each write and its audit event in one transaction.

    from shine.trial.audit import services as audit
    site = audit.create(Site, actor=actor, code="RH", name="Rigshospitalet")
    audit.update(site, actor=actor, reason="typo in the name", name="Rigshospitalet, Copenhagen")

Creating a record needs no reason; changing a value after its first save does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connections, models, router, transaction
from django.utils.translation import gettext as _

from shine.trial.blinding import audit_commitment_key
from shine.trial.errors import Refused

from . import anchor, chain
from .models import AuditedModel, AuditEvent, AuditSeal, _write_permit

# pg_advisory_xact_lock key that serialises appends to the seal chain (ASCII "SHINEAUD")
CHAIN_LOCK_KEY = 0x5348494E45415544 & 0x7FFFFFFFFFFFFFFF


REASON_LIMIT = 2000  # characters of the reason for a change or a deletion


class ReasonRequired(ValueError):
    """A saved value was changed without a reason for the change (or with one over REASON_LIMIT characters)."""

    field = "reason"


@dataclass(frozen=True)
class Actor:
    """Who is writing: a user with their role, or a system command; with the request it came from."""

    username: str
    role: str
    user_id: int | None = None
    request_id: str = ""

    @classmethod
    def of(cls, user, request_id: str = "") -> Actor:
        return cls(username=user.username, role=user.role, user_id=user.pk, request_id=request_id)

    @classmethod
    def system(cls, command: str) -> Actor:
        return cls(username=f"system:{command}", role="system")


@contextlib.contextmanager
def audited_writes():
    """Permit writes to audited models (only the helpers below and their callers open it)."""
    token = _write_permit.set(True)
    try:
        yield
    finally:
        _write_permit.reset(token)


def snapshot(instance: AuditedModel) -> dict:
    """The audited fields of a record in canonical form, keyed by column attribute name."""
    out = {}
    for field in instance._meta.concrete_fields:
        if field.primary_key or field.name in instance.audit_exclude or field.attname in instance.audit_exclude:
            continue
        out[field.attname] = chain.encode_value(field.value_from_object(instance))
    return out


def object_type(model) -> str:
    return model._meta.label_lower


@functools.cache
def blinded_fields(object_type: str) -> frozenset[str]:
    """The fields of a record type whose values blinded roles never see (``audit_blinded``, by name and
    column name); empty for non-data events."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return frozenset()
    if not issubclass(model, AuditedModel):
        return frozenset()
    names = set(model.audit_blinded)
    names |= {f.attname for f in model._meta.concrete_fields if f.name in names}
    return frozenset(names)


def committed_changes(*, object_type: str, object_id: str, at: dt.datetime, changes: str) -> str:
    """The event's changes as its content hash covers them: blinded values replaced by their commitments."""
    return chain.committed_changes(changes, blinded_fields(object_type), audit_commitment_key(),
                                   object_type=object_type, object_id=object_id, at=at)


def content_hash(fields: dict) -> str:
    """The content hash of an event's fields (``changes`` as stored, in plain canonical JSON)."""
    return chain.content_hash({**fields, "changes": committed_changes(
        object_type=fields["object_type"], object_id=fields["object_id"], at=fields["at"],
        changes=fields["changes"])})


def content_hash_of(event: AuditEvent) -> str:
    return content_hash({name: getattr(event, name) for name in chain.CONTENT_FIELDS})


def record(*, actor: Actor, action: str, object_type: str = "", object_id: str = "", changes: dict | None = None,
           reason: str = "", using: str = "default") -> AuditEvent:
    """Append one event inside the transaction of the write it records, and seal it there when it can."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record() must run inside the transaction of the write it records")
    fields = dict(
        at=dt.datetime.now(dt.UTC), actor_id=actor.user_id, actor=actor.username, role=actor.role, action=action,
        object_type=object_type, object_id=str(object_id),
        changes=chain.canonical_json(chain.encode_value(changes or {})), reason=reason,
        request_id=actor.request_id, app_version=settings.SHINE_VERSION,
    )
    event = AuditEvent(content_hash=content_hash(fields), **fields)
    locked = _insert_event(event, connection)
    _seal(using=using, wait=False, floor=event.pk - SEAL_LOOKBACK, locked=locked)
    return event


def _insert_event(event: AuditEvent, connection) -> bool | None:
    """INSERT the event (its values prepared by its fields, as the ORM does) in one statement that, on
    PostgreSQL, also tries the chain lock (see :func:`_seal`): one round trip less on every write. Returns
    whether the lock was taken (None where the database has no such lock)."""
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    q = connection.ops.quote_name
    values = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in fields]
    pg = connection.vendor == "postgresql"
    sql = (f"INSERT INTO {q(AuditEvent._meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {q(AuditEvent._meta.pk.column)}"
           + (", pg_try_advisory_xact_lock(%s)" if pg else ""))
    with connection.cursor() as cursor:
        try:
            cursor.execute(sql, [*values, CHAIN_LOCK_KEY] if pg else values)
        except DatabaseError as exc:
            if DATABASE_LOCKED in str(exc):  # the database lock's trigger (monitoring migration 0002)
                raise Refused(_("the trial database is locked for the final analysis: no trial data may change "
                                "until the trial manager unlocks it"), status=409) from None
            raise
        row = cursor.fetchone()
    event.pk = row[0]
    event._state.adding, event._state.db = False, connection.alias
    return bool(row[1]) if pg else None


# the message of the database lock's trigger on the audit trail
DATABASE_LOCKED = "SHINE database lock"

# how far back (in event ids) a writer looks for events committed out of order and not yet sealed
SEAL_LOOKBACK = 256


_PENDING_SQL = """
    WITH head AS (SELECT seq, hash FROM audit_auditseal ORDER BY seq DESC LIMIT 1)
    SELECT e.id, e.content_hash, (SELECT seq FROM head), (SELECT hash FROM head)
    FROM audit_auditevent e
    WHERE e.id > %s AND NOT EXISTS (SELECT 1 FROM audit_auditseal s WHERE s.event_id = e.id AND s.event_id > %s)
    ORDER BY e.id LIMIT %s
"""


def _seal(*, using: str, wait: bool, floor: int = 0, batch: int = 5000, locked: bool | None = None) -> int:
    """Seal unsealed visible events in id order, inside the current transaction.

    Only one transaction seals at a time (a transaction-scoped lock on PostgreSQL; SQLite's write lock
    serialises transactions anyway). A writer that finds the lock taken leaves its event for the next
    sealer, so concurrent writers never queue behind one another's commits; ``seal_pending`` (run by
    ``shine audit seal`` and ``verify``) sweeps the whole table. ``locked``: the outcome of a try for the lock
    already made in this transaction (by the event's INSERT).
    """
    connection = connections[using]
    if locked is False:
        return 0
    if connection.vendor == "postgresql" and locked is None:
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            else:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return 0
    # one statement after the lock: the chain's head and the unsealed events, oldest first
    with connection.cursor() as cursor:
        # the floor twice: on the seals too, so the planner reads the seals of that range only (an index range)
        # instead of hashing the whole seal table, which would make every write slower as the trail grows
        cursor.execute(_PENDING_SQL, [floor, floor, batch])
        rows = cursor.fetchall()
    if not rows:
        return 0
    seq, prev_hash = (rows[0][2], rows[0][3]) if rows[0][2] is not None else (0, chain.GENESIS_HASH)
    pending = [(r[0], r[1]) for r in rows]
    seals = []
    for event_id, content in pending:
        seq += 1
        digest = chain.seal_hash(seq=seq, event_id=event_id, content_hash=content, prev_hash=prev_hash)
        seals.append((seq, event_id, prev_hash, digest))
        prev_hash = digest
    # plain multi-row INSERTs (the ORM's bulk_create cost a writer more than the rest of the sealing)
    q = connection.ops.quote_name
    columns = ", ".join(q(AuditSeal._meta.get_field(n).column) for n in ("seq", "event", "prev_hash", "hash"))
    with connection.cursor() as cursor:
        for start in range(0, len(seals), 500):
            part = seals[start:start + 500]
            cursor.execute(f"INSERT INTO {q(AuditSeal._meta.db_table)} ({columns}) VALUES "
                           + ", ".join(["(%s, %s, %s, %s)"] * len(part)), [v for row in part for v in row])
    anchor.after_commit(using=using, seq=seq, hash=prev_hash)
    return len(seals)


def seal_pending(*, using: str = "default", batch: int = 5000) -> int:
    """Seal every committed event still missing from the chain. Idempotent; returns how many were sealed."""
    total = 0
    while True:
        with transaction.atomic(using=using):
            sealed = _seal(using=using, wait=True, floor=0, batch=batch)
        total += sealed
        if sealed < batch:
            return total


def _known_references(model, values: dict, *, unchanged: bool = False) -> list[str]:
    """Foreign keys ``full_clean`` need not look up, one query each: those given as saved instances (rows the
    service has just read, e.g. the participant it locked or the signed-in user) and, with ``unchanged``, those
    an update leaves as they are. The database's foreign-key constraints still refuse a dangling reference
    (at the latest at commit, which then rolls the whole write and its event back)."""
    out = []
    for f in model._meta.concrete_fields:
        if not f.is_relation:
            continue
        if f.name in values:
            v = values[f.name]
            if isinstance(v, models.Model) and v.pk is not None and not v._state.adding:
                out.append(f.name)
        elif unchanged and f.attname not in values:
            out.append(f.name)
    return out


def create(model: type[AuditedModel], *, actor: Actor, reason: str = "", **values) -> AuditedModel:
    using = router.db_for_write(model)
    instance = model(**values)
    # uniqueness is left to the database's constraints; services check it first with a clear message
    instance.full_clean(exclude=_known_references(model, values), validate_unique=False, validate_constraints=False)
    # no savepoint inside the caller's transaction: nothing here is meant to fail and be carried on from, so an
    # error (a database constraint) rolls back the caller's whole transaction, the write and its event with it
    with transaction.atomic(using=using, savepoint=False), audited_writes():
        instance.save(using=using, force_insert=True)
        changes = {k: [None, v] for k, v in snapshot(instance).items()}
        record(actor=actor, action="create", object_type=object_type(model), object_id=instance.pk,
               changes=changes, reason=reason, using=using)
    return instance


def update(instance: AuditedModel, *, actor: Actor, reason: str, **values) -> AuditedModel:
    """Change fields of a saved record; a no-op (and no event) when nothing changes."""
    model = type(instance)
    using = router.db_for_write(model)
    with transaction.atomic(using=using), audited_writes():
        locked = model._default_manager.using(using).select_for_update().get(pk=instance.pk)
        before = snapshot(locked)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=_known_references(model, values, unchanged=True), validate_unique=False,
                          validate_constraints=False)
        after = snapshot(locked)
        changes = {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}
        if changes:
            if not reason or not reason.strip():
                raise ReasonRequired(_("a reason for the change is required (changing %(fields)s)")
                                     % {"fields": ", ".join(sorted(changes))})
            if len(reason.strip()) > REASON_LIMIT:
                raise ReasonRequired(_("reason must be at most %(limit)s characters; got %(length)s")
                                     % {"limit": REASON_LIMIT, "length": len(reason.strip())})
            locked.save(using=using)
            record(actor=actor, action="update", object_type=object_type(model), object_id=locked.pk,
                   changes=changes, reason=reason.strip(), using=using)
    for name in values:
        setattr(instance, name, getattr(locked, name))
    return locked


def delete(instance: AuditedModel, *, actor: Actor, reason: str) -> None:
    model = type(instance)
    using = router.db_for_write(model)
    if not reason or not reason.strip():
        raise ReasonRequired(_("a reason for deleting the record is required"))
    if len(reason.strip()) > REASON_LIMIT:
        raise ReasonRequired(_("reason must be at most %(limit)s characters; got %(length)s")
                             % {"limit": REASON_LIMIT, "length": len(reason.strip())})
    with transaction.atomic(using=using), audited_writes():
        pk = instance.pk
        changes = {k: [v, None] for k, v in snapshot(instance).items()}
        instance.delete(using=using)
        record(actor=actor, action="delete", object_type=object_type(model), object_id=pk, changes=changes,
               reason=reason.strip(), using=using)
