import datetime as dt

from ninja import Schema


class AuditEventOut(Schema):
    seq: int
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
    prev_hash: str
    hash: str


class AuditPage(Schema):
    count: int
    page: int
    pages: int
    events: list[AuditEventOut]
