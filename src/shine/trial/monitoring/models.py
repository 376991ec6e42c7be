"""Queries and their message threads, source data verification plans and verifications, investigator
signatures and locks (docs/monitoring.md).

A query, a verification and a signature point at trial records by the audit trail's name for them
(``object_type`` = app_label.model, ``object_id``), so the version of a record they concern is the audit event
that last changed it. No arm anywhere (DESIGN.md, principle 5).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shine.trial.audit.models import AuditedModel

PARTICIPANT = "enrollment.Participant"


class Query(AuditedModel):
    """A discrepancy raised on a participant, one of its records, or one field of a record (CDISC ODM 2.0
    query states)."""

    class State(models.TextChoices):
        CANDIDATE = "candidate", _("candidate")
        OPEN = "open", _("open")
        ANSWERED = "answered", _("answered")
        CLOSED = "closed", _("closed")
        CANCELLED = "cancelled", _("cancelled")
        RESOLVED = "resolved", _("resolved")

    class Origin(models.TextChoices):
        MANUAL = "manual", _("raised by a person")
        SYSTEM = "system", _("raised by an edit check")

    number = models.PositiveIntegerField(unique=True)
    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="queries")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    object_type = models.CharField(max_length=80, blank=True)  # empty: the query is on the participant
    object_id = models.CharField(max_length=64, blank=True)
    form = models.CharField(max_length=20, blank=True)           # FORMS code of the record
    record_label = models.CharField(max_length=80, blank=True)   # e.g. "day 3"
    field = models.CharField(max_length=40, blank=True)          # empty: the whole record
    state = models.CharField(max_length=12, choices=State.choices)
    origin = models.CharField(max_length=8, choices=Origin.choices)
    rule = models.CharField(max_length=300, blank=True)          # system query: the check that fired
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    raised_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)      # when the site first saw it
    state_changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-number"]
        indexes = [models.Index(fields=["site", "state"], name="monitoring_query_site_state"),
                   models.Index(fields=["object_type", "object_id"], name="monitoring_query_object")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"Q-{self.number:05d}"

    @property
    def target(self) -> str:
        parts = [self.record_label or "participant"]
        if self.field:
            parts.append(self.field.replace("_", " "))
        return " · ".join(parts)


class QueryMessage(AuditedModel):
    """One message of a query's thread: the question, an answer, a re-query, the closing or cancelling note.
    ``correction_event`` is the audit event of the value change an answer refers to."""

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    number = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=12)  # raise, open, answer, requery, close, cancel, resolve
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    author_name = models.CharField(max_length=150)
    at = models.DateTimeField()
    correction_event = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["query", "number"]
        constraints = [models.UniqueConstraint(fields=["query", "number"], name="monitoring_one_message_number")]


class SdvPlan(AuditedModel):
    """A version of the source data verification plan: per form, every participant or a sample (the first N
    randomised per site plus a share of the rest, drawn from ``seed`` with HMAC-SHA256). Never changed: a new
    plan is a new version."""

    version = models.PositiveIntegerField(unique=True)
    seed = models.CharField(max_length=64)   # hex; recorded so that the draw can be reproduced
    rules = models.JSONField()               # form -> {"all": true} or {"first": N, "percent": X}
    note = models.CharField(max_length=400, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"SDV plan v{self.version}"


class Verification(AuditedModel):
    """A monitor has compared one version of a record with the source: the audit event that version came
    from and the SHA-256 of its audited content."""

    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="verifications")
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    form = models.CharField(max_length=20)
    version_event = models.BigIntegerField()
    content_hash = models.CharField(max_length=64)
    note = models.CharField(max_length=400, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField()

    class Meta:
        ordering = ["-verified_at", "-pk"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="monitoring_verif_object")]


class Signature(AuditedModel):
    """An investigator's electronic signature of a participant's casebook (21 CFR 11.50): who, printed name,
    UTC time, meaning, and the SHA-256 of the casebook's content as signed. Never changed or deleted."""

    class Meaning(models.TextChoices):
        AUTHORSHIP = "authorship", _("authorship")
        REVIEW = "review", _("review")
        APPROVAL = "approval", _("approval")

    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=150)
    meaning = models.CharField(max_length=12, choices=Meaning.choices)
    statement = models.TextField()
    signed_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-signed_at", "-pk"]


class Lock(AuditedModel):
    """A data manager's lock of a participant's casebook (``object_type`` empty) or of one record; in force
    until ``unlocked_at``."""

    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="locks")
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    record_label = models.CharField(max_length=80, blank=True)
    lock_reason = models.CharField(max_length=400)
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    locked_at = models.DateTimeField()
    unlock_reason = models.CharField(max_length=400, blank=True)
    unlocked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    unlocked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-locked_at", "-pk"]


class FieldVerification(AuditedModel):
    """A monitor has compared one field of a record with the source: the SHA-256 of the field's value as
    verified and the audit event of the record's version then. A later change of that field (its own audit
    event) asks for re-verification; the record's other fields keep theirs."""

    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="field_verifications")
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    form = models.CharField(max_length=20)
    field = models.CharField(max_length=40)
    value_hash = models.CharField(max_length=64)
    version_event = models.BigIntegerField()
    note = models.CharField(max_length=400, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField()

    class Meta:
        ordering = ["-verified_at", "-pk"]
        indexes = [models.Index(fields=["object_type", "object_id", "field"], name="monitoring_fieldverif_obj")]


class DatabaseLock(AuditedModel):
    """The lock of the whole trial database for the final analysis, made by a data manager once the pre-lock
    checklist is green (``checklist``: the items as they stood). In force until ``unlocked_at``; while it is,
    the database itself refuses every audited write on trial data (a trigger on the audit trail)."""

    lock_reason = models.CharField(max_length=400)
    checklist = models.JSONField()
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    locked_at = models.DateTimeField()
    unlock_reason = models.CharField(max_length=400, blank=True)
    unlocked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    unlocked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-locked_at", "-pk"]


class MonitoringVisit(AuditedModel):
    """A monitoring visit to a site: date, kind, monitor, findings and follow-up actions. The monitor signs
    the report (password re-entered); the signature covers the SHA-256 of the report's content and nothing
    in it changes afterwards."""

    class Kind(models.TextChoices):
        INITIATION = "initiation", _("site initiation")
        ROUTINE = "routine", _("routine monitoring")
        REMOTE = "remote", _("remote monitoring")
        CLOSEOUT = "close-out", _("close-out")

    number = models.PositiveIntegerField(unique=True)
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    visit_date = models.DateField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    monitor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    findings = models.TextField()
    actions = models.TextField(blank=True)  # follow-up actions, one a line
    created_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)
    printed_name = models.CharField(max_length=150, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-visit_date", "-number"]

    @property
    def label(self) -> str:
        return f"MV-{self.number:04d}"

    @property
    def action_list(self) -> list[str]:
        return [line.strip() for line in self.actions.splitlines() if line.strip()]
