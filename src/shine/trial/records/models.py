"""Case report forms after randomisation: baseline, daily ICU records, infusion log, blood samples, ICU stays,
death, follow-up visits and protocol deviations (entered through :mod:`shine.trial.monitoring.deviations`).

Every SOFA input is stored twice where the form offers a unit: as entered (value and unit, for source data
verification) and in the platform's unit under the analysis data set's name (``pao2_fio2``, ``bilirubin``,
``creatinine``). The SOFA components are computed by :mod:`shine.clinical.sofa` in the service and stored
with the record so that lists and charts need no recomputation. No arm anywhere (DESIGN.md, principle 5).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shine.analysis.schema import DEVIATION_CATEGORIES, SITES_OF_INFECTION, STOP_REASONS, VITAL_STATUSES
from shine.trial.audit.models import AuditedModel

PARTICIPANT = "enrollment.Participant"


def _choices(values) -> list[tuple[str, object]]:
    from .words import choices  # the display labels in the reader's language; the codes are what is stored

    return choices(values)


class SofaInputs(AuditedModel):
    """The worst value of each SOFA input, as entered and converted, and the SOFA computed from them.

    Empty (NULL) is *not entered*; ``codes`` says why an input has no value (input → ``not_done``,
    ``unknown`` or ``not_applicable``, inputs as in ``edit_checks.DAILY_INPUTS``); ``missing_inputs`` lists the
    inputs with neither (the record is incomplete until it is empty). Yes/no fields are yes, no or NULL.
    A dose is 0 only when known not given. ``sofa_total``/``sofa_modified`` are NULL when a component they
    sum is missing: a missing component is never scored 0."""

    pao2_entered = models.FloatField(null=True, blank=True)
    pao2_unit = models.CharField(max_length=8, blank=True, choices=[("mmHg", "mmHg"), ("kPa", "kPa")])
    fio2_entered = models.FloatField(null=True, blank=True)
    fio2_unit = models.CharField(max_length=8, blank=True, choices=[("fraction", "fraction"), ("percent", "%")])
    pao2_fio2 = models.FloatField(null=True, blank=True)  # mmHg
    respiratory_support = models.BooleanField(null=True, blank=True)
    platelets = models.FloatField(null=True, blank=True)  # 10⁹/L
    bilirubin_entered = models.FloatField(null=True, blank=True)
    bilirubin_unit = models.CharField(max_length=8, blank=True, choices=[("umol/L", "µmol/L"), ("mg/dL", "mg/dL")])
    bilirubin = models.FloatField(null=True, blank=True)  # µmol/L
    map_mmhg = models.FloatField(null=True, blank=True)
    dopamine = models.FloatField(null=True, blank=True)  # µg/kg/min
    dobutamine = models.FloatField(null=True, blank=True)
    epinephrine = models.FloatField(null=True, blank=True)
    norepinephrine = models.FloatField(null=True, blank=True)
    gcs = models.PositiveSmallIntegerField(null=True, blank=True)
    creatinine_entered = models.FloatField(null=True, blank=True)
    creatinine_unit = models.CharField(max_length=8, blank=True, choices=[("umol/L", "µmol/L"), ("mg/dL", "mg/dL")])
    creatinine = models.FloatField(null=True, blank=True)  # µmol/L
    urine_output = models.FloatField(null=True, blank=True)  # mL / 24 h
    # computed by shine.clinical.sofa in the service
    sofa_respiration = models.PositiveSmallIntegerField(null=True, blank=True)
    sofa_coagulation = models.PositiveSmallIntegerField(null=True, blank=True)
    sofa_liver = models.PositiveSmallIntegerField(null=True, blank=True)
    sofa_cardiovascular = models.PositiveSmallIntegerField(null=True, blank=True)
    sofa_cns = models.PositiveSmallIntegerField(null=True, blank=True)
    sofa_renal = models.PositiveSmallIntegerField(null=True, blank=True)
    sofa_total = models.PositiveSmallIntegerField(null=True, blank=True)
    sofa_modified = models.PositiveSmallIntegerField(null=True, blank=True)
    codes = models.JSONField(default=dict, blank=True)
    comments = models.JSONField(default=dict, blank=True)  # input -> the nurse's note beside the value
    missing_inputs = models.CharField(max_length=300, blank=True)  # ";"-separated
    # soft-limit warnings ("; "-separated) and whether they still await review
    warnings = models.TextField(blank=True)
    needs_review = models.BooleanField(default=False)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()

    class Meta:
        abstract = True

    @property
    def comments_in_words(self) -> list[tuple[str, str]]:
        """The notes beside the inputs, each with its input's name in words (for the pages monitors read)."""
        from .edit_checks import INPUT_LABELS

        def named(k: str) -> str:
            label = str(INPUT_LABELS.get(k, k))
            return label[:1].upper() + label[1:]

        return [(named(k), t) for k, t in sorted((self.comments or {}).items())]


