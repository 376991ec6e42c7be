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
from django.utils.translation import gettext_lazy as _

from shine.trial.audit.models import AuditedModel

CRITERIA = (("death", _("results in death")), ("life_threatening", _("is life-threatening")),
            ("hospitalisation", _("requires or prolongs hospitalisation")),
            ("disability", _("persistent or significant disability")), ("congenital_anomaly", _("congenital anomaly")),
            ("medically_important", _("other medically important event")))
# the criteria's short words on the pages and in the mails (the stored codes stay as they are)
CRITERIA_WORDS = {"death": _("death"), "life_threatening": _("life threatening"),
                  "hospitalisation": _("hospitalisation"), "disability": _("disability"),
                  "congenital_anomaly": _("congenital anomaly"), "medically_important": _("medically important")}
SEVERITY = (("mild", _("mild")), ("moderate", _("moderate")), ("severe", _("severe")))
OUTCOMES = (("recovered", _("recovered")), ("recovering", _("recovering")), ("not_recovered", _("not recovered")),
            ("recovered_with_sequelae", _("recovered with sequelae")), ("fatal", _("fatal")),
            ("unknown", _("unknown")))
ACTIONS = (("none", _("infusion not changed")), ("interrupted", _("infusion interrupted")),
           ("stopped", _("infusion stopped")), ("not_running", _("infusion not running at onset")),
           ("unknown", _("unknown")))


# the protocol's event codes in words (prespecified events, exempt events, the reports to the authority)
EVENT_WORDS = {"severe_bleeding": _("severe bleeding"), "ischaemic_event": _("ischaemic event"),
               "severe_hypotension": _("severe hypotension"), "anaphylaxis": _("anaphylaxis"),
               "septic_shock_progression": _("septic shock progression"),
               "multiple_organ_failure": _("multiple organ failure"), "initial": _("initial"),
               "followup": _("follow-up"), "restart": _("restart"), "close": _("close")}


def event_words(code: str) -> str:
    return str(EVENT_WORDS.get(code, code.replace("_", " "))) if code else ""


# the consistency flags are stored in English (trial data); the pages show them in the reader's language
FLAG_DEATH_NOT_FATAL = "death is a criterion but the outcome is not fatal"
FLAG_FATAL_NOT_DEATH = "the outcome is fatal but death is not a criterion"
FLAG_WORDS = {FLAG_DEATH_NOT_FATAL: _("death is a criterion but the outcome is not fatal"),
              FLAG_FATAL_NOT_DEATH: _("the outcome is fatal but death is not a criterion")}


def criteria_words(codes) -> str:
    """The criteria codes in words, in the active language."""
    return ", ".join(str(CRITERIA_WORDS.get(c, c.replace("_", " "))) for c in codes)


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
        return criteria_words(self.criteria)

    @property
    def flags_words(self) -> str:
        """The stored consistency flags in the active language."""
        return "; ".join(str(FLAG_WORDS.get(f, f)) for f in self.flags.split("; ") if f)

    @property
    def prespecified_words(self) -> str:
        return event_words(self.prespecified)

    @property
    def exempt_words(self) -> str:
        return event_words(self.exempt)

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
