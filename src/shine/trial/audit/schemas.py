import datetime as dt

from ninja import Schema
from pydantic import Field


class AuditEventOut(Schema):
    id: int
    seq: int | None = Field(None, description="position in the hash chain (empty for a moment after the write)")
    at: dt.datetime
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str
    changes: dict
    reason: str
    request_id: str
    app_version: str
    content_hash: str
    prev_hash: str | None
    hash: str | None


class AuditPage(Schema):
    count: int
    page: int
    pages: int
    events: list[AuditEventOut]
