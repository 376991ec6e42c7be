import datetime as dt

from django.core.paginator import Paginator
from ninja import Query, Router
from pydantic import Field, model_validator

from shine.api.inputs import Input

from . import selectors
from .chain import encode_value
from .schemas import AuditPage

router = Router(tags=["audit"])


class AuditQuery(Input):
    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(100, ge=1, le=1000)

    @model_validator(mode="after")
    def dates_in_order(self):
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_to must be on or after date_from")
        return self


@router.get("", response=AuditPage)
def audit_events(request, q: Query[AuditQuery]):
    f = selectors.AuditFilter(actor=q.actor, object_type=q.object_type, object_id=q.object_id, action=q.action,
                              date_from=q.date_from, date_to=q.date_to)
    paginator = Paginator(selectors.events(request.user, f), q.page_size)
    page = paginator.get_page(q.page)
    events = [{**{k: getattr(ev, k) for k in ("id", "actor_id", "actor", "role", "action", "object_type",
                                               "object_id", "reason", "request_id", "app_version", "content_hash")},
               "at": encode_value(ev.at), **selectors.seal_of(ev),
               "changes": selectors.visible_changes(ev, request.user)} for ev in page]
    return {"count": paginator.count, "page": page.number, "pages": paginator.num_pages, "events": events}
