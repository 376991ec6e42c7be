"""The case-report-form API: the same services as the pages (docs/data-capture.md)."""

from __future__ import annotations

import os

from ninja import Router, Status

from shine.analysis.schema import SOFA_COMPONENTS
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.errors import Refused, rid

from . import selectors, services
from .models import Baseline, Death, IcuStay
from .schemas import (
    BaselineIn,
    BaselineOut,
    BaselinePatchIn,
    DailyIn,
    DailyOut,
    DailyUpdateIn,
    DailyValuesIn,
    DeathIn,
    DeathOut,
    DeathPatchIn,
    DischargeIn,
    FollowUpIn,
    FollowUpOut,
    FollowUpPatchIn,
    FollowUpUpdateIn,
    InfusionEventIn,
    InfusionOut,
    OutcomesOut,
    ReadmissionIn,
    SampleIn,
    SampleOut,
    SampleUpdateIn,
    ScheduleItemOut,
    SofaOut,
    StayOut,
    WorkItemOut,
)

router = Router(tags=["case report forms"])


def _sofa(obj) -> dict:
    return {c: getattr(obj, f"sofa_{c}") for c in SOFA_COMPONENTS}


def _whole(payload, *, exclude=("reason",)) -> None:
    """PUT replaces the whole record: refuse one that leaves fields out, listing them."""
    missing = [f for f in type(payload).model_fields if f not in exclude and f not in payload.model_fields_set]
    if missing:
        raise Refused(f"PUT replaces the whole record: name every field (null for an empty one) or correct single "
                      f"fields with PATCH; missing: {', '.join(missing)}", field=missing[0])


def _changes(payload, *, exclude=("reason",)) -> dict:
    """PATCH: only the fields the request names."""
    return payload.dict(exclude_unset=True, exclude=set(exclude))


def daily_out(r) -> dict:
    fields = {k: getattr(r, k) for k in DailyOut.model_fields if hasattr(r, k) and k not in ("entered_by",)}
    return {**fields, "sofa": _sofa(r), "warnings": selectors.warnings_of(r), "entered_by": r.entered_by.username,
            "missing_inputs": r.missing_input_list}


def baseline_out(b: Baseline) -> dict:
    fields = {k: getattr(b, k) for k in BaselineOut.model_fields if hasattr(b, k) and k != "comorbidities"}
    return {**fields, "comorbidities": [c for c in b.comorbidities.split(";") if c], "sofa": _sofa(b),
            "warnings": selectors.warnings_of(b)}


infusion_out = selectors.infusion_summary


def sample_out(s) -> dict:
    return {k: getattr(s, k) for k in ("study_day", "sample_id", "drawn_at", "frozen_at", "comments")} | {
        "warnings": selectors.warnings_of(s)}


def followup_out(v) -> dict:
    fields = {k: getattr(v, k) for k in FollowUpOut.model_fields if k != "warnings"}
    return fields | {"warnings": selectors.warnings_of(v)}


def item_out(i) -> dict:
    return {k: getattr(i, k) for k in ("form", "label", "study_day", "opens_at", "overdue_at", "status", "why")}


def _writable(request, participant_id):
    return selectors.randomised_participant(request.user, participant_id, write=True)


def _readable(request, participant_id):
    return selectors.randomised_participant(request.user, participant_id)


# ---------------------------------------------------------------- schedule, worklist, outcomes

@router.get("/participants/{participant_id}/schedule", response=list[ScheduleItemOut])
def schedule(request, participant_id: str):
    return [item_out(i) for i in selectors.schedule_for(_readable(request, participant_id))]


@router.get("/records/worklist", response=list[WorkItemOut])
def worklist(request, site: str = ""):
    require(request.user, Perm.VIEW_PARTICIPANTS)
    return [{**item_out(w.item), "participant": w.participant, "site": w.site}
            for w in selectors.worklist(request.user, site=site)]


@router.get("/participants/{participant_id}/outcomes", response=OutcomesOut)
def outcomes(request, participant_id: str):
    o = selectors.outcomes(_readable(request, participant_id))
    return {**{k: getattr(o, k) for k in ("mean_daily_sofa", "icu_days", "observed_days", "carried_days",
                                          "missing_days", "days_alive_without", "horizon_days")},
            "daily": [{"study_day": d, "score": s, "source": src} for d, s, src in o.daily],
            "problems": list(o.problems)}