class Baseline(SofaInputs):
    """Day 0: demographics, weight, site of infection, comorbidities, ICU admission, baseline physiology."""

    participant = models.OneToOneField(PARTICIPANT, on_delete=models.PROTECT, related_name="baseline")
    age = models.PositiveSmallIntegerField()
    sex = models.CharField(max_length=1, choices=[("F", _("female")), ("M", _("male"))])
    weight_kg = models.FloatField()
    weight_estimated = models.BooleanField()
    site_of_infection = models.CharField(max_length=20, choices=_choices(SITES_OF_INFECTION))
    comorbidities = models.CharField(max_length=300, blank=True)  # ";"-separated codes of COMORBIDITIES
    icu_admitted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"baseline of {self.participant_id}"


class DailyRecord(SofaInputs):
    """One ICU study day: worst SOFA inputs, organ support."""

    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="daily_records")
    study_day = models.PositiveSmallIntegerField()
    vasopressor = models.BooleanField(null=True, blank=True)
    mechanical_ventilation = models.BooleanField(null=True, blank=True)
    rrt = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["participant", "study_day"]
        constraints = [models.UniqueConstraint(fields=["participant", "study_day"], name="records_one_daily_per_day")]

    def __str__(self) -> str:
        return f"day {self.study_day} of {self.participant_id}"

    @property
    def complete(self) -> bool:
        return not self.missing_inputs

    @property
    def missing_input_list(self) -> list[str]:
        return [i for i in self.missing_inputs.split(";") if i]

    @property
    def missing_input_labels(self) -> list[str]:
        from .edit_checks import INPUT_LABELS

        return [str(INPUT_LABELS[i]) for i in self.missing_input_list]


class InfusionSegment(AuditedModel):
    """One period of continuous infusion at one rate; a stop, restart or rate change starts a new one.
    ``stopped_at`` is empty while it runs."""

    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="infusion_segments")
    segment = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    rate_ml_per_h = models.FloatField()
    concentration_ng_per_ml = models.FloatField()
    stop_reason = models.CharField(max_length=20, blank=True, choices=_choices(STOP_REASONS))
    note = models.CharField(max_length=400, blank=True)
    warnings = models.TextField(blank=True)
    needs_review = models.BooleanField(default=False)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["participant", "segment"]
        constraints = [models.UniqueConstraint(fields=["participant", "segment"], name="records_one_segment_number")]


class BloodSample(AuditedModel):
    """A research biobank sample of study days 1–3."""

    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="blood_samples")
    study_day = models.PositiveSmallIntegerField()
    sample_id = models.CharField(max_length=40, unique=True)
    drawn_at = models.DateTimeField()
    frozen_at = models.DateTimeField(null=True, blank=True)
    comments = models.CharField(max_length=400, blank=True)
    warnings = models.TextField(blank=True)
    needs_review = models.BooleanField(default=False)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["participant", "study_day"]
        constraints = [models.UniqueConstraint(fields=["participant", "study_day"], name="records_one_sample_per_day")]


class IcuStay(AuditedModel):
    """Stay 1 is the stay at randomisation (from the baseline form); 2, 3, … are readmissions."""

    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="icu_stays")
    stay = models.PositiveSmallIntegerField()
    admitted_at = models.DateTimeField()
    discharged_at = models.DateTimeField(null=True, blank=True)
    discharge = models.CharField(max_length=12, choices=[("in_icu", _("in the ICU")), ("discharged", _("discharged")),
                                                         ("died", _("died in the ICU"))])
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["participant", "stay"]
        constraints = [models.UniqueConstraint(fields=["participant", "stay"], name="records_one_stay_number")]


