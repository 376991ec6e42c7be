"""Every write of the case report forms: keyword-only, one transaction, audited.

Each service takes the participant already looked up for the user (``participant_for_user(user, key,
write=True)``), checks again that the user is staff of its site (another site's user gets 404), locks the
participant's row so cross-form checks see a stable picture, checks the values with the form's check in
:mod:`.edit_checks` (hard limits refuse, soft limits warn and flag the record for review), refuses new data a
consent stop forbids, and writes through :mod:`shine.trial.audit.services`. Changing a saved value needs a
reason (``ReasonRequired``). Reads (the schedule's facts, the delivered dose) are in :mod:`.selectors`.
"""

from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from shine import protocol as protocol_mod
from shine.trial.accounts.models import Membership, User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.enrollment.models import Participant
from shine.trial.enrollment.services import assert_data_collection_allowed
from shine.trial.errors import Refused, entered_text, entered_time

from . import edit_checks as checks
from . import infusion_log
from . import schedule as sched
from .edit_checks import flag as _flag
from .edit_checks import local as local_time
from .edit_checks import sofa_values_of
from .models import Baseline, BloodSample, DailyRecord, Death, FollowUp, IcuStay, InfusionSegment, SofaInputs


def _now() -> dt.datetime:
    return timezone.now()


def begin_write(user: User, participant: Participant, record=None) -> Participant:
    """Permission, site, randomisation and data-lock checks (``record``: the saved record about to change);
    returns the participant's row, locked (inside a transaction)."""
    row = _locked(user, participant)[0]
    _refuse_if_locked(row, record)
    return row


def _refuse_if_locked(row: Participant, record) -> None:
    """Refuse a change to a record the data manager has locked (the casebook lock is checked by _locked)."""
    if record is not None and row.record_locked:  # some record of this casebook is locked: is it this one?
        from shine.trial.monitoring.services import assert_not_locked

        assert_not_locked(row, record)


def _locked(user: User, participant: Participant, *, day: int | None = None) -> list[Participant]:
    """The participant's row, locked, after the permission, site and randomisation checks; with ``day``, one
    row per ICU stay (in order) carrying the daily record's cross-form facts (see :func:`_picture`).

    One statement checks that the user works at the participant's site (404 otherwise, as for a participant
    that does not exist: the answers of ``accounts.selectors.require_site_staff``) and locks the participant's
    row, and only it: the membership is a subquery and the
    stays an outer join, neither of which is locked (locking the site's row would queue the whole site).
    Plain SQL because it runs on every write and the ORM's query building cost more than the statement.
    """
    require(user, Perm.ENTER_DATA)
    if user.role_def.cross_site:  # require_site_staff's answers, the membership read in the locking statement
        raise PermissionDenied(_("only staff of the site may change its records"))
    params = [participant.pk, user.pk] if day is None else [day, participant.pk, user.pk]
    rows = list(Participant.objects.raw(_lock_sql(picture=day is not None), params))
    if not rows:
        raise Http404(_("no such participant"))
    if rows[0].randomised_at is None:
        raise Refused(_("%(participant)s is not randomised: case report forms start at randomisation") % {
            "participant": rows[0].number}, status=409)
    if rows[0].casebook_lock_reason is not None:
        raise Refused(_("the casebook of %(participant)s is locked (%(reason)s): a data manager must unlock it "
                        "before any change") % {"participant": rows[0].number,
                                                "reason": rows[0].casebook_lock_reason}, status=409)
    return rows


def _lock_sql(*, picture: bool) -> str:
    q = connection.ops.quote_name
    table = {m: q(m._meta.db_table) for m in (Participant, Membership, IcuStay, Death, DailyRecord)}
    locks = q(apps.get_model("monitoring", "Lock")._meta.db_table)  # the data manager's locks, in the same statement
    active = f"FROM {locks} l WHERE l.participant_id = p.id AND l.unlocked_at IS NULL AND l.object_type"
    columns = (f"p.*, (SELECT l.lock_reason {active} = '' LIMIT 1) AS casebook_lock_reason, "
               f"EXISTS (SELECT 1 {active} <> '') AS record_locked")
    join, order = "", ""
    if picture:
        columns += (", s.admitted_at AS picture_admitted_at, s.discharged_at AS picture_discharged_at, "
                    f"(SELECT d.died_at FROM {table[Death]} d WHERE d.participant_id = p.id) AS picture_died_at, "
                    f"EXISTS (SELECT 1 FROM {table[DailyRecord]} r WHERE r.participant_id = p.id "
                    "AND r.study_day = %s) AS picture_day_taken")
        join, order = f" LEFT JOIN {table[IcuStay]} s ON s.participant_id = p.id", " ORDER BY s.stay"
    sql = (f"SELECT {columns} FROM {table[Participant]} p{join} WHERE p.id = %s "
           f"AND p.site_id IN (SELECT site_id FROM {table[Membership]} WHERE user_id = %s){order}")
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE OF p" if connection.features.has_select_for_update_of else " FOR UPDATE"
    return sql


