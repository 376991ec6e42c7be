"""The safety API: the same services and selectors as the pages (docs/safety.md)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from ninja import Router, Status

from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.enrollment.selectors import participant_for_user
from shine.trial.errors import Refused, rid

from . import output, selectors, services
from .report import annual_report
from .schemas import (
    AnnualReportOut,
    AssessIn,
    CaseOut,
    CaseOutputOut,
    CaseSummaryOut,
    EventIn,
    NewEventIn,
    RsiIn,
    RsiOut,
    SafetyWorkItemOut,
    SubmissionIn,
)

router = Router(tags=["safety"])


def version_out(v) -> dict:
    fields = {k: getattr(v, k) for k in ("version", "term", "meddra_version", "meddra_code", "onset_at", "aware_at",
                                         "serious", "severity", "outcome", "action", "prespecified", "exempt",
                                         "related", "narrative", "entered_at")}
    return fields | {"criteria": v.criteria, "flags": [x for x in v.flags.split("; ") if x],
                     "entered_by": v.entered_by.username}


def case_out(case, user) -> dict:
    now = timezone.now()
    return {
        "case_id": case.number, "participant_id": case.participant.number, "site": case.site.code,
        "site_aware_at": case.site_aware_at, "sponsor_aware_at": case.sponsor_aware_at,
        "versions": [version_out(v) for v in case.versions.select_related("entered_by").order_by("version")],
        "assessments": [{"number": a.number, "case_version": a.case_version, "rsi_version": a.rsi.version,
                         "expected": a.expected, "sponsor_related": a.sponsor_related, "comment": a.comment,
                         "assessed_by": a.assessed_by.username, "assessed_at": a.assessed_at}
                        for a in case.assessments.select_related("rsi", "assessed_by").order_by("number")],
        "clocks": [{"kind": c.kind, "label": c.label, "starts": c.starts, "due": c.due, "met_at": c.met_at,
                    "state": c.state(now)} for c in selectors.case_clocks(case, user)],
        "susar": selectors.susar_status(case, user),
    }


@router.get("/safety/cases", response=list[CaseSummaryOut])
def case_list(request):
    out = []
    for c in selectors.cases_for(request.user).prefetch_related("versions"):
        v = max(c.versions.all(), key=lambda x: x.version)
        out.append({"case_id": c.number, "participant_id": c.participant.number, "site": c.site.code,
                    "term": v.term, "onset_at": v.onset_at, "serious": v.serious, "version": v.version})
    return out


@router.post("/safety/cases", response={201: CaseOut})
def case_create(request, payload: NewEventIn):
    """Report a new adverse event (version 1 of a new case); site staff of the participant's site."""
    require(request.user, Perm.REPORT_SAFETY)
    p = participant_for_user(request.user, payload.participant_id, write=True)
    case = services.report_event(user=request.user, participant=p, values=payload.dict(exclude={"participant_id"}),
                                 request_id=rid(request))
    return Status(201, case_out(case, request.user))


@router.get("/safety/cases/{case_id}", response=CaseOut)
def case_detail(request, case_id: str):
    return case_out(selectors.case_for_user(request.user, case_id), request.user)


@router.post("/safety/cases/{case_id}/versions", response={201: CaseOut})
def case_follow_up(request, case_id: str, payload: EventIn):
    """A follow-up: a new version of the case with everything now known."""
    case = selectors.case_for_user(request.user, case_id, write=True)
    services.add_follow_up(user=request.user, case=case, values=payload.dict(), request_id=rid(request))
    return Status(201, case_out(case, request.user))


@router.post("/safety/cases/{case_id}/assessments", response={201: CaseOut})
def case_assess(request, case_id: str, payload: AssessIn):
    """The sponsor's assessment (pharmacovigilance): expectedness and, optionally, sponsor causality."""
    case = selectors.case_for_user(request.user, case_id)
    services.assess(user=request.user, case=case, expected=payload.expected, sponsor_related=payload.sponsor_related,
                    comment=payload.comment, request_id=rid(request))
    return Status(201, case_out(case, request.user))


@router.post("/safety/cases/{case_id}/submissions", response=CaseOut)
def case_submission(request, case_id: str, payload: SubmissionIn):
    """Record a report sent to the authority, or close a decision that needs none."""
    case = selectors.case_for_user(request.user, case_id)
    services.record_submission(user=request.user, case=case, kind=payload.kind, at=payload.at, note=payload.note,
                               request_id=rid(request))
    return case_out(case, request.user)


@router.get("/safety/cases/{case_id}/output", response=CaseOutputOut)
def case_output(request, case_id: str):
    """The case with every element of CTR Annex III section 2.3, and whether it is complete."""
    case = selectors.case_for_user(request.user, case_id)
    out = output.case_output(case, request.user)
    missing = output.missing_elements(out)
    return {"case": out, "valid": not missing, "missing": missing}


@router.get("/safety/worklist", response=list[SafetyWorkItemOut])
def worklist(request):
    return [{"case_id": i.case, "participant_id": i.participant, "what": i.what, "due": i.due, "state": i.state}
            for i in selectors.worklist(request.user)]


@router.get("/safety/rsi", response=list[RsiOut])
def rsi_list(request):
    return [{"version": r.version, "approved_on": r.approved_on, "in_force_from": r.in_force_from,
             "expected_reactions": [x for x in r.expected_reactions.splitlines() if x.strip()]}
            for r in selectors.rsi_versions(request.user)]


@router.post("/safety/rsi", response={201: RsiOut})
def rsi_create(request, payload: RsiIn):
    r = services.add_rsi(user=request.user, version=payload.version, approved_on=payload.approved_on,
                         in_force_from=payload.in_force_from, expected_reactions=payload.expected_reactions,
                         request_id=rid(request))
    return Status(201, {"version": r.version, "approved_on": r.approved_on, "in_force_from": r.in_force_from,
                        "expected_reactions": [x for x in r.expected_reactions.splitlines() if x.strip()]})


# the trial's possible reporting years (a date far outside them has no meaning, and no fixed UTC offset)
ANNUAL_REPORT_YEARS = (2019, 2100)


@router.get("/safety/annual-report", response=AnnualReportOut)
def annual(request, period_start: dt.date, period_end: dt.date):
    """Line listing of serious adverse reactions and cumulative tabulation of serious adverse events for a
    period (dates inclusive, in the trial's time zone); coded subjects only, no arm."""
    user = request.user
    if not (user.can(Perm.ASSESS_SAFETY) or user.can(Perm.VIEW_SAFETY)):
        require(user, Perm.VIEW_SAFETY)
    tz = timezone.get_current_timezone()
    for name, day in (("period_start", period_start), ("period_end", period_end)):
        if not ANNUAL_REPORT_YEARS[0] <= day.year <= ANNUAL_REPORT_YEARS[1]:
            raise Refused(f"{name.replace('_', ' ')} must lie in the years {ANNUAL_REPORT_YEARS[0]}–"
                          f"{ANNUAL_REPORT_YEARS[1]}; got {day.isoformat()}", field=name)
    if period_end < period_start:
        raise Refused("period end must be on or after the period start", field="period_end")
    start = dt.datetime.combine(period_start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(period_end, dt.time.max, tzinfo=tz)
    r = annual_report(selectors.cases_for(user), period_start=start, period_end=end)
    return {"period_start": r.period_start, "period_end": r.period_end,
            "sars": [s.__dict__ | {"criteria": list(s.criteria)} for s in r.sars],
            "tabulation": [{"category": k, "in_period": a, "cumulative": b} for k, a, b in r.tabulation]}
