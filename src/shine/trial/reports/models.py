"""Interim freezes, interim runs and the log of closed-report downloads.

A freeze is an A/B-coded analysis export kept under ``VAR_DIR/interim/freeze-<id>/data`` with the SHA-256 of
each file recorded here; a run writes its open and closed reports next to it. Hashes of closed files (which
a blinded reader with the same freeze could test against both possible A/B keys) are ``audit_blinded``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shine.trial.audit.models import AuditedModel


class InterimFreeze(AuditedModel):
    data_cutoff = models.DateTimeField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    dataset_sha256 = models.CharField(max_length=64)  # of dataset.json, which holds every table's SHA-256
    files = models.JSONField()  # file name → SHA-256 of the A/B-coded export
    n_randomised = models.PositiveIntegerField()
    n_day90_complete = models.PositiveIntegerField()

    class Meta:
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"freeze {self.pk} (cut-off {self.data_cutoff:%Y-%m-%d %H:%M})"


class InterimRun(AuditedModel):
    freeze = models.OneToOneField(InterimFreeze, on_delete=models.PROTECT, related_name="run")
    run_at = models.DateTimeField()
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prior_sd = models.FloatField()
    n_analysed = models.PositiveIntegerField()
    open_files = models.JSONField()  # name → SHA-256 of the open report's files
    closed_files = models.JSONField()  # name → SHA-256 of the closed report's files (DSMB only)

    audit_blinded = ("closed_files",)

    class Meta:
        ordering = ["-pk"]


class ReportDownload(AuditedModel):
    """One download of a closed-report file: who, when, which file and its hash."""

    run = models.ForeignKey(InterimRun, on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    downloaded_at = models.DateTimeField()
    file = models.CharField(max_length=40)
    sha256 = models.CharField(max_length=64)

    audit_blinded = ("sha256",)

    class Meta:
        ordering = ["-pk"]


class Recommendation(AuditedModel):
    """The DSMB's recommendation after a meeting. ``rationale`` may hold comparative results: it is kept
    here, shown to DSMB roles only and ``audit_blinded``; the letter to the sponsor is made from the decision,
    the meeting date and the members only, so it has no field that can carry a result."""

    class Decision(models.TextChoices):
        CONTINUE = "continue", _("continue unchanged")
        MODIFY = "modify", _("continue with modification")
        FUTILITY = "stop_futility", _("stop for futility")
        HARM = "stop_harm", _("stop for harm")

    run = models.ForeignKey(InterimRun, on_delete=models.PROTECT, related_name="recommendations", null=True,
                            blank=True)
    meeting_date = models.DateField()
    decision = models.CharField(max_length=16, choices=Decision.choices)
    rationale = models.TextField()
    members = models.JSONField()  # names of the members who signed, in the order they signed
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    audit_blinded = ("rationale",)

    class Meta:
        ordering = ["-pk"]


class ExportJob(AuditedModel):
    """One export in the standard formats (docs/exports.md), made in the background: requested through the
    API, run by the export runner, polled, then downloaded by the user who asked for it."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    blinded = models.BooleanField()
    formats = models.JSONField()  # the bundle's formats, in order
    freeze = models.ForeignKey(InterimFreeze, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    stage = models.CharField(max_length=30, blank=True)  # the format being written
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    data_cutoff = models.CharField(max_length=20, blank=True)
    error = models.TextField(blank=True)
    archive_sha256 = models.CharField(max_length=64, blank=True)
    archive_bytes = models.PositiveBigIntegerField(null=True, blank=True)

    # progress is bookkeeping while the job runs; every change of status is audited
    audit_exclude = ("progress", "stage")

    class Meta:
        ordering = ["-pk"]