def _consent(participant: Participant, at: dt.datetime, *, kind: str = "data") -> None:
    """Refuse data for a time at or after a consent stop (enrolment's rule); earlier data may still be entered."""
    if participant.new_data_allowed:
        return
    if participant.data_restricted_at is not None and at < participant.data_restricted_at:
        return
    assert_data_collection_allowed(participant, kind=kind)


# ---------------------------------------------------------------- SOFA forms: preview, baseline, daily

def preview(values: dict, *, daily: bool = True) -> checks.SofaResult:
    """Convert, check and score the SOFA inputs without saving (the form's preview step)."""
    return checks.sofa_inputs(values, daily=daily)


def _merged(record: SofaInputs, values: dict) -> dict:
    """``values`` (only the fields a correction names) over the record's saved values. A value named with a
    code removes the code (and the reverse)."""
    out = sofa_values_of(record)
    changes = dict(values)
    codes = {**out["codes"], **(changes.pop("codes", None) or {})}
    for name in changes:
        codes.pop({"pao2": "pao2_fio2", "fio2": "pao2_fio2", "bilirubin_unit": "", "creatinine_unit": "",
                   **{d: "vasopressor_doses" for d in checks.sofa_mod.DRUGS}}.get(name, name), None)
    if any(d in changes for d in checks.sofa_mod.DRUGS):
        out.update({d: None for d in checks.sofa_mod.DRUGS})  # a dose named replaces the set of doses
    comments = {**out["comments"], **(changes.pop("comments", None) or {})}
    out.update(changes)
    out["codes"], out["comments"] = codes, {k: t for k, t in comments.items() if t}
    return out


def save_baseline(*, user: User, participant: Participant, values: dict, reason: str = "",
                  partial: bool = False, request_id: str = "") -> Baseline:
    """Create the baseline form (and ICU stay 1), or change it (``reason`` required for a change). With
    ``partial`` (a correction naming only some fields) the other fields keep their saved values."""
    actor = Actor.of(user, request_id)
    with transaction.atomic():
        participant = begin_write(user, participant)
        _consent(participant, participant.randomised_at)
        if partial:
            saved = Baseline.objects.filter(participant=participant).first()
            if saved is None:
                raise Refused(_("there is no baseline to correct yet: enter it whole"), status=409)
            kept = {k: getattr(saved, k) for k in checks.BASELINE_KEYS}
            kept["comorbidities"] = [c for c in saved.comorbidities.split(";") if c]
            values = {**kept, **_merged(saved, {k: v for k, v in values.items() if k not in checks.BASELINE_KEYS}),
                      **{k: v for k, v in values.items() if k in checks.BASELINE_KEYS}}
        out, warnings = checks.baseline_values(values, randomised_at=participant.randomised_at,
                                               dosing_weight_kg=participant.weight_kg)
        out.update(_flag(warnings))
        existing = Baseline.objects.select_for_update().filter(participant=participant).first()
        _refuse_if_locked(participant, existing)
        stay1 = IcuStay.objects.filter(participant=participant, stay=1).first()
        if existing is None:
            baseline = audit.create(Baseline, actor=actor, participant=participant, entered_by=user,
                                    entered_at=_now(), **out)
            if stay1 is None:
                audit.create(IcuStay, actor=actor, participant=participant, stay=1, admitted_at=out["icu_admitted_at"],
                             discharged_at=None, discharge="in_icu", entered_by=user)
            return baseline
        baseline = audit.update(existing, actor=actor, reason=reason, **out)
        if stay1 is not None and stay1.admitted_at != out["icu_admitted_at"]:
            if stay1.discharged_at and stay1.discharged_at <= out["icu_admitted_at"]:
                raise Refused(_("ICU admission must be before the ICU discharge"), field="icu_admitted_at")
            audit.update(stay1, actor=actor, reason=reason, admitted_at=out["icu_admitted_at"])
        return baseline


