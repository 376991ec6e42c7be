"""Monitoring visits: the monitor records a visit to a site (date, kind, findings, follow-up actions) and signs
its report with the password re-entered; the signature covers the SHA-256 of the report's content and the
report changes no more (docs/monitoring.md, "Monitoring visits")."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from shine.trial.accounts.models import Site, User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.audit import services as audit
from shine.trial.audit.chain import canonical_json
from shine.trial.audit.services import Actor
from shine.trial.errors import Refused, entered_text
from shine.web.formats import local_date

from .models import FieldVerification, MonitoringVisit, Verification
from .services import refuse_wrong_password

TEXT_LIMIT = 4000
EARLIEST = dt.date(2019, 1, 1)


def _clean(*, site_code: str, visit_date, kind: str, findings: str, actions: str) -> dict:
    site = Site.objects.filter(code=(site_code or "").strip().upper()).first()
    if site is None:
        codes = Site.objects.order_by("code").values_list("code", flat=True)
        raise Refused(_("site must be one of %(sites)s") % {"sites": ", ".join(codes)}, field="site")
    if not isinstance(visit_date, dt.date):
        raise Refused(_("visit date must be a date"), field="visit_date")
    if isinstance(visit_date, dt.datetime):
        visit_date = visit_date.date()
    if not EARLIEST <= visit_date <= timezone.localdate():
        raise Refused(_("visit date must be from %(earliest)s to today") % {"earliest": local_date(EARLIEST)},
                      field="visit_date")
    if kind not in MonitoringVisit.Kind.values:
        raise Refused(_("kind must be one of %(kinds)s") % {"kinds": ", ".join(MonitoringVisit.Kind.values)},
                      field="kind")
    return {"site": site, "visit_date": visit_date, "kind": kind,
            "findings": entered_text("findings", findings, label=_("findings"), limit=TEXT_LIMIT, required=True),
            "actions": entered_text("actions", actions, label=_("follow-up actions"), limit=TEXT_LIMIT)}


def record_visit(*, user: User, site_code: str, visit_date, kind: str, findings: str, actions: str = "",
                 request_id: str = "") -> MonitoringVisit:
    require(user, Perm.VERIFY_SOURCE)
    values = _clean(site_code=site_code, visit_date=visit_date, kind=kind, findings=findings, actions=actions)
    try:
        with transaction.atomic():
            number = (MonitoringVisit.objects.aggregate(n=Max("number"))["n"] or 0) + 1
            return audit.create(MonitoringVisit, actor=Actor.of(user, request_id), number=number, monitor=user,
                                created_at=timezone.now(), **values)
    except IntegrityError:
        raise Refused(_("another visit was recorded at the same moment: send it again"), status=409) from None


def update_visit(*, user: User, visit: MonitoringVisit, findings: str, actions: str, reason: str,
                 request_id: str = "") -> MonitoringVisit:
    require(user, Perm.VERIFY_SOURCE)
    reason = entered_text("reason", reason, label=_("reason"), limit=400, required=True)
    values = _clean(site_code=visit.site.code, visit_date=visit.visit_date, kind=visit.kind, findings=findings,
                    actions=actions)
    with transaction.atomic():
        current = MonitoringVisit.objects.select_for_update().get(pk=visit.pk)
        _own_unsigned(user, current)
        return audit.update(current, actor=Actor.of(user, request_id), reason=reason, findings=values["findings"],
                            actions=values["actions"])


def _own_unsigned(user: User, visit: MonitoringVisit) -> None:
    if visit.monitor_id != user.pk:
        raise Refused(_("only the monitor who made the visit changes or signs its report"), status=403)
    if visit.signed_at is not None:
        raise Refused(_("%(visit)s is signed: its report no longer changes") % {"visit": visit.label}, status=409)


def content(visit: MonitoringVisit) -> dict:
    return {"visit": visit.label, "site": visit.site.code, "date": visit.visit_date.isoformat(), "kind": visit.kind,
            "monitor": visit.monitor.username, "findings": visit.findings, "actions": visit.action_list}


def content_hash(visit: MonitoringVisit) -> str:
    return hashlib.sha256(canonical_json(content(visit)).encode("utf-8")).hexdigest()


def sign_visit(*, user: User, visit: MonitoringVisit, password: str, request_id: str = "") -> MonitoringVisit:
    """The monitor signs the visit report, re-entering the password."""
    require(user, Perm.VERIFY_SOURCE)
    actor = Actor.of(user, request_id)
    refuse_wrong_password(user=user, password=password, actor=actor, object_type="monitoring.monitoringvisit",
                          object_id=str(visit.pk))
    with transaction.atomic():
        current = MonitoringVisit.objects.select_for_update().select_related("site", "monitor").get(pk=visit.pk)
        _own_unsigned(user, current)
        return audit.update(current, actor=actor, reason="monitor's signature", signed_at=timezone.now(),
                            printed_name=user.full_name or user.username, content_hash=content_hash(current))


def may_view(user: User) -> bool:
    return user.is_authenticated and user.role_def.cross_site and (
        user.can(Perm.VERIFY_SOURCE) or user.can(Perm.MANAGE_DATA))


def visits(user: User, *, site: str = "") -> list[MonitoringVisit]:
    if not may_view(user):
        raise Http404("no monitoring visits for this role")
    qs = MonitoringVisit.objects.select_related("site", "monitor")
    if site:
        qs = qs.filter(site__code=site.upper()[:8])
    return list(qs)


def visit_for_user(user: User, number) -> MonitoringVisit:
    key = str(number).strip().upper().removeprefix("MV-")
    v = None
    if may_view(user) and key.isascii() and key.isdigit() and len(key) < 10:
        v = MonitoringVisit.objects.select_related("site", "monitor").filter(number=int(key)).first()
    if v is None:
        raise Http404("no such visit")
    return v


def verified_at_visit(visit: MonitoringVisit) -> dict:
    """What the visit's monitor verified at the visit's site on its date: records and single fields."""
    day = (visit.visit_date, visit.visit_date + dt.timedelta(days=1))
    start, end = (timezone.make_aware(dt.datetime.combine(d, dt.time())) for d in day)
    common = {"verified_by": visit.monitor, "participant__site": visit.site, "verified_at__gte": start,
              "verified_at__lt": end}
    return {"records": Verification.objects.filter(**common).count(),
            "fields": FieldVerification.objects.filter(**common).count(),
            "participants": sorted(set(Verification.objects.filter(**common).values_list(
                                       "participant__number", flat=True))
                                   | set(FieldVerification.objects.filter(**common).values_list(
                                       "participant__number", flat=True)))}
