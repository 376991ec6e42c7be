"""The API of protocol deviations and of the review of flagged values (the services of :mod:`.deviations`)."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema, Status

from shine.api.inputs import Input
from shine.trial.errors import rid
from shine.trial.records import selectors as records
from shine.trial.records.api import daily_out
from shine.trial.records.schemas import DailyOut

from . import deviations

router = Router(tags=["case report forms"])


class DeviationIn(Input):
    category: str
    major: bool
    description: str
    occurred_at: dt.datetime | None = None


class DeviationOut(Schema):
    deviation_id: str
    category: str
    major: bool
    description: str
    occurred_at: dt.datetime | None
    entered_by: str
    entered_at: dt.datetime


class ReviewIn(Input):
    note: str


def deviation_out(d) -> dict:
    return {"deviation_id": d.label, "category": d.category, "major": d.major, "description": d.description,
            "occurred_at": d.occurred_at, "entered_by": d.entered_by.username, "entered_at": d.entered_at}


@router.get("/participants/{participant_id}/deviations", response=list[DeviationOut])
def deviation_list(request, participant_id: str):
    p = records.randomised_participant(request.user, participant_id)
    return [deviation_out(d) for d in p.deviations.select_related("entered_by").order_by("number")]


@router.post("/participants/{participant_id}/deviations", response={201: DeviationOut})
def deviation_create(request, participant_id: str, payload: DeviationIn):
    p = records.randomised_participant(request.user, participant_id, write=True)
    d = deviations.record_deviation(user=request.user, participant=p, request_id=rid(request), **payload.dict())
    return Status(201, deviation_out(d))


@router.post("/participants/{participant_id}/daily-records/{day}/review", response=DailyOut)
def daily_review(request, participant_id: str, day: int, payload: ReviewIn):
    """A data manager or monitor clears the review flag of a daily record (note required; audited)."""
    record = records.daily_record(records.randomised_participant(request.user, participant_id), day)
    return daily_out(deviations.mark_reviewed(user=request.user, record=record, note=payload.note,
                                              request_id=rid(request)))
