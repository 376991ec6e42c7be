from __future__ import annotations

import datetime as dt

from ninja import Schema

from shine.api.inputs import Input


class InterimSiteProgressOut(Schema):
    code: str
    name: str
    randomised: int
    complete: int
    pending: int
    per_month: float | None
    overdue: int | None  # overdue forms (the records worklist); None for a role that may not see participants
    entry_days: float | None  # median days from visit to entry over recent forms; None: no such form
    entry_forms: int
    open_queries: int


class InterimMonthOut(Schema):
    month: str
    counts: list[int]  # per site, in the order of ``site_codes``
    total: int
    cumulative: int
    planned: float | None  # the protocol's planned cumulative recruitment; None: no plan


class InterimForecastOut(Schema):
    target: int
    complete: int
    pending: int
    reached: bool
    median: str | None
    low: str | None
    high: str | None
    simulations: int
    seed: int
    method: str


class InterimProgressOut(Schema):
    interim_n: int
    max_n: int
    randomised: int
    complete: int
    interim_reached: bool
    sites: list[InterimSiteProgressOut]
    site_codes: list[str]
    recruitment: list[InterimMonthOut]
    timeliness_days: int
    forecast: InterimForecastOut


class InterimFreezeOut(Schema):
    id: int
    data_cutoff: str
    n_randomised: int
    n_day90_complete: int
    sha256: str
    run_id: int | None


class InterimRunOut(Schema):
    id: int
    freeze_id: int
    data_cutoff: str
    n_analysed: int
    open_files: dict[str, str]


class InterimRunIn(Input):
    prior_sd: float = 1.0  # SD of the normal prior of the drift, in design drifts


class DsmbRecommendationIn(Input):
    meeting_date: dt.date
    decision: str
    rationale: str
    members: list[str]


class SponsorLetterOut(Schema):
    id: int
    meeting_date: dt.date
    decision: str
    members: list[str]
    letter: str
