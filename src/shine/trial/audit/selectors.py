"""Reading the audit trail: filtering, paging and masking what a blinded role must not see."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from shine.trial.accounts.roles import Perm

from .models import AuditEvent
from .services import committed_changes


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    action: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def events(user, f: AuditFilter) -> QuerySet[AuditEvent]:
    if not user.can(Perm.VIEW_AUDIT):
        raise PermissionDenied(_("your role may not view the audit trail"))
    qs = AuditEvent.objects.all()
    if f.actor:
        qs = qs.filter(actor=f.actor)
    if f.object_type:
        qs = qs.filter(object_type=f.object_type)
    if f.object_id:
        qs = qs.filter(object_id=f.object_id)
    if f.action:
        qs = qs.filter(action=f.action)
    if f.date_from:
        qs = qs.filter(at__date__gte=f.date_from)
    if f.date_to:
        qs = qs.filter(at__date__lte=f.date_to)
    return qs.select_related("seal").order_by("-id")


def visible_changes(event: AuditEvent, user) -> dict:
    """The event's changes; for a blinded role each blinded value is replaced by its keyed commitment, which
    tells nothing of the value but still lets the reader recompute the event's content hash."""
    if not user.role_def.blinded:
        return json.loads(event.changes)
    return json.loads(committed_changes(object_type=event.object_type, object_id=event.object_id, at=event.at,
                                        changes=event.changes))


def seal_of(event: AuditEvent) -> dict:
    """The event's place in the hash chain, or empty values while it awaits its seal."""
    seal = getattr(event, "seal", None)  # a missing one-to-one raises an AttributeError subclass
    return {"seq": seal.seq, "prev_hash": seal.prev_hash, "hash": seal.hash} if seal else \
        {"seq": None, "prev_hash": None, "hash": None}


def action_choices() -> list[str]:
    return list(AuditEvent.objects.order_by().values_list("action", flat=True).distinct())