# ---------------------------------------------------------------- baseline and daily records

@router.get("/participants/{participant_id}/baseline", response=BaselineOut)
def baseline_get(request, participant_id: str):
    p = _readable(request, participant_id)
    b = Baseline.objects.filter(participant=p).first()
    if b is None:
        from django.http import Http404
        raise Http404("no baseline")
    return baseline_out(b)


@router.post("/participants/{participant_id}/baseline", response={201: BaselineOut, 200: BaselineOut})
def baseline_save(request, participant_id: str, payload: BaselineIn):
    """Create the baseline form (201), or change it (200; ``reason`` required)."""
    p = _writable(request, participant_id)
    existed = Baseline.objects.filter(participant=p).exists()
    values = payload.dict(exclude={"reason"})
    b = services.save_baseline(user=request.user, participant=p, values=values, reason=payload.reason,
                               request_id=rid(request))
    return Status(200 if existed else 201, baseline_out(b))


@router.put("/participants/{participant_id}/baseline", response=BaselineOut)
def baseline_replace(request, participant_id: str, payload: BaselineIn):
    """Change the saved baseline: every field again, and the reason."""
    p = _writable(request, participant_id)
    if not Baseline.objects.filter(participant=p).exists():
        from django.http import Http404
        raise Http404("no baseline")
    _whole(payload)
    b = services.save_baseline(user=request.user, participant=p, values=payload.dict(exclude={"reason"}),
                               reason=payload.reason, request_id=rid(request))
    return baseline_out(b)


@router.patch("/participants/{participant_id}/baseline", response=BaselineOut)
def baseline_patch(request, participant_id: str, payload: BaselinePatchIn):
    """Correct the fields named (with the reason); every other field keeps its saved value."""
    p = _writable(request, participant_id)
    b = services.save_baseline(user=request.user, participant=p, values=_changes(payload), reason=payload.reason,
                               partial=True, request_id=rid(request))
    return baseline_out(b)


@router.post("/participants/{participant_id}/daily-records/preview", response=SofaOut)
def daily_preview(request, participant_id: str, payload: DailyValuesIn):
    """The SOFA components and modified score of these values, with any warnings; nothing is saved."""
    _readable(request, participant_id)
    return services.preview(payload.dict(), daily=True).as_json()


@router.get("/participants/{participant_id}/daily-records", response=list[DailyOut])
def daily_list(request, participant_id: str):
    p = _readable(request, participant_id)
    return [daily_out(r) for r in p.daily_records.select_related("entered_by").order_by("study_day")]


@router.post("/participants/{participant_id}/daily-records", response={201: DailyOut})
def daily_create(request, participant_id: str, payload: DailyIn):
    p = _writable(request, participant_id)
    r = services.create_daily_record(user=request.user, participant=p, study_day=payload.study_day,
                                     values=payload.dict(exclude={"study_day"}), request_id=rid(request))
    return Status(201, daily_out(r))


@router.get("/participants/{participant_id}/daily-records/{day}", response=DailyOut)
def daily_get(request, participant_id: str, day: int):
    return daily_out(selectors.daily_record(_readable(request, participant_id), day))


@router.put("/participants/{participant_id}/daily-records/{day}", response=DailyOut)
def daily_update(request, participant_id: str, day: int, payload: DailyUpdateIn):
    """Replace a saved daily record: every value field named (null where empty), and the reason for the
    change; a request that leaves fields out is refused with their list (use PATCH for single fields)."""
    record = selectors.daily_record(_writable(request, participant_id), day)
    _whole(payload)
    r = services.update_daily_record(user=request.user, record=record, values=payload.dict(exclude={"reason"}),
                                     reason=payload.reason, request_id=rid(request))
    return daily_out(r)


