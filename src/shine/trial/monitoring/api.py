"""The monitoring API: the same services and selectors as the pages (docs/monitoring.md)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import Router, Status

from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.enrollment.selectors import participant_for_user
from shine.trial.errors import Refused, rid

from . import casebook, field_sdv, selectors, services
from .schemas import (
    CasebookOut,
    LockIn,
    PlanIn,
    PlanOut,
    QueryIn,
    QueryOut,
    SdvProgressOut,
    SdvRowOut,
    SignIn,
    TransitionIn,
    UnlockIn,
    VerifyIn,
)

router = Router(tags=["monitoring"])


def query_out(q, user, *, messages: bool = True) -> dict:
    out = {"query_id": q.label, "number": q.number, "participant_id": q.participant.number, "site": q.site.code,
           "form": q.form, "object_id": q.object_id, "record": q.record_label, "field": q.field, "state": q.state,
           "origin": q.origin, "rule": q.rule, "raised_at": q.raised_at, "opened_at": q.opened_at,
           "state_changed_at": q.state_changed_at, "days_open": selectors.age_days(q),
           "actions": services.actions_for(user, q), "messages": []}
    if messages:
        out["messages"] = [{"number": m.number, "action": m.action, "text": m.text, "author": m.author_name,
                            "at": m.at, "correction_event": m.correction_event} for m in q.messages.order_by("number")]
    return out


@router.get("/monitoring/queries", response=list[QueryOut])
def query_list(request, site: str = "", state: str = "", participant_id: str = "", min_age_days: int | None = None):
    """Queries by site, state ('active': candidate, open or answered) and days open; site staff: their sites."""
    if min_age_days is not None and not 0 <= min_age_days <= 3650:
        raise Refused(_("min_age_days must be from 0 to 3650"), field="min_age_days")
    qs = selectors.filtered(request.user, site=site, state=state, participant=participant_id,
                            min_age_days=min_age_days)
    return [query_out(q, request.user, messages=False) for q in qs[:1000]]


@router.post("/monitoring/queries", response={201: QueryOut})
def query_create(request, payload: QueryIn):
    require(request.user, Perm.RAISE_QUERY)
    p = participant_for_user(request.user, payload.participant_id)
    q = services.raise_query(user=request.user, participant=p, text=payload.text, form=payload.form,
                             object_id=payload.object_id, field=payload.field, candidate=payload.candidate,
                             request_id=rid(request))
    return Status(201, query_out(q, request.user))


@router.get("/monitoring/queries/{query_id}", response=QueryOut)
def query_detail(request, query_id: str):
    return query_out(selectors.query_for_user(request.user, query_id), request.user)


@router.post("/monitoring/queries/{query_id}/transitions", response=QueryOut)
def query_transition(request, query_id: str, payload: TransitionIn):
    q = selectors.query_for_user(request.user, query_id)
    q = services.transition(user=request.user, query=q, action=payload.action, text=payload.text,
                            corrected=payload.corrected, request_id=rid(request))
    return query_out(q, request.user)


# ---------------------------------------------------------------- SDV

def _plan_out(p) -> dict:
    return {"version": p.version, "seed": p.seed, "rules": p.rules, "note": p.note, "created_at": p.created_at}


@router.get("/monitoring/sdv/plans", response=list[PlanOut])
def plan_list(request):
    if not (request.user.can(Perm.VERIFY_SOURCE) or request.user.can(Perm.MANAGE_DATA)):
        raise PermissionDenied(_("your role may not view the SDV plan"))
    return [_plan_out(p) for p in selectors.plans()]


@router.post("/monitoring/sdv/plans", response={201: PlanOut})
def plan_create(request, payload: PlanIn):
    plan = services.create_plan(user=request.user, rules=payload.rules, seed=payload.seed, note=payload.note,
                                request_id=rid(request))
    return Status(201, _plan_out(plan))


@router.get("/monitoring/sdv/progress", response=list[SdvProgressOut])
def sdv_progress(request, site: str = ""):
    return [{"participant_id": r.participant.number, "site": r.participant.site.code, "required": r.required,
             "verified": r.verified, "to_verify": r.to_verify, "reverify": r.reverify}
            for r in selectors.sdv_worklist(request.user, site=site)]


def _sdv_rows(p) -> list[dict]:
    rows = selectors.sdv_rows(p)
    fields = field_sdv.summaries(p, [r.entry for r in rows])
    none = field_sdv.FieldSummary(0, 0)
    return [{"fields_verified": fields.get((r.entry.object_type, r.entry.object_id), none).verified,
             "fields_reverify": fields.get((r.entry.object_type, r.entry.object_id), none).reverify,
             "form": r.entry.form, "object_id": r.entry.object_id, "record": r.entry.label,
             "version_event": r.entry.version_event, "content_hash": r.entry.content_hash, "required": r.required,
             "status": r.status, "verified_by": r.verification.verified_by.username if r.verification else None,
             "verified_at": r.verification.verified_at if r.verification else None,
             "verified_version_event": r.verification.version_event if r.verification else None}
            for r in rows]


@router.get("/participants/{participant_id}/sdv", response=list[SdvRowOut])
def participant_sdv(request, participant_id: str):
    if not selectors.may_view_sdv(request.user):
        raise PermissionDenied(_("your role may not view source data verification"))
    return _sdv_rows(participant_for_user(request.user, participant_id))


@router.post("/participants/{participant_id}/sdv/verifications", response={201: list[SdvRowOut]})
def participant_verify(request, participant_id: str, payload: VerifyIn):
    require(request.user, Perm.VERIFY_SOURCE)
    p = participant_for_user(request.user, participant_id)
    services.verify(user=request.user, participant=p, form=payload.form, object_id=payload.object_id,
                    note=payload.note, request_id=rid(request))
    return Status(201, _sdv_rows(p))


# ---------------------------------------------------------------- casebook: signatures and locks

def _casebook(p) -> dict:
    entries = casebook.entries(p)
    return {
        "participant_id": p.number, "content_hash": casebook.casebook_hash(entries),
        "entries": [{"form": e.form, "object_id": e.object_id, "record": e.label, "version_event": e.version_event,
                     "content_hash": e.content_hash} for e in entries],
        "signatures": [{"id": s.signature.pk, "printed_name": s.signature.printed_name,
                        "signer": s.signature.signer.username, "meaning": s.signature.meaning,
                        "statement": s.signature.statement, "signed_at": s.signature.signed_at,
                        "content_hash": s.signature.content_hash, "valid": s.valid} for s in selectors.signatures(p)],
        "locks": [{"id": lk.pk, "record": lk.record_label or "whole casebook", "reason": lk.lock_reason,
                   "locked_by": lk.locked_by.username, "locked_at": lk.locked_at, "unlocked_at": lk.unlocked_at,
                   "unlock_reason": lk.unlock_reason} for lk in selectors.locks(p)],
    }


def _may_view_casebook(user) -> None:
    if not any(user.can(p) for p in (Perm.SIGN_CASEBOOK, Perm.MANAGE_DATA, Perm.VERIFY_SOURCE, Perm.RAISE_QUERY)):
        raise PermissionDenied(_("your role may not view casebooks"))


@router.get("/participants/{participant_id}/casebook", response=CasebookOut)
def participant_casebook(request, participant_id: str):
    p = participant_for_user(request.user, participant_id)
    _may_view_casebook(request.user)
    return _casebook(p)


@router.post("/participants/{participant_id}/signatures", response={201: CasebookOut})
def participant_sign(request, participant_id: str, payload: SignIn):
    require(request.user, Perm.SIGN_CASEBOOK)
    p = participant_for_user(request.user, participant_id, write=True)
    services.sign(user=request.user, participant=p, meaning=payload.meaning, password=payload.password,
                  code=payload.code, request_id=rid(request))
    return Status(201, _casebook(p))


@router.post("/participants/{participant_id}/locks", response={201: CasebookOut})
def participant_lock(request, participant_id: str, payload: LockIn):
    require(request.user, Perm.MANAGE_DATA)
    p = participant_for_user(request.user, participant_id)
    services.lock(user=request.user, participant=p, reason=payload.reason, form=payload.form,
                  object_id=payload.object_id, request_id=rid(request))
    return Status(201, _casebook(p))


@router.post("/monitoring/locks/{lock_id}/unlock", response=CasebookOut)
def lock_unlock(request, lock_id: str, payload: UnlockIn):
    lk = selectors.lock_for_user(request.user, lock_id)
    services.unlock(user=request.user, lock=lk, reason=payload.reason, request_id=rid(request))
    return _casebook(lk.participant)


from . import data_management_api  # noqa: E402,F401  (adds its routes to this router)
