"""Screening log, participants and their consent events.

No arm here: the allocation module keeps it (DESIGN.md, principle 5). A participant exists from the
scientific guardian's consent on; the civil registration number (CPR) is stored only for participants,
encrypted (``cpr_encrypted``, left out of the audit trail) with a keyed digest (``cpr_digest``, audited)
that proves in the trail when it was set or changed without revealing it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shine.trial.accounts.models import Site
from shine.trial.audit.models import AuditedModel

YES_NO = ((None, _("unknown")), (True, _("yes")), (False, _("no")))


class Screening(AuditedModel):
    """One screened patient: the facts of the eligibility rules and the outcome. Nothing identifiable."""

    class Outcome(models.TextChoices):
        NOT_ASSESSABLE = "not_assessable", _("not yet assessable")
        NOT_ELIGIBLE = "not_eligible", _("not eligible")
        ELIGIBLE = "eligible", _("eligible, awaiting consent")
        ELIGIBLE_NOT_RANDOMISED = "eligible_not_randomised", _("eligible, not randomised")
        RANDOMISED = "randomised", _("randomised")

    class NotRandomisedReason(models.TextChoices):
        NO_GUARDIAN = "no_guardian", _("no scientific guardian available in time")
        DECLINED = "declined", _("declined (guardian, next of kin or patient)")
        OTHER = "other", _("other")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="screenings")
    screened_at = models.DateTimeField()
    screened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # facts (None = unknown), named like shine.clinical.eligibility.assess's keywords
    age = models.PositiveSmallIntegerField(null=True, blank=True)
    sex = models.CharField(max_length=1, blank=True, choices=[("F", _("female")), ("M", _("male"))])
    in_icu = models.BooleanField(null=True, blank=True)
    infection = models.BooleanField(null=True, blank=True)
    vasopressor = models.BooleanField(null=True, blank=True)
    lactate_mmol_l = models.FloatField(null=True, blank=True)
    stm_ng_ml = models.FloatField(null=True, blank=True)
    shock_diagnosed_at = models.DateTimeField(null=True, blank=True)
    pregnant = models.BooleanField(null=True, blank=True)
    withdrawal_from_active_therapy = models.BooleanField(null=True, blank=True)
    hypersensitivity = models.BooleanField(null=True, blank=True)
    life_threatening_bleeding = models.BooleanField(null=True, blank=True)
    severe_heart_failure = models.BooleanField(null=True, blank=True)
    acute_coronary_syndrome = models.BooleanField(null=True, blank=True)
    previously_included = models.BooleanField(null=True, blank=True)
    consent_unobtainable = models.BooleanField(null=True, blank=True)
    other_prostacyclin_trial = models.BooleanField(null=True, blank=True)
    # result
    assessment = models.CharField(max_length=20)  # eligible / not_eligible / not_assessable (assess())
    reasons = models.CharField(max_length=400, blank=True)  # assess().reasons: failed codes or missing:<fact>
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    not_randomised_reason = models.CharField(max_length=20, blank=True, choices=NotRandomisedReason.choices)
    not_randomised_note = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["-screened_at", "-pk"]
        indexes = [models.Index(fields=["site", "screened_at"], name="enrol_screening_site_idx")]

    def __str__(self) -> str:
        return f"screening S-{self.pk} ({self.site.code})"

    @property
    def label(self) -> str:
        return f"S-{self.pk}"


class Participant(AuditedModel):
    """A patient enrolled after the scientific guardian's consent; randomised (or not) afterwards."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="participants")
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=20, unique=True)  # e.g. HGH-0007
    screening = models.OneToOneField(Screening, on_delete=models.PROTECT, related_name="participant")
    enrolled_at = models.DateTimeField()  # the guardian consent time; the entry time is in the audit trail
    cpr_encrypted = models.TextField(blank=True)
    cpr_digest = models.CharField(max_length=64, blank=True)
    weight_kg = models.FloatField(null=True, blank=True)
    weight_estimated = models.BooleanField(null=True, blank=True)
    randomised_at = models.DateTimeField(null=True, blank=True)
    randomisation_number = models.PositiveIntegerField(null=True, blank=True, unique=True)
    # consent summary, kept by shine.trial.enrollment.services.record_consent from the events
    consent_status = models.CharField(max_length=40)
    awaiting_next_of_kin = models.BooleanField(default=True)
    awaiting_patient = models.BooleanField(default=True)
    new_data_allowed = models.BooleanField(default=True)
    use_data_collected = models.BooleanField(default=True)
    continue_vital_status_follow_up = models.BooleanField(default=True)
    data_restricted_at = models.DateTimeField(null=True, blank=True)

    # the ciphertext changes with every encryption; the audited keyed digest records the value instead
    audit_exclude = ("cpr_encrypted",)

    @staticmethod
    def audit_integrity(rows) -> list[str]:
        """Each encrypted CPR number decrypts for its own participant only, to the number its digest records
        (a ciphertext copied or swapped between rows outside the services is caught here)."""
        from . import cpr

        problems = []
        for number, token, digest in rows.exclude(cpr_encrypted="").values_list("number", "cpr_encrypted",
                                                                                  "cpr_digest").iterator():
            value = cpr.decrypt(token, participant_number=number)
            if value is None:
                problems.append(f"enrollment.participant {number}: the encrypted CPR number was not encrypted "
                                "for this participant (moved or swapped from another row)")
            elif cpr.digest(value) != digest:
                problems.append(f"enrollment.participant {number}: the encrypted CPR number does not match its "
                                "audited digest")
        return problems

    class Meta:
        ordering = ["site__code", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["site", "sequence"], name="enrol_one_number_per_site"),
            models.UniqueConstraint(fields=["cpr_digest"], condition=~Q(cpr_digest=""),
                                    name="enrol_cpr_once"),
        ]

    def __str__(self) -> str:
        return self.number


class ConsentEvent(AuditedModel):
    """One event of a participant's consent: who (role, name), when, form version, who entered it."""

    class Kind(models.TextChoices):
        GUARDIAN_CONSENT = "guardian_consent", _("scientific guardian consent")
        NEXT_OF_KIN_CONSENT = "next_of_kin_consent", _("next-of-kin consent")
        NEXT_OF_KIN_REFUSAL = "next_of_kin_refusal", _("next-of-kin refusal")
        PATIENT_CONSENT = "patient_consent", _("patient consent")
        PATIENT_REFUSAL = "patient_refusal", _("patient refusal")
        DIED = "died", _("died before regaining capacity")
        NEVER_REGAINED_CAPACITY = "never_regained_capacity", _("never regained capacity")
        WITHDRAWAL = "withdrawal", _("withdrawal of consent")

    class Role(models.TextChoices):
        GUARDIAN = "guardian", _("scientific guardian")
        NEXT_OF_KIN = "next_of_kin", _("next of kin")
        PATIENT = "patient", _("patient")
        STAFF = "staff", _("site staff (recorded)")

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="consent_events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    consenter_role = models.CharField(max_length=20, choices=Role.choices)
    consenter_name = models.CharField(max_length=150, blank=True)
    second_consenter_name = models.CharField(max_length=150, blank=True)  # guardian: two physicians
    occurred_at = models.DateTimeField()
    form_version = models.CharField(max_length=40, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()
    use_data_collected = models.BooleanField(null=True, blank=True)
    continue_vital_status_follow_up = models.BooleanField(null=True, blank=True)
    note = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["occurred_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.participant.number})"
