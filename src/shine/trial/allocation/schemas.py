"""JSON shapes of the allocation API. Arm fields appear only in the unblinded endpoints' shapes."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from shine.api.inputs import Input
from shine.trial.accounts.second_factor import CODE_MAX_LENGTH


class RandomiseIn(Input):
    weight_kg: float = Field(description="actual or estimated body weight at inclusion")
    weight_estimated: bool
    request_id: str = Field("", max_length=80, description="the same id makes a retry return the same answer; "
                                                           "default: the Idempotency-Key header")


class RandomisedOut(Schema):
    participant: str
    randomisation_number: int
    pack_number: str
    randomised_at: dt.datetime
    weight_kg: float
    weight_estimated: bool
    infusion_rate_ml_per_h: float
    planned_volume_ml: float
    duration_hours: float
    concentration_ng_per_ml: float
    dose_ng_per_kg_min: float
    request_id: str


class UnblindIn(Input):
    reason: str
    password: str
    code: str = Field("", max_length=CODE_MAX_LENGTH,
                      description="a second-factor code, when the user has an authenticator")


class UnblindOut(Schema):
    participant: str
    allocation: str
    unblinded_at: dt.datetime


class UnblindingOut(Schema):
    id: int
    participant: str
    site: str
    investigator: str
    at: dt.datetime
    reason: str


class GenerateListIn(Input):
    length_per_site: int
    name: str = ""


class ImportListIn(Input):
    name: str = ""
    csv: str = Field(description="site,position,number,block,block_size,arm")


class SiteQCOut(Schema):
    site: str
    entries: int
    active: int
    control: int
    blocks: int
    block_sizes: dict[int, int]
    max_running_imbalance: int
    unbalanced_blocks: int


class ListOut(Schema):
    id: int
    name: str
    source: str
    seed: str
    algorithm: str
    block_sizes: str
    length_per_site: int
    sha256: str
    active: bool
    created_at: dt.datetime
    intact: bool
    qc_ok: bool
    qc: list[SiteQCOut]


class CreatePacksIn(Input):
    count_per_arm: int


class PackEventIn(Input):
    kind: str = Field(description="received, returned or destroyed")
    numbers: list[str]
    site: str = Field("", description="site code (received)")
    note: str = ""


class PackOut(Schema):
    number: str
    arm: str
    status: str
    site: str | None


class AllocationOut(Schema):
    participant: str
    site: str
    randomisation_number: int
    arm: str
    pack_number: str
    allocated_at: dt.datetime
    allocated_by: str
