"""Adverse event cases, their versions, the sponsor's assessments, the reference safety information and the
SUSAR decisions.

A case is the event; what is known about it lives in its versions (the initial report is version 1, each
follow-up adds one; nothing is overwritten). The case row holds only the starts of its clocks, written once
when the fact that starts them is first recorded. A SUSAR decision depends on the arm: its arm-derived field
is ``audit_blinded`` and is shown only to the user who unblinded that participant.
"""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.db import models

from shine.trial.audit.models import AuditedModel

CRITERIA = (("death", "results in death"), ("life_threatening", "is life-threatening"),
            ("hospitalisation", "requires or prolongs hospitalisation"),
            ("disability", "persistent or significant disability"), ("congenital_anomaly", "congenital anomaly"),
            ("medically_important", "other medically important event"))
SEVERITY = (("mild", "mild"), ("moderate", "moderate"), ("severe", "severe"))
OUTCOMES = (("recovered", "recovered"), ("recovering", "recovering"), ("not_recovered", "not recovered"),
            ("recovered_with_sequelae", "recovered with sequelae"), ("fatal", "fatal"), ("unknown", "unknown"))
ACTIONS = (("none", "infusion not changed"), ("interrupted", "infusion interrupted"),
           ("stopped", "infusion stopped"), ("not_running", "infusion not running at onset"),
           ("unknown", "unknown"))


class ReferenceSafetyInformation(AuditedModel):
    """A version of the reference safety information (the iloprost SmPC section 4.8), with its approval."""

    version = models.CharField(max_length=40, unique=True)
    approved_on = models.DateField()
    in_force_from = models.DateTimeField()
    expected_reactions = models.TextField(help_text="one reaction per line")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()

    class Meta:
        ordering = ["-in_force_from", "-pk"]

    def __str__(self) -> str:
        return f"RSI {self.version}"


class Case(AuditedModel):
    participant = models.ForeignKey("enrollment.Participant", on_delete=models.PROTECT, related_name="safety_cases")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=24, unique=True)          # sender's case id: HGH-0007-E1
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # clock starts, each written once (by the version that first made it true)
    site_aware_at = models.DateTimeField(null=True, blank=True)     # site aware the event is serious
    sponsor_aware_at = models.DateTimeField(null=True, blank=True)  # the serious report reached the sponsor

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class CaseVersion(AuditedModel):
    """What was known of the case at one report (initial or follow-up)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveSmallIntegerField()
    term = models.CharField(max_length=200)                          # the reporter's verbatim term
    meddra_version = models.CharField(max_length=8, blank=True)
    meddra_code = models.CharField(max_length=8, blank=True)
    onset_at = models.DateTimeField()
    aware_at = models.DateTimeField()                                # the site learnt what this version says
    serious = models.BooleanField()
    death = models.BooleanField(default=False)
    life_threatening = models.BooleanField(default=False)
    hospitalisation = models.BooleanField(default=False)
    disability = models.BooleanField(default=False)
    congenital_anomaly = models.BooleanField(default=False)
    medically_important = models.BooleanField(default=False)
    severity = models.CharField(max_length=10, choices=SEVERITY)
    outcome = models.CharField(max_length=24, choices=OUTCOMES)
    action = models.CharField(max_length=12, choices=ACTIONS)
    prespecified = models.CharField(max_length=40, blank=True)      # a protocol code, or empty: none of them
    exempt = models.CharField(max_length=40, blank=True)            # a protocol code, or empty: not exempt
    related = models.BooleanField()                                  # investigator: reasonable possibility
    narrative = models.TextField(blank=True)
    flags = models.TextField(blank=True)                             # consistency flags, "; "-separated
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()

    class Meta:
        ordering = ["case", "version"]
        constraints = [models.UniqueConstraint(fields=["case", "version"], name="safety_one_version_number")]

    @property
    def criteria(self) -> list[str]:
        return [code for code, _ in CRITERIA if getattr(self, code)]

    @property
    def criteria_words(self) -> str:
        return ", ".join(c.replace("_", " ") for c in self.criteria)

    @property
    def fatal_or_life_threatening(self) -> bool:
        return self.death or self.life_threatening or self.outcome == "fatal"


class Assessment(AuditedModel):
    """The sponsor's assessment of one version: expectedness against the RSI in force at onset, causality."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="assessments")
    number = models.PositiveSmallIntegerField()
    case_version = models.PositiveSmallIntegerField()
    rsi = models.ForeignKey(ReferenceSafetyInformation, on_delete=models.PROTECT, related_name="+")
    expected = models.BooleanField()
    sponsor_related = models.BooleanField(null=True, blank=True)    # None: the sponsor gave no opinion
    comment = models.TextField(blank=True)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField()

    class Meta:
        ordering = ["case", "number"]
        constraints = [models.UniqueConstraint(fields=["case", "number"], name="safety_one_assessment_number")]


class SusarDecision(AuditedModel):
    """Serious, related and unexpected: the participant was unblinded for pharmacovigilance. Created in both
    outcomes with the same fields set, so that its existence says nothing of the arm."""

    audit_blinded = ("reportable", "log")

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="susar")
    unblinding = models.OneToOneField("allocation.Unblinding", on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reportable = models.BooleanField()                               # active arm: a SUSAR to report
    aware_from = models.DateTimeField()                              # earlier of site and sponsor awareness
    fatal = models.BooleanField()                                    # fatal or life-threatening at the decision
    restart_from = models.DateTimeField(null=True, blank=True)       # became fatal or life-threatening later
    # what pharmacovigilance did since (reports sent to the authority, or the closing note of a placebo case),
    # as JSON in one field so that every such action changes the same field in both outcomes
    log = models.TextField(default="{}")

    def logged(self) -> dict:
        return json.loads(self.log or "{}")

    def sent_at(self, kind: str) -> dt.datetime | None:
        value = self.logged().get(kind)
        return dt.datetime.fromisoformat(value) if value else None

    @property
    def closed_note(self) -> str:
        return self.logged().get("note", "")


class Reminder(models.Model):
    """One reminder mailed by ``shine safety remind`` for one clock's deadline (so a rerun mails nothing).

    Bookkeeping of the mail, not trial data: not audited, so that reminders of SUSAR clocks (which run only
    for the active arm) leave no trace in the audit trail that blinded roles read."""

    key = models.CharField(max_length=120, unique=True)              # case or death, clock kind, deadline
    due = models.DateTimeField()
    sent_at = models.DateTimeField()