class Death(AuditedModel):
    participant = models.OneToOneField(PARTICIPANT, on_delete=models.PROTECT, related_name="death")
    died_at = models.DateTimeField()
    cause = models.CharField(max_length=400, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")


class FollowUp(AuditedModel):
    """Day-28 or day-90 visit: vital status, days with organ support, EQ-5D-5L and its VAS."""

    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="follow_ups")
    visit_day = models.PositiveSmallIntegerField()
    assessed_at = models.DateTimeField()
    vital_status = models.CharField(max_length=8, choices=_choices(VITAL_STATUSES))
    days_vasopressor = models.PositiveSmallIntegerField(null=True, blank=True)
    days_ventilation = models.PositiveSmallIntegerField(null=True, blank=True)
    days_rrt = models.PositiveSmallIntegerField(null=True, blank=True)
    eq5d_mobility = models.PositiveSmallIntegerField(null=True, blank=True)
    eq5d_selfcare = models.PositiveSmallIntegerField(null=True, blank=True)
    eq5d_activities = models.PositiveSmallIntegerField(null=True, blank=True)
    eq5d_pain = models.PositiveSmallIntegerField(null=True, blank=True)
    eq5d_anxiety = models.PositiveSmallIntegerField(null=True, blank=True)
    eq5d_vas = models.PositiveSmallIntegerField(null=True, blank=True)
    warnings = models.TextField(blank=True)
    needs_review = models.BooleanField(default=False)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["participant", "visit_day"]
        constraints = [models.UniqueConstraint(fields=["participant", "visit_day"], name="records_one_visit")]


class Deviation(AuditedModel):
    """A protocol deviation of one participant, entered and listed by :mod:`shine.trial.monitoring.deviations`.
    The model stays in the records app (table, migrations and audit name ``records.deviation``): trails
    written before deviations moved to monitoring replay as they are (``shine audit verify``)."""

    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="deviations")
    number = models.PositiveSmallIntegerField()
    category = models.CharField(max_length=20, choices=_choices(DEVIATION_CATEGORIES))
    major = models.BooleanField()
    description = models.TextField()
    occurred_at = models.DateTimeField(null=True, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()

    class Meta:
        ordering = ["participant", "number"]
        constraints = [models.UniqueConstraint(fields=["participant", "number"], name="records_one_deviation_number")]

    @property
    def label(self) -> str:
        return f"DEV-{self.number}"


class FormDraft(models.Model):
    """What a user had typed into a form when the session ended before the save: kept so that it can be put
    back into the form after the next login. Not trial data: never scored, scheduled, exported or audited as a
    record; deleted when the form is saved (or after ``drafts.KEPT_FOR``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    form = models.CharField(max_length=20)  # "daily" or "baseline"
    participant = models.ForeignKey(PARTICIPANT, on_delete=models.CASCADE, related_name="+")
    study_day = models.PositiveSmallIntegerField()  # 0: the baseline
    values = models.JSONField()  # field name -> list of the texts typed
    typed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "form", "participant", "study_day"],
                                               name="one_draft_per_user_form_participant_day")]


class LabObservation(AuditedModel):
    """One laboratory or vital-sign value received from the site's laboratory system (FHIR R4 Observation),
    mapped by :mod:`shine.exchange.fhir_labs`. Not a daily record: the worst value of each study day is proposed
    on the daily form, and only the nurse's save puts it there. One row per (source system, resource id,
    version): a re-import of the same version writes nothing; an ``entered-in-error`` version retracts."""

    participant = models.ForeignKey(PARTICIPANT, on_delete=models.PROTECT, related_name="lab_observations")
    source_system = models.CharField(max_length=200)
    resource_id = models.CharField(max_length=64)      # FHIR ids are at most 64 characters
    version = models.CharField(max_length=64)
    status = models.CharField(max_length=20)
    input = models.CharField(max_length=20)            # fhir_labs.INPUTS
    code_system = models.CharField(max_length=200)
    code = models.CharField(max_length=40)
    value = models.FloatField(null=True, blank=True)   # platform unit; NULL for a retraction
    value_entered = models.FloatField(null=True, blank=True)
    unit_entered = models.CharField(max_length=20, blank=True)
    effective_at = models.DateTimeField()
    study_day = models.IntegerField()                  # 0 or less: before randomisation
    mapping_version = models.CharField(max_length=120)
    received_at = models.DateTimeField()
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["participant", "effective_at"]
        constraints = [models.UniqueConstraint(fields=["source_system", "resource_id", "version"],
                                               name="records_one_lab_observation_version")]

    def __str__(self) -> str:
        return f"{self.input} {self.resource_id}/{self.version} of {self.participant_id}"
