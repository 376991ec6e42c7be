"""Explicit input and output schemas of the monitoring API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from shine.api.inputs import Input
from shine.trial.accounts.second_factor import CODE_MAX_LENGTH


class QueryIn(Input):
    participant_id: str
    text: str = Field(..., description="the question to the site")
    form: str = Field("",
                      description="record's form (eligibility, consent, baseline, daily, ...); empty: the participant")
    object_id: str = Field("", description="the record's id (see GET /participants/{id}/casebook)")
    field: str = Field("", description="one field of the record (optional)")
    candidate: bool = Field(False, description="hold back as a candidate (the site does not see it yet)")


class TransitionIn(Input):
    action: str = Field(..., description="open (release a candidate), answer, requery, close or cancel")
    text: str
    corrected: bool = Field(False, description="answer only: the value was corrected on its form since the query")


class MessageOut(Schema):
    number: int
    action: str
    text: str
    author: str
    at: dt.datetime
    correction_event: int | None


class QueryOut(Schema):
    query_id: str
    number: int
    participant_id: str
    site: str
    form: str
    object_id: str
    record: str
    field: str
    state: str
    origin: str
    rule: str
    raised_at: dt.datetime
    opened_at: dt.datetime | None
    state_changed_at: dt.datetime
    days_open: int | None
    actions: list[str]
    messages: list[MessageOut] = []


class EntryOut(Schema):
    form: str
    object_id: str
    record: str
    version_event: int | None
    content_hash: str


class SdvRowOut(EntryOut):
    required: str
    status: str
    verified_by: str | None
    verified_at: dt.datetime | None
    verified_version_event: int | None
    fields_verified: int = Field(..., description="fields of the record verified one by one, current")
    fields_reverify: int = Field(..., description="fields verified one by one and changed since")


class VerifyIn(Input):
    form: str
    object_id: str
    note: str = ""


class PlanIn(Input):
    rules: dict = Field(..., description='form -> {"all": true} or {"first": N, "percent": X}')
    seed: str = Field("", description="64 hex digits; empty: drawn from the CSPRNG now")
    note: str = ""


class PlanOut(Schema):
    version: int
    seed: str
    rules: dict
    note: str
    created_at: dt.datetime


class SdvProgressOut(Schema):
    participant_id: str
    site: str
    required: int
    verified: int
    to_verify: int
    reverify: int


class SignIn(Input):
    meaning: str = Field(..., description="authorship, review or approval")
    password: str = Field(..., description="the signer's own password, re-entered")
    code: str = Field("", max_length=CODE_MAX_LENGTH,
                      description="a second-factor code, when the signer has an authenticator")


class SignatureOut(Schema):
    id: int
    printed_name: str
    signer: str
    meaning: str
    statement: str
    signed_at: dt.datetime
    content_hash: str
    valid: bool


class LockIn(Input):
    reason: str
    form: str = Field("", description="empty: the whole casebook")
    object_id: str = ""


class UnlockIn(Input):
    reason: str


class LockOut(Schema):
    id: int
    record: str
    reason: str
    locked_by: str
    locked_at: dt.datetime
    unlocked_at: dt.datetime | None
    unlock_reason: str


class CasebookOut(Schema):
    participant_id: str
    content_hash: str
    entries: list[EntryOut]
    signatures: list[SignatureOut]
    locks: list[LockOut]


# ---------------------------------------------------------------- SDV per field, database lock, CSM, visits

class FieldVerifyIn(Input):
    form: str
    object_id: str
    fields: list[str] = Field(...,
                              description="the record's fields to mark verified (see GET …/sdv/{form}/{object_id})")
    note: str = ""


class FieldRowOut(Schema):
    field: str
    value: Any = Field(None, description="the field's current value as the audit trail encodes it")
    status: str = Field(..., description="verified, re-verify or not verified")
    verified_by: str | None
    verified_at: dt.datetime | None
    changed_by_event: int | None = Field(None, description="audit event that changed the field after its verification")


class ChecklistItemOut(Schema):
    code: str
    title: str
    ok: bool
    failures: list[str]
    more: int = Field(..., description="failures not listed")


class DatabaseLockOut(Schema):
    locked: bool
    locked_at: dt.datetime | None = None
    locked_by: str | None = None
    reason: str = ""
    checklist: list[ChecklistItemOut] = Field(..., description="now (open database) or as it stood when locked")


class DatabaseLockIn(Input):
    reason: str


class VisitIn(Input):
    site: str
    visit_date: dt.date
    kind: str = Field(..., description="initiation, routine, remote or close-out")
    findings: str
    actions: str = Field("", description="follow-up actions, one a line")


class VisitSignIn(Input):
    password: str


class VisitOut(Schema):
    visit_id: str
    site: str
    visit_date: dt.date
    kind: str
    monitor: str
    findings: str
    actions: list[str]
    signed_at: dt.datetime | None
    printed_name: str
    content_hash: str
    signature_valid: bool
    verified_records: int
    verified_fields: int