def _stays(participant: Participant) -> list[IcuStay]:
    return list(IcuStay.objects.filter(participant=participant).order_by("stay"))


def _death(participant: Participant) -> Death | None:
    return Death.objects.filter(participant=participant).first()


def _when(participant: Participant) -> dict:
    """The participant's times a form's values are checked against (randomisation, death)."""
    death = _death(participant)
    return {"randomised_at": participant.randomised_at, "died_at": death.died_at if death else None}


def _aware(value) -> dt.datetime | None:
    """A datetime column read by raw SQL as a timezone-aware datetime (SQLite gives text or naive UTC)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


def _picture(rows: list[Participant]) -> tuple[list[tuple], dt.datetime | None, bool]:
    """The cross-form facts a new daily record is checked against, read with the participant's lock
    (``_locked(..., day=)``): the ICU stays ((admitted_at, discharged_at), in order; none before the baseline),
    the time of death (None when alive) and whether the day already has a daily record."""
    first = rows[0]
    stays = [(_aware(r.picture_admitted_at), _aware(r.picture_discharged_at)) for r in rows
             if r.picture_admitted_at is not None]
    return stays, _aware(first.picture_died_at), bool(first.picture_day_taken)


def _check_day(participant: Participant, day: int, picture) -> None:
    """Refuse a daily record for a day that has not started, before the baseline, after death or outside the
    ICU stays. ``picture``: :func:`_picture` of the locked rows."""
    start = sched.day_start(participant.randomised_at, day)
    if start > _now():
        raise Refused(_("study day %(day)s has not started yet (it starts %(time)s)") % {
            "day": day, "time": local_time(start)}, field="study_day")
    stays, died_at, __ = picture
    if not stays:
        raise Refused(_("enter the baseline form (with the ICU admission) before daily records"), field="study_day",
                      status=409)
    if died_at and died_at <= start:
        raise Refused(_("the participant died %(time)s, before study day %(day)s: no daily record after death") % {
            "time": local_time(died_at), "day": day}, field="study_day", status=409)
    facts_ = sched.Facts(randomised_at=participant.randomised_at, now=_now(), stays=tuple(stays), died_at=died_at)
    if not sched.in_icu_on(facts_, day):
        admitted_at, discharged_at = stays[-1]
        why = (_("discharged %(time)s; record a readmission first") % {"time": local_time(discharged_at)}
               if discharged_at else _("admitted %(time)s") % {"time": local_time(admitted_at)})
        raise Refused(_("the participant was not in the ICU on study day %(day)s (%(why)s)") % {"day": day, "why": why},
                      field="study_day", status=409)


def create_daily_record(*, user: User, participant: Participant, study_day, values: dict,
                        request_id: str = "") -> DailyRecord:
    """A new daily ICU record. Refused for a day that has one, a day outside the ICU stays, after death,
    before it starts, or after a consent stop."""
    require(user, Perm.ENTER_DATA)
    day = checks.study_day(study_day)
    with transaction.atomic():
        rows = _locked(user, participant, day=day)  # the lock and the cross-form facts in one statement
        participant, picture = rows[0], _picture(rows)
        _check_day(participant, day, picture)
        _consent(participant, sched.day_start(participant.randomised_at, day))
        if picture[2]:
            raise Refused(_("study day %(day)s already has a daily record: change it (with a reason) instead") % {
                "day": day},
                          field="study_day", status=409)
        v = checks.sofa_inputs(values, daily=True)
        if v.blank:
            raise Refused(_("nothing is entered: give at least one value, or say why a value is missing (not done, "
                            "unknown, not applicable)"), field="platelets")
        return audit.create(DailyRecord, actor=Actor.of(user, request_id), participant=participant, study_day=day,
                            entered_by=user, entered_at=_now(), **v.model_values(), **_flag(v.warnings))


def update_daily_record(*, user: User, record: DailyRecord, values: dict, reason: str, partial: bool = False,
                        request_id: str = "") -> DailyRecord:
    """Change a saved daily record; a reason is required. ``values`` holds every value again, as on the form,
    or with ``partial`` only the fields that change (the others keep their saved values)."""
    with transaction.atomic():
        participant = begin_write(user, record.participant, record)
        _consent(participant, sched.day_start(participant.randomised_at, record.study_day))
        if partial:
            values = _merged(record, values)
        v = checks.sofa_inputs(values, daily=True)
        if v.blank:
            raise Refused(_("a daily record cannot be emptied: say why each value is missing instead"),
                          field="platelets")
        return audit.update(record, actor=Actor.of(user, request_id), reason=reason, **v.model_values(),
                            **_flag(v.warnings))


# ---------------------------------------------------------------- infusion log

def _segments(participant: Participant) -> list[InfusionSegment]:
    return list(InfusionSegment.objects.filter(participant=participant).order_by("segment"))


def record_infusion_event(*, user: User, participant: Participant, kind: str, at, rate_ml_per_h=None,
                          stop_reason: str = "", note: str = "", request_id: str = "") -> InfusionSegment:
    """One event of the infusion log: ``start`` (rate), ``stop`` (stop_reason: interrupted for a pause,
    or adverse_event/death/discharge/other for an early stop), ``restart`` (rate), ``rate_change`` (new
    rate) or ``end`` (the planned end); which may follow which is :mod:`.infusion_log`'s table. Returns the
    segment opened or closed."""
    infusion_log.check_event(kind, stop_reason)
    at = entered_time("at", at, label=checks.LABELS["at"])
    note = entered_text("note", note, limit=checks.FREE_TEXT_LIMIT, label=checks.LABELS["note"])
    actor = Actor.of(user, request_id)
    conc = protocol_mod.load().intervention.concentration_ng_per_ml
    with transaction.atomic():
        participant = begin_write(user, participant)
        at = checks.from_randomisation(participant.randomised_at, at)
        _consent(participant, at)
        if at < participant.randomised_at:
            raise Refused(_("the infusion cannot start or change before randomisation (%(time)s)") % {
                "time": local_time(participant.randomised_at)}, field="at")
        death = _death(participant)
        if death and at > death.died_at:
            raise Refused(_("the participant died %(time)s: nothing can happen to the infusion after death") % {
                "time": local_time(death.died_at)}, field="at", status=409)
        segs = _segments(participant)
        step = infusion_log.step([infusion_log.Segment(s.started_at, s.stopped_at, s.stop_reason) for s in segs],
                                 kind, at, stop_reason=stop_reason, note=note)
        if step.opens:
            stays = _stays(participant)
            if stays and stays[0].discharged_at and len(stays) == 1 and at > stays[0].discharged_at:
                raise Refused(_("the infusion cannot start after the ICU discharge (%(time)s)") % {
                    "time": local_time(stays[0].discharged_at)}, field="at", status=409)
        closed = None
        if step.close is not None:
            extra = {"note": note or segs[-1].note} if kind == "stop" else {}
            closed = audit.update(segs[-1], actor=actor, reason=step.reason, stopped_at=at, stop_reason=step.close,
                                  **extra)
        if not step.opens:
            return closed
        rate, warnings = checks.infusion_rate(rate_ml_per_h, weight_kg=participant.weight_kg)
        return audit.create(InfusionSegment, actor=actor, participant=participant, segment=len(segs) + 1,
                            started_at=at, stopped_at=None, rate_ml_per_h=rate, concentration_ng_per_ml=conc,
                            note=note, entered_by=user, **_flag(warnings))


# ---------------------------------------------------------------- blood samples

def default_sample_id(participant: Participant, day: int) -> str:
    return f"{participant.number}-D{day}"


def record_blood_sample(*, user: User, participant: Participant, study_day, drawn_at, frozen_at=None,
                        sample_id: str = "", comments: str = "", request_id: str = "") -> BloodSample:
    with transaction.atomic():
        participant = begin_write(user, participant)
        values, warnings = checks.sample_values(study_day, drawn_at, frozen_at, comments, **_when(participant))
        _consent(participant, values["drawn_at"])
        day = values["study_day"]
        sample_id = (entered_text("sample_id", sample_id, limit=checks.SAMPLE_ID_LIMIT,
                                   label=checks.LABELS["sample_id"])
                     or default_sample_id(participant, day))
        if BloodSample.objects.filter(participant=participant, study_day=day).exists():
            raise Refused(_("study day %(day)s already has a sample: change it (with a reason) instead") % {
                "day": day},
                          field="study_day", status=409)
        if BloodSample.objects.filter(sample_id=sample_id).exists():
            raise Refused(_("sample id %(sample)s is already used") % {"sample": sample_id}, field="sample_id",
                          status=409)
        return audit.create(BloodSample, actor=Actor.of(user, request_id), participant=participant,
                            sample_id=sample_id, entered_by=user, **values, **_flag(warnings))


def update_blood_sample(*, user: User, sample: BloodSample, drawn_at, frozen_at=None, comments: str = "",
                        reason: str, request_id: str = "") -> BloodSample:
    with transaction.atomic():
        participant = begin_write(user, sample.participant, sample)
        values, warnings = checks.sample_values(sample.study_day, drawn_at, frozen_at, comments,
                                                **_when(participant))
        _consent(participant, values["drawn_at"])
        return audit.update(sample, actor=Actor.of(user, request_id), reason=reason, **values, **_flag(warnings))


# ---------------------------------------------------------------- ICU stays and death

def _daily_after(participant: Participant, at: dt.datetime) -> int | None:
    """The first study day with a record that starts at or after ``at`` (None when there is none)."""
    first = sched.study_day_of(participant.randomised_at, at)
    day0 = first if sched.day_start(participant.randomised_at, first) >= at else first + 1
    return (DailyRecord.objects.filter(participant=participant, study_day__gte=day0).order_by("study_day")
            .values_list("study_day", flat=True).first())


def record_icu_discharge(*, user: User, participant: Participant, discharged_at, request_id: str = "") -> IcuStay:
    """Discharge from the ICU stay in progress."""
    with transaction.atomic():
        participant = begin_write(user, participant)
        at = entered_time("discharged_at", discharged_at, label=checks.LABELS["discharged_at"])
        _consent(participant, at)
        stays = _stays(participant)
        if not stays:
            raise Refused(_("enter the baseline form (with the ICU admission) first"), status=409)
        stay = stays[-1]
        if stay.discharge != "in_icu":
            raise Refused(_("the participant is not in the ICU (stay %(stay)s: %(state)s)") % {
                "stay": stay.stay, "state": stay.get_discharge_display()},
                          status=409)
        if at <= stay.admitted_at or at < participant.randomised_at:
            limit = max(stay.admitted_at, participant.randomised_at)
            raise Refused(_("discharged at must be after the ICU admission and randomisation (%(time)s)") % {
                "time": local_time(limit)},
                          field="discharged_at")
        segs = _segments(participant)
        if stay.stay == 1 and segs and at < segs[0].started_at:
            raise Refused(_("discharged at must not be before the infusion start (%(time)s)") % {
                "time": local_time(segs[0].started_at)},
                          field="discharged_at")
        death = _death(participant)
        if death and at > death.died_at:
            raise Refused(_("discharged at is after the participant's death (%(time)s)") % {
                "time": local_time(death.died_at)},
                          field="discharged_at", status=409)
        later = _daily_after(participant, at)
        if later is not None:
            raise Refused(_("study day %(day)s has a daily record but starts after this discharge: correct that "
                            "record or the time") % {"day": later}, field="discharged_at", status=409)
        return audit.update(stay, actor=Actor.of(user, request_id), reason="ICU discharge", discharged_at=at,
                            discharge="discharged")


def record_icu_readmission(*, user: User, participant: Participant, admitted_at, request_id: str = "") -> IcuStay:
    with transaction.atomic():
        participant = begin_write(user, participant)
        at = entered_time("admitted_at", admitted_at, label=checks.LABELS["admitted_at"])
        _consent(participant, at)
        stays = _stays(participant)
        if not stays or stays[-1].discharge != "discharged":
            raise Refused(_("a readmission needs a previous ICU discharge"), status=409)
        if at < stays[-1].discharged_at:
            last = local_time(stays[-1].discharged_at)
            raise Refused(_("readmitted at must not be before the last discharge (%(time)s)") % {"time": last},
                          field="admitted_at")
        death = _death(participant)
        if death and at >= death.died_at:
            raise Refused(_("readmitted at is after the participant's death"), field="admitted_at", status=409)
        return audit.create(IcuStay, actor=Actor.of(user, request_id), participant=participant,
                            stay=len(stays) + 1, admitted_at=at, discharged_at=None, discharge="in_icu",
                            entered_by=user)


def record_death(*, user: User, participant: Participant, died_at, cause: str = "", reason: str = "",
                 request_id: str = "") -> Death:
    """Record (or, with a reason, correct) the death; an ICU stay in progress ends with it."""
    actor = Actor.of(user, request_id)
    with transaction.atomic():
        participant = begin_write(user, participant)
        at = entered_time("died_at", died_at, label=checks.LABELS["died_at"])
        cause = entered_text("cause", cause, limit=checks.FREE_TEXT_LIMIT, label=checks.LABELS["cause"])
        _consent(participant, at, kind="vital_status")
        if at <= participant.randomised_at:
            raise Refused(_("died at must be after randomisation (%(time)s)") % {
                "time": local_time(participant.randomised_at)},
                          field="died_at")
        stays = _stays(participant)
        if stays:
            last = stays[-1]
            if at < last.admitted_at:
                raise Refused(_("died at must not be before the last ICU admission (%(time)s)") % {
                    "time": local_time(last.admitted_at)},
                              field="died_at")
            if last.discharged_at and at < last.discharged_at:
                raise Refused(_("died at must not be before the ICU discharge (%(time)s)") % {
                    "time": local_time(last.discharged_at)},
                              field="died_at")
        later = _daily_after(participant, at)
        if later is not None:
            raise Refused(_("study day %(day)s has a daily record but starts after this death: correct that "
                            "record or the time") % {"day": later}, field="died_at", status=409)
        if FollowUp.objects.filter(participant=participant, vital_status="alive", assessed_at__gte=at).exists():
            raise Refused(_("a follow-up visit after this time found the participant alive"), field="died_at",
                          status=409)
        if InfusionSegment.objects.filter(participant=participant, started_at__gt=at).exists():
            raise Refused(_("an infusion segment starts after this time"), field="died_at", status=409)
        existing = Death.objects.select_for_update().filter(participant=participant).first()
        _refuse_if_locked(participant, existing)
        if existing is None:
            death = audit.create(Death, actor=actor, reason=entered_text("reason", reason, limit=audit.REASON_LIMIT,
                                                                                   label=checks.LABELS["reason"]),
                                 participant=participant, died_at=at, cause=cause, entered_by=user)
        else:
            if not (reason or "").strip():
                raise Refused(_("the death is already recorded: give a reason to change it"), field="reason",
                              status=409 if (existing.died_at == at and existing.cause == cause) else 400)
            death = audit.update(existing, actor=actor, reason=reason, died_at=at, cause=cause)
        if stays and stays[-1].discharge in ("in_icu", "died"):
            audit.update(stays[-1], actor=actor, reason="died in the ICU", discharge="died", discharged_at=None)
        return death


# ---------------------------------------------------------------- follow-up

def record_follow_up(*, user: User, participant: Participant, visit_day, values: dict,
                     request_id: str = "") -> FollowUp:
    with transaction.atomic():
        participant = begin_write(user, participant)
        out, kind = checks.followup_values(visit_day, values, **_when(participant))
        _consent(participant, out["assessed_at"], kind=kind)
        day = int(visit_day)
        if FollowUp.objects.filter(participant=participant, visit_day=day).exists():
            raise Refused(_("the day-%(day)s visit is already recorded: change it (with a reason) instead") % {
                "day": day},
                          field="visit_day", status=409)
        return audit.create(FollowUp, actor=Actor.of(user, request_id), participant=participant, visit_day=day,
                            entered_by=user, **out)


def update_follow_up(*, user: User, visit: FollowUp, values: dict, reason: str, request_id: str = "") -> FollowUp:
    with transaction.atomic():
        participant = begin_write(user, visit.participant, visit)
        out, kind = checks.followup_values(visit.visit_day, values, **_when(participant))
        _consent(participant, out["assessed_at"], kind=kind)
        return audit.update(visit, actor=Actor.of(user, request_id), reason=reason, **out)
