"""JSON shapes of the enrolment API (explicit fields only)."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from shine.api.inputs import Input
from shine.trial.audit.services import REASON_LIMIT


class Facts(Schema):
    age: int | None = None
    sex: str | None = Field(None, description="F or M")
    in_icu: bool | None = None
    infection: bool | None = None
    vasopressor: bool | None = None
    lactate_mmol_l: float | None = None
    stm_ng_ml: float | None = None
    shock_diagnosed_at: dt.datetime | None = None
    pregnant: bool | None = None
    withdrawal_from_active_therapy: bool | None = None
    hypersensitivity: bool | None = None
    life_threatening_bleeding: bool | None = None
    severe_heart_failure: bool | None = None
    acute_coronary_syndrome: bool | None = None
    previously_included: bool | None = None
    consent_unobtainable: bool | None = None
    other_prostacyclin_trial: bool | None = None


class ScreeningIn(Facts, Input):
    site: str = Field(description="site code, e.g. HGH")
    screened_at: dt.datetime | None = Field(None, description="default: now")


class ScreeningUpdateIn(Facts, Input):
    reason: str = Field(max_length=REASON_LIMIT, description="why the facts change")


class NotRandomisedIn(Input):
    reason: str = Field(description="no_guardian, declined or other")
    note: str = ""


class FailureOut(Schema):
    code: str
    reason: str


class AssessmentOut(Schema):
    eligible: bool | None
    outcome: str
    failed: list[FailureOut]
    missing: list[str]


class ScreeningOut(Facts):
    id: int
    label: str
    site: str
    screened_at: dt.datetime
    screened_by: str
    outcome: str
    reasons: str
    not_randomised_reason: str
    not_randomised_note: str
    assessment: AssessmentOut
    participant: str | None


class ScreeningPage(Schema):
    count: int
    page: int
    pages: int
    screenings: list[ScreeningOut]


class MonthCountOut(Schema):
    site: str
    month: str
    screened: int
    eligible: int
    randomised: int


class ConsortOut(Schema):
    screened: int
    not_eligible: int
    not_eligible_by_criterion: dict[str, int]
    not_assessable: int
    eligible: int
    awaiting_decision: int
    not_randomised: int
    not_randomised_by_reason: dict[str, int]
    randomised: int
    randomised_by_site: dict[str, int]


class ScreeningSummary(Schema):
    consort: ConsortOut
    per_site_month: list[MonthCountOut]


class EnrolIn(Input):
    screening_id: int
    consenter_name: str = Field(description="first physician of the scientific guardian")
    second_consenter_name: str = Field(description="second physician of the scientific guardian")
    occurred_at: dt.datetime
    form_version: str
    cpr: str = Field("", description="DDMMYY-SSSS; optional at enrolment")
    note: str = ""


class ConsentIn(Input):
    kind: str = Field(description="next_of_kin_consent, next_of_kin_refusal, patient_consent, patient_refusal, "
                                  "died, never_regained_capacity or withdrawal")
    occurred_at: dt.datetime
    consenter_name: str = ""
    consenter_role: str = Field("", description="withdrawal only: next_of_kin or patient")
    form_version: str = ""
    use_data_collected: bool | None = Field(None, description="refusal/withdrawal: may data collected so far be used")
    continue_vital_status_follow_up: bool | None = Field(None, description="refusal/withdrawal: follow vital status")
    note: str = ""


class CprIn(Input):
    cpr: str
    reason: str = Field(max_length=REASON_LIMIT)


class ConsentEventOut(Schema):
    id: int
    kind: str
    consenter_role: str
    consenter_name: str
    second_consenter_name: str
    occurred_at: dt.datetime
    form_version: str
    entered_by: str
    entered_at: dt.datetime
    use_data_collected: bool | None
    continue_vital_status_follow_up: bool | None
    note: str


class RandomisationOut(Schema):
    randomisation_number: int
    pack_number: str
    randomised_at: dt.datetime
    weight_kg: float
    infusion_rate_ml_per_h: float
    planned_volume_ml: float


class ParticipantOut(Schema):
    id: int
    number: str
    site: str
    screening_id: int
    enrolled_at: dt.datetime
    randomised_at: dt.datetime | None
    randomisation_number: int | None
    weight_kg: float | None
    weight_estimated: bool | None
    consent_status: str
    awaiting_next_of_kin: bool
    awaiting_patient: bool
    new_data_allowed: bool
    use_data_collected: bool
    continue_vital_status_follow_up: bool
    data_restricted_at: dt.datetime | None
    cpr: str | None = Field(None, description="only for staff of the participant's site")
    randomisation: RandomisationOut | None = None
    allocation_unblinded: str | None = Field(None, description="only for a user allowed to see it")
    consent_events: list[ConsentEventOut] = []


class ParticipantPage(Schema):
    count: int
    page: int
    pages: int
    participants: list[ParticipantOut]
