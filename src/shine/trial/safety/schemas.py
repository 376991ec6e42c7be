"""Explicit input and output schemas of the safety API."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from shine.api.inputs import Input


class EventIn(Input):
    term: str = Field(..., description="the reporter's verbatim term")
    onset_at: dt.datetime
    aware_at: dt.datetime = Field(..., description="when the site learnt what this report says")
    serious: bool | None = Field(..., description="true needs at least one criterion; false allows none")
    death: bool = False
    life_threatening: bool = False
    hospitalisation: bool = Field(False, description="requires or prolongs hospitalisation")
    disability: bool = False
    congenital_anomaly: bool = False
    medically_important: bool = False
    severity: str = Field(..., description="mild, moderate, severe")
    outcome: str = Field(...,
                         description="recovered, recovering, not_recovered, recovered_with_sequelae, fatal, unknown")
    action: str = Field(..., description="none, interrupted, stopped, not_running, unknown")
    prespecified: str | None = Field(..., description="one of safety.prespecified_events, or empty: none of them")
    exempt: str = Field("", description="one of safety.exempt_events, or empty")
    related: bool | None = Field(..., description="investigator: reasonable possibility of a causal relation")
    meddra_version: str = ""
    meddra_code: str = Field("", description="8-digit MedDRA code, only with meddra_version")
    narrative: str = ""


class NewEventIn(EventIn):
    participant_id: str


class AssessIn(Input):
    expected: bool | None = Field(..., description="consistent with the RSI in force at the onset")
    sponsor_related: bool | None = Field(None, description="empty: no sponsor opinion; never false when the "
                                                           "investigator said related")
    comment: str = ""


class SubmissionIn(Input):
    kind: str = Field(..., description="initial, followup, restart or close")
    at: dt.datetime
    note: str = ""


class RsiIn(Input):
    version: str
    approved_on: dt.date
    in_force_from: dt.datetime
    expected_reactions: str


class RsiOut(Schema):
    version: str
    approved_on: dt.date
    in_force_from: dt.datetime
    expected_reactions: list[str]


class VersionOut(Schema):
    version: int
    term: str
    meddra_version: str
    meddra_code: str
    onset_at: dt.datetime
    aware_at: dt.datetime
    serious: bool
    criteria: list[str]
    severity: str
    outcome: str
    action: str
    prespecified: str
    exempt: str
    related: bool
    narrative: str
    flags: list[str]
    entered_by: str
    entered_at: dt.datetime


class SponsorAssessmentOut(Schema):
    number: int
    case_version: int
    rsi_version: str
    expected: bool
    sponsor_related: bool | None
    comment: str
    assessed_by: str
    assessed_at: dt.datetime


class ClockOut(Schema):
    kind: str
    label: str
    starts: dt.datetime
    due: dt.datetime
    met_at: dt.datetime | None
    state: str


class CaseOut(Schema):
    case_id: str
    participant_id: str
    site: str
    site_aware_at: dt.datetime | None
    sponsor_aware_at: dt.datetime | None
    versions: list[VersionOut]
    assessments: list[SponsorAssessmentOut]
    clocks: list[ClockOut]
    susar: str


class CaseSummaryOut(Schema):
    case_id: str
    participant_id: str
    site: str
    term: str
    onset_at: dt.datetime
    serious: bool
    version: int


class SafetyWorkItemOut(Schema):
    case_id: str
    participant_id: str
    what: str
    due: dt.datetime | None
    state: str


class CaseOutputOut(Schema):
    case: dict
    valid: bool
    missing: list[str]


class SarLineOut(Schema):
    case_id: str
    coded_subject: str
    site: str
    term: str
    onset_at: dt.datetime
    criteria: list[str]
    outcome: str
    investigator_causality: str
    sponsor_causality: str
    expectedness: str


class TabulationOut(Schema):
    category: str
    in_period: int
    cumulative: int


class AnnualReportOut(Schema):
    period_start: dt.datetime
    period_end: dt.datetime
    sars: list[SarLineOut]
    tabulation: list[TabulationOut]
