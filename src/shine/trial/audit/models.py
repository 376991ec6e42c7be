"""Audit events, and the base of every audited model.

An audited model can only be written inside :func:`shine.trial.audit.services.audited_writes`, which the
service helpers open together with the audit event, so "write + audit in one transaction" is the only
way trial data change (DESIGN.md, principle 3).
"""

from __future__ import annotations

import contextvars

from django.db import models

_write_permit: contextvars.ContextVar[bool] = contextvars.ContextVar("shine_audited_write", default=False)


class UnauditedWrite(RuntimeError):
    """Raised when code writes an audited model without going through an audit service."""


def _refuse(what: str, model) -> None:
    raise UnauditedWrite(f"{what} on {model._meta.label} outside an audit service; "
                         "use shine.trial.audit.services (create/update/delete)")


class AuditedQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if not _write_permit.get():
            _refuse("queryset.update()", self.model)
        return super().update(**kwargs)

    def delete(self):
        if not _write_permit.get():
            _refuse("queryset.delete()", self.model)
        return super().delete()

    def bulk_create(self, *args, **kwargs):
        _refuse("bulk_create()", self.model)

    def bulk_update(self, *args, **kwargs):
        _refuse("bulk_update()", self.model)


class AuditedModel(models.Model):
    """Abstract base of every record whose history the audit trail must replay."""

    #: fields left out of the audit (volatile bookkeeping such as ``last_login``); may be saved directly
    audit_exclude: tuple[str, ...] = ()
    #: fields whose values are shown only to unblinded roles in audit views
    audit_blinded: tuple[str, ...] = ()

    objects = AuditedQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        fields = kwargs.get("update_fields")
        bookkeeping_only = fields is not None and set(fields) <= set(self.audit_exclude)
        if not _write_permit.get() and not bookkeeping_only:
            _refuse("save()", self)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if not _write_permit.get():
            _refuse("delete()", self)
        return super().delete(*args, **kwargs)


class AuditEvent(models.Model):
    """One append-only event, written in the transaction of the change it records.

    ``content_hash`` is the SHA-256 of the event's canonical content; an :class:`AuditSeal` then places the
    event in the hash chain. The database refuses UPDATE and DELETE on both tables.
    """

    at = models.DateTimeField(help_text="server time (UTC)")
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150, help_text="username, or system:<command>")
    role = models.CharField(max_length=40)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    changes = models.TextField(help_text="canonical JSON: {field: [old, new]}")
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    app_version = models.CharField(max_length=40)
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_audit_object__idx"),
            models.Index(fields=["actor"], name="audit_audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"event {self.pk}: {self.action} {self.object_type} {self.object_id} by {self.actor}"


class AuditSeal(models.Model):
    """The event's place in the hash chain: seq 1, 2, 3, … with each hash covering the previous one.

    Seals are appended right after the events' transactions commit, in short batches, so concurrent writers
    never wait for one another's commits; the chain never forks (``seq`` is unique and appended under a lock).
    """

    seq = models.BigIntegerField(unique=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="seal")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
