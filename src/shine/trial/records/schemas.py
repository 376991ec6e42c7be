"""Explicit input and output schemas of the case-report-form API (never every model field by default)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Schema
from pydantic import Field, PlainSerializer, field_serializer

from shine.api.inputs import Input
from shine.clinical.precision import DECIMALS, shown
from shine.trial.audit.services import REASON_LIMIT


def Shown(quantity: str):
    """A derived number sent at its clinical precision (shine.clinical.precision); entered values are not."""
    return Annotated[float | None, PlainSerializer(lambda v: shown(quantity, v), return_type=float | None)]


CODES_DOC = ("missing-data codes: input → not_done, unknown or not_applicable, for an input without a value "
             "(inputs: pao2_fio2, respiratory_support, platelets, bilirubin, map_mmhg, vasopressor, "
             "vasopressor_doses, gcs, creatinine, urine_output, mechanical_ventilation, rrt)")


class SofaIn(Input):
    pao2: float | None = Field(None, description="worst PaO2 of the day, in pao2_unit")
    pao2_unit: str = Field("mmHg", description="mmHg or kPa")
    fio2: float | None = Field(None, description="FiO2 at that PaO2, as a fraction or a percentage")
    fio2_unit: str = Field("", description="fraction, percent, or empty to infer (≤ 1 fraction, ≥ 21 %)")
    respiratory_support: bool | None = Field(None, description="yes/no; empty = not entered (or code unknown)")
    platelets: float | None = Field(None, description="10⁹/L (= 10³/µL)")
    bilirubin: float | None = None
    bilirubin_unit: str = Field("umol/L", description="umol/L or mg/dL")
    map_mmhg: float | None = None
    dopamine: float | None = Field(None, description="µg/kg/min; empty with another dose given = not given; "
                                   "empty with no dose given = unknown (unless vasopressor is false)")
    dobutamine: float | None = None
    epinephrine: float | None = None
    norepinephrine: float | None = None
    gcs: int | None = None
    creatinine: float | None = None
    creatinine_unit: str = Field("umol/L", description="umol/L or mg/dL")
    urine_output: float | None = Field(None, description="mL per 24 h")
    codes: dict[str, str] = Field(default_factory=dict, description=CODES_DOC)
    comments: dict[str, str] = Field(default_factory=dict, description="input → the nurse's note beside it")


class DailyValuesIn(SofaIn):
    vasopressor: bool | None = Field(None, description="any vasopressor or inotrope; empty = not entered "
                                     "(a dose given implies yes)")
    mechanical_ventilation: bool | None = None
    rrt: bool | None = None


class DailyIn(DailyValuesIn):
    study_day: int


class DailyUpdateIn(DailyValuesIn):
    """PUT: every value field named (null for an empty one); PATCH: only the fields that change."""
    reason: str = Field("", max_length=REASON_LIMIT, description="why a saved value changes")


class SofaOut(Schema):
    components: dict[str, int | None]
    total: int | None
    modified: int | None
    missing: list[str]
    summary: str
    converted: dict[str, float | None]
    warnings: list[str]
    missing_inputs: list[str]
    missing_input_labels: list[str]

    @field_serializer("converted")
    def _converted_at_clinical_precision(self, converted: dict) -> dict:
        return {k: shown(k, v) if k in DECIMALS else v for k, v in converted.items()}


class DailyOut(Schema):
    study_day: int
    pao2_entered: float | None
    pao2_unit: str
    fio2_entered: float | None
    fio2_unit: str
    pao2_fio2: Shown("pao2_fio2")
    respiratory_support: bool | None
    platelets: float | None
    bilirubin_entered: float | None
    bilirubin_unit: str
    bilirubin: Shown("bilirubin")
    map_mmhg: float | None
    dopamine: float | None
    dobutamine: float | None
    epinephrine: float | None
    norepinephrine: float | None
    gcs: int | None
    creatinine_entered: float | None
    creatinine_unit: str
    creatinine: Shown("creatinine")
    urine_output: float | None
    vasopressor: bool | None
    mechanical_ventilation: bool | None
    rrt: bool | None
    codes: dict[str, str]
    comments: dict[str, str]
    missing_inputs: list[str]
    complete: bool
    sofa: dict[str, int | None]
    sofa_total: int | None
    sofa_modified: int | None
    warnings: list[str]
    needs_review: bool
    entered_by: str
    entered_at: dt.datetime


class BaselineIn(SofaIn):
    age: int
    sex: str
    weight_kg: float
    weight_estimated: bool
    site_of_infection: str
    comorbidities: list[str] = []
    icu_admitted_at: dt.datetime
    reason: str = Field("", max_length=REASON_LIMIT, description="why a saved value changes")


class BaselinePatchIn(SofaIn):
    """PATCH of the baseline: only the fields that change, and the reason."""
    age: int | None = None
    sex: str | None = None
    weight_kg: float | None = None
    weight_estimated: bool | None = None
    site_of_infection: str | None = None
    comorbidities: list[str] | None = None
    icu_admitted_at: dt.datetime | None = None
    reason: str = Field("", max_length=REASON_LIMIT, description="why a saved value changes")


class BaselineOut(Schema):
    age: int
    sex: str
    weight_kg: float
    weight_estimated: bool
    site_of_infection: str
    comorbidities: list[str]
    icu_admitted_at: dt.datetime
    pao2_fio2: Shown("pao2_fio2")
    platelets: float | None
    bilirubin: Shown("bilirubin")
    map_mmhg: float | None
    gcs: int | None
    creatinine: Shown("creatinine")
    urine_output: float | None
    codes: dict[str, str]
    comments: dict[str, str]
    sofa: dict[str, int | None]
    sofa_total: int | None
    sofa_modified: int | None
    warnings: list[str]
    needs_review: bool


class InfusionEventIn(Input):
    kind: str = Field(description="start, stop, restart, rate_change or end")
    at: dt.datetime
    rate_ml_per_h: float | None = Field(None, description="for start, restart and rate_change")
    stop_reason: str = Field("", description="for stop: interrupted, adverse_event, death, discharge, other")
    note: str = ""


class SegmentOut(Schema):
    segment: int
    started_at: dt.datetime
    stopped_at: dt.datetime | None
    rate_ml_per_h: float
    concentration_ng_per_ml: float
    stop_reason: str
    note: str
    warnings: list[str]


class DeliveredOut(Schema):
    total_ng: Shown("total_ng")
    hours_infused: Shown("hours_infused")
    planned_ng: Shown("planned_ng")
    fraction_of_planned: Shown("fraction_of_planned")
    longest_interruption_hours: Shown("longest_interruption_hours")
    summary: str


class InfusionOut(Schema):
    segments: list[SegmentOut]
    running: bool
    ended: bool
    early_stop: str | None
    computed_rate_ml_per_h: Shown("computed_rate_ml_per_h")
    delivered: DeliveredOut | None


class SampleIn(Input):
    study_day: int
    sample_id: str = ""
    drawn_at: dt.datetime
    frozen_at: dt.datetime | None = None
    comments: str = ""


class SampleUpdateIn(Input):
    """PUT: drawn_at, frozen_at and comments named; PATCH: only the fields that change."""
    drawn_at: dt.datetime | None = None
    frozen_at: dt.datetime | None = None
    comments: str = ""
    reason: str = Field("", max_length=REASON_LIMIT, description="why a saved value changes")


class SampleOut(Schema):
    study_day: int
    sample_id: str
    drawn_at: dt.datetime
    frozen_at: dt.datetime | None
    comments: str
    warnings: list[str]


class DischargeIn(Input):
    discharged_at: dt.datetime


class ReadmissionIn(Input):
    admitted_at: dt.datetime


class StayOut(Schema):
    stay: int
    admitted_at: dt.datetime
    discharged_at: dt.datetime | None
    discharge: str


class DeathIn(Input):
    died_at: dt.datetime
    cause: str = ""
    reason: str = Field("", max_length=REASON_LIMIT, description="why a saved value changes")


class DeathPatchIn(Input):
    """PATCH of the death: the field that changes, and the reason."""
    died_at: dt.datetime | None = None
    cause: str | None = None
    reason: str = Field("", max_length=REASON_LIMIT, description="why a saved value changes")


class DeathOut(Schema):
    died_at: dt.datetime
    cause: str


class FollowUpIn(Input):
    visit_day: int
    assessed_at: dt.datetime
    vital_status: str = Field(description="alive, dead or unknown")
    days_vasopressor: int | None = None
    days_ventilation: int | None = None
    days_rrt: int | None = None
    eq5d_mobility: int | None = Field(None, description="EQ-5D-5L level 1–5")
    eq5d_selfcare: int | None = None
    eq5d_activities: int | None = None
    eq5d_pain: int | None = None
    eq5d_anxiety: int | None = None
    eq5d_vas: int | None = Field(None, description="0–100")


class FollowUpUpdateIn(FollowUpIn):
    reason: str = Field("", max_length=REASON_LIMIT, description="why a saved value changes")


class FollowUpPatchIn(Input):
    """PATCH of a follow-up visit: only the fields that change, and the reason."""
    assessed_at: dt.datetime | None = None
    vital_status: str | None = None
    days_vasopressor: int | None = None
    days_ventilation: int | None = None
    days_rrt: int | None = None
    eq5d_mobility: int | None = None
    eq5d_selfcare: int | None = None
    eq5d_activities: int | None = None
    eq5d_pain: int | None = None
    eq5d_anxiety: int | None = None
    eq5d_vas: int | None = None
    reason: str = Field("", max_length=REASON_LIMIT, description="why a saved value changes")


class FollowUpOut(Schema):
    visit_day: int
    assessed_at: dt.datetime
    vital_status: str
    days_vasopressor: int | None
    days_ventilation: int | None
    days_rrt: int | None
    eq5d_mobility: int | None
    eq5d_selfcare: int | None
    eq5d_activities: int | None
    eq5d_pain: int | None
    eq5d_anxiety: int | None
    eq5d_vas: int | None
    warnings: list[str]


class ScheduleItemOut(Schema):
    form: str
    label: str
    study_day: int | None
    opens_at: dt.datetime
    overdue_at: dt.datetime
    status: str
    why: str


class WorkItemOut(ScheduleItemOut):
    participant: str
    site: str


class OutcomesOut(Schema):
    mean_daily_sofa: Shown("mean_daily_sofa")
    icu_days: int
    observed_days: int
    carried_days: int
    missing_days: int
    days_alive_without: dict[str, int | None]
    horizon_days: int
    daily: list[dict]
    problems: list[str]