@router.patch("/participants/{participant_id}/daily-records/{day}", response=DailyOut)
def daily_patch(request, participant_id: str, day: int, payload: DailyUpdateIn):
    """Correct the fields named (with the reason); every other value, code and comment keeps its saved value."""
    record = selectors.daily_record(_writable(request, participant_id), day)
    r = services.update_daily_record(user=request.user, record=record, values=_changes(payload),
                                     reason=payload.reason, partial=True, request_id=rid(request))
    return daily_out(r)


# ---------------------------------------------------------------- infusion, samples, stays, death

@router.get("/participants/{participant_id}/infusion", response=InfusionOut)
def infusion_get(request, participant_id: str):
    return infusion_out(_readable(request, participant_id))


@router.post("/participants/{participant_id}/infusion-events", response={201: InfusionOut})
def infusion_event(request, participant_id: str, payload: InfusionEventIn):
    p = _writable(request, participant_id)
    services.record_infusion_event(user=request.user, participant=p, kind=payload.kind, at=payload.at,
                                   rate_ml_per_h=payload.rate_ml_per_h, stop_reason=payload.stop_reason,
                                   note=payload.note, request_id=rid(request))
    return Status(201, infusion_out(p))


@router.get("/participants/{participant_id}/blood-samples", response=list[SampleOut])
def samples(request, participant_id: str):
    return [sample_out(s) for s in _readable(request, participant_id).blood_samples.order_by("study_day")]


@router.post("/participants/{participant_id}/blood-samples", response={201: SampleOut})
def sample_create(request, participant_id: str, payload: SampleIn):
    p = _writable(request, participant_id)
    s = services.record_blood_sample(user=request.user, participant=p, request_id=rid(request), **payload.dict())
    return Status(201, sample_out(s))


@router.put("/participants/{participant_id}/blood-samples/{day}", response=SampleOut)
def sample_update(request, participant_id: str, day: int, payload: SampleUpdateIn):
    """Replace a sample's times and comments (all named), with the reason."""
    sample = selectors.blood_sample(_writable(request, participant_id), day)
    _whole(payload)
    s = services.update_blood_sample(user=request.user, sample=sample, request_id=rid(request), **payload.dict())
    return sample_out(s)


@router.patch("/participants/{participant_id}/blood-samples/{day}", response=SampleOut)
def sample_patch(request, participant_id: str, day: int, payload: SampleUpdateIn):
    """Correct the fields named (with the reason); the others keep their saved values."""
    sample = selectors.blood_sample(_writable(request, participant_id), day)
    values = {"drawn_at": sample.drawn_at, "frozen_at": sample.frozen_at, "comments": sample.comments,
              **_changes(payload)}
    s = services.update_blood_sample(user=request.user, sample=sample, reason=payload.reason,
                                     request_id=rid(request), **values)
    return sample_out(s)


@router.get("/participants/{participant_id}/icu-stays", response=list[StayOut])
def stays(request, participant_id: str):
    p = _readable(request, participant_id)
    return list(IcuStay.objects.filter(participant=p).order_by("stay").values(*StayOut.model_fields))


@router.post("/participants/{participant_id}/icu-discharge", response={201: StayOut})
def discharge(request, participant_id: str, payload: DischargeIn):
    p = _writable(request, participant_id)
    s = services.record_icu_discharge(user=request.user, participant=p, discharged_at=payload.discharged_at,
                                      request_id=rid(request))
    return Status(201, {k: getattr(s, k) for k in StayOut.model_fields})


@router.post("/participants/{participant_id}/icu-readmission", response={201: StayOut})
def readmission(request, participant_id: str, payload: ReadmissionIn):
    p = _writable(request, participant_id)
    s = services.record_icu_readmission(user=request.user, participant=p, admitted_at=payload.admitted_at,
                                        request_id=rid(request))
    return Status(201, {k: getattr(s, k) for k in StayOut.model_fields})


@router.post("/participants/{participant_id}/death", response={201: DeathOut, 200: DeathOut})
def death(request, participant_id: str, payload: DeathIn):
    """Record the death (201), or correct it with a reason (200)."""
    p = _writable(request, participant_id)
    existed = Death.objects.filter(participant=p).exists()
    d = services.record_death(user=request.user, participant=p, died_at=payload.died_at, cause=payload.cause,
                              reason=payload.reason, request_id=rid(request))
    return Status(200 if existed else 201, {"died_at": d.died_at, "cause": d.cause})


