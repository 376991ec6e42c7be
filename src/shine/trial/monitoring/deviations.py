"""Protocol deviations and the review of flagged values: keyword-only, audited services and their reads.

A record saved with a soft-limit warning is flagged (``needs_review``) by the case report forms; a data
manager or monitor clears the flag here after checking the value. Deviations are entered by site staff.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shine.trial.accounts.models import User
from shine.trial.accounts.roles import may_review
from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.enrollment.models import Participant
from shine.trial.enrollment.selectors import participants_for
from shine.trial.errors import Refused, entered_text, entered_time
from shine.trial.records.models import Baseline, BloodSample, DailyRecord, Deviation, FollowUp, InfusionSegment
from shine.trial.records.services import begin_write
from shine.web.formats import local_datetime

from . import labels

DESCRIPTION_LIMIT = 2000
REVIEW_NOTE_LIMIT = 400
# the forms whose records carry a review flag: the page's and the API's name → model
REVIEWABLE: dict[str, type[models.Model]] = {"daily": DailyRecord, "baseline": Baseline, "infusion": InfusionSegment,
                                             "sample": BloodSample, "followup": FollowUp}


def record_deviation(*, user: User, participant: Participant, category: str, major: bool, description: str,
                     occurred_at=None, request_id: str = "") -> Deviation:
    allowed = [c for c, _ in Deviation._meta.get_field("category").choices]
    if category not in allowed:
        raise Refused(_("category must be one of %(categories)s")
                      % {"categories": ", ".join(str(labels.deviation_category(c)) for c in allowed)}, field="category")
    if major not in (True, False):
        raise Refused(_("say whether the deviation is major (true) or minor (false)"), field="major")
    description = entered_text("description", description, label=_("description"), limit=DESCRIPTION_LIMIT,
                               required=True)
    occurred = entered_time("occurred_at", occurred_at, label=_("occurred at"), required=False)
    with transaction.atomic():
        participant = begin_write(user, participant)
        screened_at = participant.screening.screened_at
        if occurred is not None and occurred < screened_at:
            raise Refused(_("a deviation cannot precede the patient's screening (%(screened)s)")
                          % {"screened": local_datetime(screened_at)}, field="occurred_at")
        last = (Deviation.objects.filter(participant=participant).order_by("-number")
                .values_list("number", flat=True).first())
        return audit.create(Deviation, actor=Actor.of(user, request_id), participant=participant,
                            number=(last or 0) + 1, category=category, major=major, description=description,
                            occurred_at=occurred, entered_by=user, entered_at=timezone.now())


def mark_reviewed(*, user: User, record, note: str, request_id: str = "") -> object:
    """A data manager or monitor has checked a flagged value: the review flag is cleared (audited)."""
    if not may_review(user):
        raise PermissionDenied(_("only data management and monitoring clear a review flag"))
    note = entered_text("note", note, label=_("review note"), limit=REVIEW_NOTE_LIMIT, required=True)
    return audit.update(record, actor=Actor.of(user, request_id), reason=f"reviewed: {note}", needs_review=False)


def flagged(user: User) -> list[tuple[str, str, object]]:
    """Records with soft-limit warnings awaiting review at the user's sites: (participant, form, record)."""
    visible = participants_for(user).values("pk")
    out = []
    for form, model in REVIEWABLE.items():
        for r in model.objects.filter(needs_review=True, participant__in=visible).select_related("participant"):
            out.append((r.participant.number, form, r))
    return sorted(out, key=lambda t: (t[0], t[1]))


def reviewable_record(participant: Participant, form_name: str, pk: int):
    """The flagged record ``pk`` of one of the participant's forms (None when there is none)."""
    model = REVIEWABLE.get(form_name)
    return model.objects.filter(participant=participant, pk=pk).first() if model else None
