"""API of per-field SDV, the database lock, central statistical monitoring and monitoring visits (the routes
join the monitoring router; the same services and selectors as the pages)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Status

from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.enrollment.selectors import participant_for_user
from shine.trial.errors import rid

from . import casebook, database_lock, field_sdv, selectors, visits
from .api import router
from .schemas import DatabaseLockIn, DatabaseLockOut, FieldRowOut, FieldVerifyIn, VisitIn, VisitOut, VisitSignIn


def _field_rows(p, entry) -> list[dict]:
    return [{"field": r.field, "value": r.value, "status": r.status, "changed_by_event": r.changed_by_event,
             "verified_by": r.verification.verified_by.username if r.verification else None,
             "verified_at": r.verification.verified_at if r.verification else None}
            for r in field_sdv.field_rows(p, entry)]


def _entry(p, form: str, object_id: str):
    entry = casebook.entry(p, form, object_id) if form in casebook.FORMS else None
    if entry is None:
        raise Http404("no such record")
    return entry


@router.get("/participants/{participant_id}/sdv/{form}/{object_id}", response=list[FieldRowOut])
def record_fields(request, participant_id: str, form: str, object_id: str):
    """Each field of one record with its verification status (verified, re-verify, not verified)."""
    if not selectors.may_view_sdv(request.user):
        raise PermissionDenied(_("your role may not view source data verification"))
    p = participant_for_user(request.user, participant_id)
    return _field_rows(p, _entry(p, form, object_id))


@router.post("/participants/{participant_id}/sdv/field-verifications", response={201: list[FieldRowOut]})
def verify_fields(request, participant_id: str, payload: FieldVerifyIn):
    require(request.user, Perm.VERIFY_SOURCE)
    p = participant_for_user(request.user, participant_id)
    field_sdv.verify_fields(user=request.user, participant=p, form=payload.form, object_id=payload.object_id,
                            fields=payload.fields, note=payload.note, request_id=rid(request))
    return Status(201, _field_rows(p, _entry(p, payload.form, payload.object_id)))


# ---------------------------------------------------------------- database lock

def _lock_state() -> dict:
    lk = database_lock.current()
    if lk is None:
        return {"locked": False, "checklist": [i.as_dict() for i in database_lock.checklist()]}
    return {"locked": True, "locked_at": lk.locked_at, "locked_by": lk.locked_by.username, "reason": lk.lock_reason,
            "checklist": lk.checklist}


def _may_see_lock(user) -> None:
    if not (user.can(Perm.MANAGE_DATA) or user.can(Perm.UNLOCK_DATABASE)):
        raise PermissionDenied(_("your role may not lock the database"))


@router.get("/monitoring/database-lock", response=DatabaseLockOut)
def database_lock_state(request):
    """Whether the trial database is locked, and the pre-lock checklist."""
    _may_see_lock(request.user)
    return _lock_state()


@router.post("/monitoring/database-lock", response={201: DatabaseLockOut})
def database_lock_create(request, payload: DatabaseLockIn):
    """Lock the database (data manager); 409 naming every failing item of the checklist."""
    database_lock.lock_database(user=request.user, reason=payload.reason, request_id=rid(request))
    return Status(201, _lock_state())


@router.post("/monitoring/database-lock/unlock", response=DatabaseLockOut)
def database_lock_lift(request, payload: DatabaseLockIn):
    """Lift the lock (trial manager), with a reason."""
    database_lock.unlock_database(user=request.user, reason=payload.reason, request_id=rid(request))
    return _lock_state()


# ---------------------------------------------------------------- monitoring visits

def _visit_out(v) -> dict:
    seen = visits.verified_at_visit(v)
    return {"visit_id": v.label, "site": v.site.code, "visit_date": v.visit_date, "kind": v.kind,
            "monitor": v.monitor.username, "findings": v.findings, "actions": v.action_list, "signed_at": v.signed_at,
            "printed_name": v.printed_name, "content_hash": v.content_hash,
            "signature_valid": v.signed_at is not None and v.content_hash == visits.content_hash(v),
            "verified_records": seen["records"], "verified_fields": seen["fields"]}


@router.get("/monitoring/visits", response=list[VisitOut])
def visit_list(request, site: str = ""):
    """Monitoring visits, newest first, optionally of one site."""
    if not visits.may_view(request.user):
        raise PermissionDenied(_("your role may not view monitoring visits"))
    return [_visit_out(v) for v in visits.visits(request.user, site=site)[:500]]


@router.post("/monitoring/visits", response={201: VisitOut})
def visit_create(request, payload: VisitIn):
    v = visits.record_visit(user=request.user, site_code=payload.site, visit_date=payload.visit_date,
                            kind=payload.kind, findings=payload.findings, actions=payload.actions,
                            request_id=rid(request))
    return Status(201, _visit_out(v))


@router.get("/monitoring/visits/{visit_id}", response=VisitOut)
def visit_detail(request, visit_id: str):
    return _visit_out(visits.visit_for_user(request.user, visit_id))


@router.post("/monitoring/visits/{visit_id}/signature", response=VisitOut)
def visit_sign(request, visit_id: str, payload: VisitSignIn):
    v = visits.visit_for_user(request.user, visit_id)
    return _visit_out(visits.sign_visit(user=request.user, visit=v, password=payload.password,
                                        request_id=rid(request)))
