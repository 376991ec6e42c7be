"""The enrolment API: screening log, participants, consent (same services as the pages)."""

from __future__ import annotations

import dataclasses

from django.core.paginator import Paginator
from django.http import Http404
from django.utils import timezone
from ninja import Query, Router, Status
from pydantic import Field

from shine.api.inputs import Input
from shine.trial.errors import Refused, rid

from . import selectors, services
from .models import Participant, Screening
from .schemas import (
    ConsentEventOut,
    ConsentIn,
    CprIn,
    EnrolIn,
    NotRandomisedIn,
    ParticipantOut,
    ParticipantPage,
    ScreeningIn,
    ScreeningOut,
    ScreeningPage,
    ScreeningSummary,
    ScreeningUpdateIn,
)
from .views import reason_text

router = Router(tags=["enrolment"])


def screening_out(s: Screening) -> dict:
    a = services.assessment_of(s)
    participant = Participant.objects.filter(screening=s).values_list("number", flat=True).first()
    return {**{k: getattr(s, k) for k in services.FACTS}, "sex": s.sex or None, "id": s.pk, "label": s.label,
            "site": s.site.code, "screened_at": s.screened_at, "screened_by": s.screened_by.username,
            "outcome": s.outcome, "reasons": s.reasons, "not_randomised_reason": s.not_randomised_reason,
            "not_randomised_note": s.not_randomised_note, "participant": participant,
            "assessment": {"eligible": a.eligible, "outcome": a.screening_outcome, "missing": list(a.missing),
                           "failed": [{"code": f.code, "reason": reason_text(f)} for f in a.failed]}}


def event_out(e) -> dict:
    return {**{k: getattr(e, k) for k in ("id", "kind", "consenter_role", "consenter_name", "second_consenter_name",
                                          "occurred_at", "form_version", "entered_at", "use_data_collected",
                                          "continue_vital_status_follow_up", "note")},
            "entered_by": e.entered_by.username}


def participant_out(user, p: Participant, *, detail: bool = False) -> dict:
    out = {k: getattr(p, k) for k in ("id", "number", "screening_id", "enrolled_at", "randomised_at",
                                      "randomisation_number", "weight_kg", "weight_estimated", "consent_status",
                                      "awaiting_next_of_kin", "awaiting_patient", "new_data_allowed",
                                      "use_data_collected", "continue_vital_status_follow_up", "data_restricted_at")}
    out["site"] = p.site.code
    if detail:
        from shine.trial.allocation import selectors as allocation

        a = allocation.blinded_allocation(p)
        out["randomisation"] = None if a is None else {
            "randomisation_number": a.randomisation_number, "pack_number": a.pack_number,
            "randomised_at": a.allocated_at, "weight_kg": a.weight_kg,
            "infusion_rate_ml_per_h": a.infusion_rate_ml_per_h, "planned_volume_ml": a.planned_volume_ml}
        out["allocation_unblinded"] = allocation.arm_for(user, p)
        out["cpr"] = selectors.cpr_for(user, p)
        out["consent_events"] = [event_out(e) for e in p.consent_events.select_related("entered_by")]
    return out


class ScreeningQuery(Input):
    site: str = ""
    outcome: str = ""
    month: str = Field("", pattern=r"^(\d{4}-(0[1-9]|1[0-2]))?$", description="YYYY-MM")
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(100, ge=1, le=1000)


@router.post("/screenings", response={201: ScreeningOut})
def create_screening(request, body: ScreeningIn):
    data = body.dict()
    site, screened_at = data.pop("site"), data.pop("screened_at") or timezone.now()
    try:
        s, _ = services.screen(user=request.user, site_code=site, screened_at=screened_at, request_id=rid(request),
                               **data)
    except Http404:  # a body field, not the URL, names the site: say which field
        raise Refused("site must be the code of a site where you work", field="site", status=404) from None
    return Status(201, screening_out(s))