@router.patch("/participants/{participant_id}/death", response=DeathOut)
def death_patch(request, participant_id: str, payload: DeathPatchIn):
    """Correct the time or the cause of the recorded death (the field named), with the reason."""
    p = _writable(request, participant_id)
    existing = Death.objects.filter(participant=p).first()
    if existing is None:
        from django.http import Http404
        raise Http404("no death recorded")
    values = {"died_at": existing.died_at, "cause": existing.cause, **_changes(payload)}
    d = services.record_death(user=request.user, participant=p, reason=payload.reason or "", request_id=rid(request),
                              **values)
    return {"died_at": d.died_at, "cause": d.cause}


# ---------------------------------------------------------------- follow-up

@router.get("/participants/{participant_id}/follow-ups", response=list[FollowUpOut])
def followups(request, participant_id: str):
    return [followup_out(v) for v in _readable(request, participant_id).follow_ups.order_by("visit_day")]


@router.post("/participants/{participant_id}/follow-ups", response={201: FollowUpOut})
def followup_create(request, participant_id: str, payload: FollowUpIn):
    p = _writable(request, participant_id)
    values = payload.dict(exclude={"visit_day"})
    v = services.record_follow_up(user=request.user, participant=p, visit_day=payload.visit_day, values=values,
                                  request_id=rid(request))
    return Status(201, followup_out(v))


@router.put("/participants/{participant_id}/follow-ups/{day}", response=FollowUpOut)
def followup_update(request, participant_id: str, day: int, payload: FollowUpUpdateIn):
    """Replace a follow-up visit: every field named (null where empty), and the reason."""
    visit = selectors.follow_up(_writable(request, participant_id), day)
    _whole(payload, exclude=("reason", "visit_day"))
    v = services.update_follow_up(user=request.user, visit=visit, values=payload.dict(exclude={"reason", "visit_day"}),
                                  reason=payload.reason, request_id=rid(request))
    return followup_out(v)


@router.patch("/participants/{participant_id}/follow-ups/{day}", response=FollowUpOut)
def followup_patch(request, participant_id: str, day: int, payload: FollowUpPatchIn):
    """Correct the fields named (with the reason); the others keep their saved values."""
    visit = selectors.follow_up(_writable(request, participant_id), day)
    saved = {k: getattr(visit, k) for k in FollowUpPatchIn.model_fields if k != "reason"}
    v = services.update_follow_up(user=request.user, visit=visit, values={**saved, **_changes(payload)},
                                  reason=payload.reason, request_id=rid(request))
    return followup_out(v)


if os.environ.get("SHINE_BENCH") == "1":  # bench/crf_save.py's baseline only: never registered otherwise
    @router.post("/bench/insert", tags=["benchmark"], include_in_schema=False)
    def bench_insert(request):
        """The bare baseline of bench/crf_save.py: authenticated, one row inserted, nothing else."""
        from django.db import connection, transaction

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_insert (username, payload) VALUES (%s, %s)",
                           [request.user.username, request.body[:200].decode(errors="replace")])
        return {"ok": True}


# ---------------------------------------------------------------- laboratory values (FHIR R4)

@router.post("/participants/{participant_id}/labs", response={201: dict})
def labs_import(request, participant_id: str):
    """Import a FHIR R4 Bundle (the request body) of laboratory and vital-sign Observations; the values become
    proposals on the daily forms (docs/data-capture.md). All or nothing; a re-import of the same versions is
    harmless."""
    from . import lab_import

    p = _writable(request, participant_id)
    result = lab_import.import_bundle(user=request.user, participant=p, bundle=request.body,
                                      request_id=rid(request))
    return Status(201, result.as_json())


@router.get("/participants/{participant_id}/labs/proposal/{day}", response=list[dict])
def labs_proposal(request, participant_id: str, day: int):
    """The worst value of each input on study ``day``, with its sources: what the daily form proposes."""
    from . import lab_import

    p = _writable(request, participant_id)
    return lab_import.proposal_json(p, day)
