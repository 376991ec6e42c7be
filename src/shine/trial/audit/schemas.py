from ninja import Schema
from pydantic import Field


class AuditEventOut(Schema):
    id: int
    seq: int | None = Field(None, description="position in the hash chain (empty for a moment after the write)")
    at: str = Field(description="server time, UTC, ISO 8601 to the microsecond (as the content hash covers it)")
    actor_id: int | None = Field(description="the user's id (empty for a system command)")
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str
    changes: dict = Field(description="{field: [old, new]}; for a blinded role each blinded value is its keyed "
                                      "commitment, so the content hash can still be recomputed")
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