@router.get("/screenings", response=ScreeningPage)
def list_screenings(request, q: Query[ScreeningQuery]):
    qs = selectors.screenings_for(request.user)
    if q.site:
        qs = qs.filter(site__code=q.site.upper())
    if q.outcome:
        qs = qs.filter(outcome=q.outcome)
    if q.month:
        year, month = map(int, q.month.split("-"))
        qs = qs.filter(screened_at__year=year, screened_at__month=month)
    paginator = Paginator(qs, q.page_size)
    page = paginator.get_page(q.page)
    return {"count": paginator.count, "page": page.number, "pages": paginator.num_pages,
            "screenings": [screening_out(s) for s in page]}


@router.get("/screenings/summary", response=ScreeningSummary)
def screening_summary(request):
    return {"consort": dataclasses.asdict(selectors.consort(request.user)),
            "per_site_month": [dataclasses.asdict(c) for c in selectors.counts_per_site_month(request.user)]}


@router.get("/screenings/{screening_id}", response=ScreeningOut)
def get_screening(request, screening_id: str):
    return screening_out(selectors.screening_for_user(request.user, screening_id))


@router.patch("/screenings/{screening_id}", response=ScreeningOut)
def update_screening(request, screening_id: str, body: ScreeningUpdateIn):
    s = selectors.screening_for_user(request.user, screening_id, write=True)
    data = body.dict(exclude_unset=True)
    reason = data.pop("reason")
    s, _ = services.update_screening(s, user=request.user, reason=reason, request_id=rid(request), **data)
    return screening_out(s)


@router.post("/screenings/{screening_id}/not-randomised", response=ScreeningOut)
def not_randomised(request, screening_id: str, body: NotRandomisedIn):
    s = selectors.screening_for_user(request.user, screening_id, write=True)
    s = services.record_not_randomised(s, user=request.user, reason_code=body.reason, note=body.note,
                                       request_id=rid(request))
    return screening_out(s)


@router.post("/participants", response={201: ParticipantOut})
def enrol(request, body: EnrolIn):
    try:
        s = selectors.screening_for_user(request.user, body.screening_id, write=True)
    except Http404:
        raise Refused("screening_id names no screening of your sites", field="screening_id", status=404) from None
    data = body.dict()
    data.pop("screening_id")
    p = services.enrol(s, user=request.user, request_id=rid(request), **data)
    return Status(201, participant_out(request.user, p, detail=True))


class ParticipantQuery(Input):
    site: str = ""
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(100, ge=1, le=1000)


@router.get("/participants", response=ParticipantPage)
def list_participants(request, q: Query[ParticipantQuery]):
    qs = selectors.participants_for(request.user)
    if q.site:
        qs = qs.filter(site__code=q.site.upper())
    paginator = Paginator(qs, q.page_size)
    page = paginator.get_page(q.page)
    return {"count": paginator.count, "page": page.number, "pages": paginator.num_pages,
            "participants": [participant_out(request.user, p) for p in page]}


@router.get("/participants/worklist", response=list[ParticipantOut])
def worklist(request):
    return [participant_out(request.user, p) for p in selectors.worklist(request.user)]


@router.get("/participants/{participant_id}", response=ParticipantOut)
def get_participant(request, participant_id: str):
    p = selectors.participant_for_user(request.user, participant_id)
    return participant_out(request.user, p, detail=True)


@router.post("/participants/{participant_id}/consents", response={201: ConsentEventOut})
def add_consent(request, participant_id: str, body: ConsentIn):
    p = selectors.participant_for_user(request.user, participant_id, write=True)
    e = services.record_consent(p, user=request.user, request_id=rid(request), **body.dict())
    return Status(201, event_out(e))


@router.post("/participants/{participant_id}/cpr", response=ParticipantOut)
def set_cpr(request, participant_id: str, body: CprIn):
    p = selectors.participant_for_user(request.user, participant_id, write=True)
    p = services.set_cpr(p, user=request.user, cpr=body.cpr, reason=body.reason, request_id=rid(request))
    return participant_out(request.user, p, detail=True)
