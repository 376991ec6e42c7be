"""Every write of the case report forms: keyword-only, one transaction, audited, with the edit checks.

Each service takes the participant already looked up for the user (``participant_for_user(user, key,
write=True)``), checks again that the user is staff of its site (another site's user gets 404), locks the
participant's row so cross-form checks see a stable picture, checks the values (hard limits refuse, soft
limits warn and flag the record for review), refuses new data a consent stop forbids, and writes through
:mod:`shine.trial.audit.services`. Changing a saved value needs a reason (``ReasonRequired``).
"""

from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from shine import protocol as protocol_mod
from shine.clinical import dosing
from shine.trial.accounts.models import Membership, User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.enrollment.models import Participant
from shine.trial.enrollment.services import assert_data_collection_allowed
from shine.trial.errors import Refused, entered_text, entered_time

from . import checks
from . import schedule as sched
from .models import (Baseline, BloodSample, DailyRecord, Death, Deviation, FollowUp, IcuStay, InfusionSegment,
                     SofaInputs)

EQ5D = ("eq5d_mobility", "eq5d_selfcare", "eq5d_activities", "eq5d_pain", "eq5d_anxiety")
SUPPORT_DAYS = ("days_vasopressor", "days_ventilation", "days_rrt")
INFUSION_KINDS = ("start", "stop", "restart", "rate_change", "end")
STOP_KINDS = ("interrupted", "adverse_event", "death", "discharge", "other")  # 'interrupted' = restart expected


def _now() -> dt.datetime:
    return timezone.now()


def _local(t: dt.datetime) -> str:
    return timezone.localtime(t).strftime("%Y-%m-%d %H:%M")




def _begin(user: User, participant: Participant, record=None) -> Participant:
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
    that does not exist) and locks the participant's row, and only it: the membership is a subquery and the
    stays an outer join, neither of which is locked (locking the site's row would queue the whole site).
    Plain SQL because it runs on every write and the ORM's query building cost more than the statement.
    """
    require(user, Perm.ENTER_DATA)
    cross_site = user.role_def.cross_site  # cross-site roles work at no site
    params = [participant.pk, user.pk] if day is None else [day, participant.pk, user.pk]
    rows = [] if cross_site else list(Participant.objects.raw(_lock_sql(picture=day is not None), params))
    if not rows:
        raise Http404("no such participant")
    if rows[0].randomised_at is None:
        raise Refused(f"{rows[0].number} is not randomised: case report forms start at randomisation", status=409)
    if rows[0].casebook_lock_reason is not None:
        raise Refused(f"the casebook of {rows[0].number} is locked ({rows[0].casebook_lock_reason}): a data "
                      "manager must unlock it before any change", status=409)
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


def _from_randomisation(participant: Participant, at: dt.datetime) -> dt.datetime:
    """A time typed to the minute (as the forms prefill it) in the minute of randomisation counts as the
    randomisation time: the randomisation's seconds must not refuse the prefilled "now"."""
    r = participant.randomised_at
    if at < r and at >= r.replace(second=0, microsecond=0) and at.second == 0 and at.microsecond == 0:
        return r
    return at


def _flag(warnings) -> dict:
    warnings = [w for w in warnings if w]
    return {"warnings": "; ".join(warnings), "needs_review": bool(warnings)}


def facts(participant: Participant, *, now: dt.datetime | None = None) -> sched.Facts:
    """The schedule's facts of one participant (a few small queries)."""
    segs = list(participant.infusion_segments.order_by("segment").values_list("stopped_at", "stop_reason"))
    death = Death.objects.filter(participant=participant).values_list("died_at", flat=True).first()
    return sched.Facts(
        randomised_at=participant.randomised_at, now=now or _now(),
        baseline_done=Baseline.objects.filter(participant=participant).exists(),
        daily_days=frozenset(participant.daily_records.values_list("study_day", flat=True)),
        incomplete_days=incomplete_days(participant.daily_records.exclude(missing_inputs="")
                                        .values_list("study_day", "missing_inputs")),
        stays=tuple(participant.icu_stays.order_by("stay").values_list("admitted_at", "discharged_at")),
        died_at=death, sample_days=frozenset(participant.blood_samples.values_list("study_day", flat=True)),
        infusion_started=bool(segs), infusion_ended=infusion_ended(segs),
        followup_days=frozenset(participant.follow_ups.values_list("visit_day", flat=True)),
        data_stop_at=None if participant.new_data_allowed else (participant.data_restricted_at or participant.randomised_at),
        vital_status_allowed=participant.continue_vital_status_follow_up)


def incomplete_days(rows) -> tuple:
    """``rows``: (study day, missing_inputs) of incomplete daily records → the schedule's ``incomplete_days``."""
    return tuple(sorted((day, tuple(checks.INPUT_LABELS[i] for i in missing.split(";") if i))
                        for day, missing in rows))


def infusion_ended(segments) -> bool:
    """``segments``: (stopped_at, stop_reason) in order. Ended when the last one stopped for good."""
    if not segments:
        return False
    stopped_at, reason = segments[-1]
    return stopped_at is not None and reason not in ("interrupted", "rate_change")


# ---------------------------------------------------------------- SOFA forms: preview, baseline, daily

def preview(values: dict, *, daily: bool = True) -> checks.SofaResult:
    """Convert, check and score the SOFA inputs without saving (the form's preview step)."""
    return checks.sofa_inputs(values, daily=daily)


def sofa_values_of(record: SofaInputs) -> dict:
    """The form values of a saved baseline or daily record, as they were entered (the inverse of
    :func:`checks.sofa_inputs`): what a partial correction (PATCH) starts from."""
    out = {k: getattr(record, k) for k in ("respiratory_support", "platelets", "map_mmhg", *checks.sofa_mod.DRUGS,
                                           "gcs", "urine_output")}
    out.update(pao2=record.pao2_entered, pao2_unit=record.pao2_unit or "mmHg", fio2=record.fio2_entered,
               fio2_unit=record.fio2_unit, bilirubin=record.bilirubin_entered,
               bilirubin_unit=record.bilirubin_unit or "umol/L", creatinine=record.creatinine_entered,
               creatinine_unit=record.creatinine_unit or "umol/L", codes=dict(record.codes),
               comments=dict(record.comments))
    if isinstance(record, DailyRecord):
        out.update(vasopressor=record.vasopressor, mechanical_ventilation=record.mechanical_ventilation,
                   rrt=record.rrt)
        if record.vasopressor is False:  # the zeros follow from "no vasopressor"
            out.update({d: None for d in checks.sofa_mod.DRUGS})
    return out


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


def _baseline_values(participant: Participant, values: dict) -> tuple[dict, list[str]]:
    p = protocol_mod.load()
    i = p.intervention
    v = checks.sofa_inputs(values, daily=False)
    if v.score.modified is None:
        missing = [c for c in v.score.missing if c != "cns"]
        raise Refused(f"the baseline modified SOFA adjusts the primary analysis: every component but CNS needs a "
                      f"value (missing: {', '.join(missing)})", field=_COMPONENT_FIELD.get(missing[0]))
    out = v.model_values()
    warnings = list(v.warnings)
    age = checks.number("age", values.get("age"), required=True, whole=True)
    checks.in_range("age", age, p.eligibility.min_age_years, 110, "years")
    sex = (values.get("sex") or "").upper()
    if sex not in ("F", "M"):
        raise Refused("sex must be F or M", field="sex")
    weight = checks.number("weight_kg", values.get("weight_kg"), required=True)
    checks.in_range("weight_kg", weight, i.min_weight_kg, i.max_weight_kg, "kg")
    estimated = values.get("weight_estimated")
    if estimated not in (True, False):
        raise Refused("say whether the weight is estimated (true) or weighed (false)", field="weight_estimated")
    site = values.get("site_of_infection") or ""
    allowed = [c for c, _ in Baseline._meta.get_field("site_of_infection").choices]
    if site not in allowed:
        raise Refused(f"site of infection must be one of {', '.join(allowed)}", field="site_of_infection")
    comorb = values.get("comorbidities") or []
    if isinstance(comorb, str):
        comorb = [c for c in comorb.replace(",", ";").split(";") if c.strip()]
    comorb = [c.strip() for c in comorb]
    unknown = [c for c in comorb if c not in checks.COMORBIDITIES]
    if unknown:
        raise Refused(f"unknown comorbidity {unknown[0]!r}; one of {', '.join(checks.COMORBIDITIES)}",
                      field="comorbidities")
    admitted = entered_time("icu_admitted_at", values.get("icu_admitted_at"))
    if admitted > participant.randomised_at:
        raise Refused(f"ICU admission must be at or before randomisation ({_local(participant.randomised_at)}): "
                      "the patient is in the ICU when randomised", field="icu_admitted_at")
    if participant.randomised_at - admitted > dt.timedelta(days=365):
        raise Refused("ICU admission must lie within a year before randomisation", field="icu_admitted_at")
    warnings += [checks.soft_warning("age", age), checks.soft_warning("weight_kg", weight)]
    if participant.weight_kg and abs(weight - participant.weight_kg) > 0.5:
        warnings.append(f"weight {weight:g} kg differs from the weight used for dosing at randomisation "
                        f"({participant.weight_kg:g} kg)")
    if participant.randomised_at - admitted > dt.timedelta(days=7):
        warnings.append("ICU admission more than 7 days before randomisation: check the date")
    out.update(age=age, sex=sex, weight_kg=weight, weight_estimated=estimated, site_of_infection=site,
               comorbidities=";".join(sorted(set(comorb))), icu_admitted_at=admitted)
    return out, warnings


_COMPONENT_FIELD = {"respiration": "pao2", "coagulation": "platelets", "liver": "bilirubin",
                    "cardiovascular": "norepinephrine", "renal": "creatinine"}
BASELINE_KEYS = ("age", "sex", "weight_kg", "weight_estimated", "site_of_infection", "comorbidities",
                 "icu_admitted_at")


def save_baseline(*, user: User, participant: Participant, values: dict, reason: str = "",
                  partial: bool = False, request_id: str = "") -> Baseline:
    """Create the baseline form (and ICU stay 1), or change it (``reason`` required for a change). With
    ``partial`` (a correction naming only some fields) the other fields keep their saved values."""
    actor = Actor.of(user, request_id)
    with transaction.atomic():
        participant = _begin(user, participant)
        _consent(participant, participant.randomised_at)
        if partial:
            saved = Baseline.objects.filter(participant=participant).first()
            if saved is None:
                raise Refused("there is no baseline to correct yet: enter it whole", status=409)
            kept = {k: getattr(saved, k) for k in BASELINE_KEYS}
            kept["comorbidities"] = [c for c in saved.comorbidities.split(";") if c]
            values = {**kept, **_merged(saved, {k: v for k, v in values.items() if k not in BASELINE_KEYS}),
                      **{k: v for k, v in values.items() if k in BASELINE_KEYS}}
        out, warnings = _baseline_values(participant, values)
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
                raise Refused("ICU admission must be before the ICU discharge", field="icu_admitted_at")
            audit.update(stay1, actor=actor, reason=reason, admitted_at=out["icu_admitted_at"])
        return baseline


def _stays(participant: Participant) -> list[IcuStay]:
    return list(IcuStay.objects.filter(participant=participant).order_by("stay"))


def _death(participant: Participant) -> Death | None:
    return Death.objects.filter(participant=participant).first()


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


def _day_number(day) -> int:
    last = protocol_mod.load().schedule.daily_record_last_day
    day = checks.number("study_day", day, required=True, whole=True)
    if not 1 <= day <= last:
        raise Refused(f"study day must lie between 1 and {last}; got {day}", field="study_day")
    return day


def _check_day(participant: Participant, day: int, picture) -> None:
    """Refuse a daily record for a day that has not started, before the baseline, after death or outside the
    ICU stays. ``picture``: :func:`_picture` of the locked rows."""
    start = sched.day_start(participant.randomised_at, day)
    if start > _now():
        raise Refused(f"study day {day} has not started yet (it starts {_local(start)})", field="study_day")
    stays, died_at, _ = picture
    if not stays:
        raise Refused("enter the baseline form (with the ICU admission) before daily records", field="study_day",
                      status=409)
    if died_at and died_at <= start:
        raise Refused(f"the participant died {_local(died_at)}, before study day {day}: no daily record "
                      "after death", field="study_day", status=409)
    facts_ = sched.Facts(randomised_at=participant.randomised_at, now=_now(), stays=tuple(stays), died_at=died_at)
    if not sched.in_icu_on(facts_, day):
        admitted_at, discharged_at = stays[-1]
        why = (f"discharged {_local(discharged_at)}; record a readmission first"
               if discharged_at else f"admitted {_local(admitted_at)}")
        raise Refused(f"the participant was not in the ICU on study day {day} ({why})", field="study_day",
                      status=409)


def create_daily_record(*, user: User, participant: Participant, study_day, values: dict,
                        request_id: str = "") -> DailyRecord:
    """A new daily ICU record. Refused for a day that has one, a day outside the ICU stays, after death,
    before it starts, or after a consent stop."""
    require(user, Perm.ENTER_DATA)
    day = _day_number(study_day)
    with transaction.atomic():
        rows = _locked(user, participant, day=day)  # the lock and the cross-form facts in one statement
        participant, picture = rows[0], _picture(rows)
        _check_day(participant, day, picture)
        _consent(participant, sched.day_start(participant.randomised_at, day))
        if picture[2]:
            raise Refused(f"study day {day} already has a daily record: change it (with a reason) instead",
                          field="study_day", status=409)
        v = checks.sofa_inputs(values, daily=True)
        if v.blank:
            raise Refused("nothing is entered: give at least one value, or say why a value is missing (not done, "
                          "unknown, not applicable)", field="platelets")
        return audit.create(DailyRecord, actor=Actor.of(user, request_id), participant=participant, study_day=day,
                            entered_by=user, entered_at=_now(), **v.model_values(), **_flag(v.warnings))


def update_daily_record(*, user: User, record: DailyRecord, values: dict, reason: str, partial: bool = False,
                        request_id: str = "") -> DailyRecord:
    """Change a saved daily record; a reason is required. ``values`` holds every value again, as on the form,
    or with ``partial`` only the fields that change (the others keep their saved values)."""
    with transaction.atomic():
        participant = _begin(user, record.participant, record)
        _consent(participant, sched.day_start(participant.randomised_at, record.study_day))
        if partial:
            values = _merged(record, values)
        v = checks.sofa_inputs(values, daily=True)
        if v.blank:
            raise Refused("a daily record cannot be emptied: say why each value is missing instead", field="platelets")
        return audit.update(record, actor=Actor.of(user, request_id), reason=reason, **v.model_values(),
                            **_flag(v.warnings))


# ---------------------------------------------------------------- infusion log

def _segments(participant: Participant) -> list[InfusionSegment]:
    return list(InfusionSegment.objects.filter(participant=participant).order_by("segment"))


def _rate(participant: Participant, rate) -> tuple[float, list[str]]:
    rate = checks.number("rate_ml_per_h", rate, required=True)
    checks.in_range("rate_ml_per_h", rate, 0, 50, "mL/h")
    warnings = []
    weight = participant.weight_kg
    if weight and rate > 0:
        c = dosing.check_rate(rate, weight)
        if c.warn:
            warnings.append(f"rate {rate:g} mL/h differs from the computed {c.expected_ml_per_h:.2f} mL/h "
                            f"({c.relative_difference:+.0%}, tolerance {c.tolerance:.0%})")
    return rate, warnings


def record_infusion_event(*, user: User, participant: Participant, kind: str, at, rate_ml_per_h=None,
                          stop_reason: str = "", note: str = "", request_id: str = "") -> InfusionSegment:
    """One event of the infusion log: ``start`` (rate), ``stop`` (stop_reason: interrupted for a pause,
    or adverse_event/death/discharge/other for an early stop), ``restart`` (rate), ``rate_change`` (new
    rate) or ``end`` (the planned end). Returns the segment opened or closed."""
    if kind not in INFUSION_KINDS:
        raise Refused(f"kind must be one of {', '.join(INFUSION_KINDS)}", field="kind")
    if stop_reason and kind != "stop":
        raise Refused(f"a stop reason belongs to a stop, not to a {kind}", field="stop_reason")
    at = entered_time("at", at)
    note = entered_text("note", note, limit=400)
    actor = Actor.of(user, request_id)
    conc = protocol_mod.load().intervention.concentration_ng_per_ml
    with transaction.atomic():
        participant = _begin(user, participant)
        at = _from_randomisation(participant, at)
        _consent(participant, at)
        if at < participant.randomised_at:
            raise Refused(f"the infusion cannot start or change before randomisation "
                          f"({_local(participant.randomised_at)})", field="at")
        death = _death(participant)
        if death and at > death.died_at:
            raise Refused(f"the participant died {_local(death.died_at)}: nothing can happen to the infusion after "
                          "death", field="at", status=409)
        segs = _segments(participant)
        open_ = segs[-1] if segs and segs[-1].stopped_at is None else None
        if kind == "start" and segs:
            raise Refused("the infusion has already started: record a restart or a rate change", field="kind",
                          status=409)
        if kind in ("start", "restart"):
            stays = _stays(participant)
            if stays and stays[0].discharged_at and len(stays) == 1 and at > stays[0].discharged_at:
                raise Refused(f"the infusion cannot start after the ICU discharge ({_local(stays[0].discharged_at)})",
                              field="at", status=409)
        if kind == "restart":
            if not segs or open_ is not None:
                raise Refused("a restart needs an infusion that was stopped", field="kind", status=409)
            if segs[-1].stop_reason != "interrupted":
                raise Refused(f"the infusion ended ({segs[-1].get_stop_reason_display()}); it cannot restart",
                              field="kind", status=409)
            if at < segs[-1].stopped_at:
                raise Refused(f"a restart cannot be before the stop ({_local(segs[-1].stopped_at)})", field="at")
        if kind in ("stop", "rate_change", "end"):
            if open_ is None:
                raise Refused("the infusion is not running", field="kind", status=409)
            if at <= open_.started_at:
                raise Refused(f"must be after the segment's start ({_local(open_.started_at)})", field="at")
        if kind == "stop":
            if stop_reason not in STOP_KINDS:
                raise Refused(f"stop reason must be one of {', '.join(STOP_KINDS)}", field="stop_reason")
            if stop_reason == "other" and not note:
                raise Refused("say why in the note when the reason is 'other'", field="note")
            return audit.update(open_, actor=actor, reason=f"infusion stopped: {stop_reason}", stopped_at=at,
                                stop_reason=stop_reason, note=note or open_.note)
        if kind == "end":
            return audit.update(open_, actor=actor, reason="infusion ended as planned", stopped_at=at,
                                stop_reason="planned_end")
        rate, warnings = _rate(participant, rate_ml_per_h)
        if kind == "rate_change":
            audit.update(open_, actor=actor, reason="rate change", stopped_at=at, stop_reason="rate_change")
        return audit.create(InfusionSegment, actor=actor, participant=participant, segment=len(segs) + 1,
                            started_at=at, stopped_at=None, rate_ml_per_h=rate, concentration_ng_per_ml=conc,
                            note=note, entered_by=user, **_flag(warnings))


def delivered(participant: Participant, *, until: dt.datetime | None = None) -> dosing.DeliveredDose | None:
    """Delivered dose and fraction of the planned dose (a running segment counts up to ``until``/now)."""
    segs = _segments(participant)
    if not segs or not participant.weight_kg:
        return None
    until = until or _now()
    rows = [dosing.Segment(s.started_at, s.stopped_at or max(until, s.started_at + dt.timedelta(seconds=1)),
                           s.rate_ml_per_h, s.concentration_ng_per_ml) for s in segs]
    return dosing.delivered_dose(rows, participant.weight_kg)


# ---------------------------------------------------------------- blood samples

def _sample_values(participant: Participant, study_day, drawn_at, frozen_at, comments) -> tuple[dict, list[str]]:
    days = protocol_mod.load().schedule.biobank_days
    day = checks.number("study_day", study_day, required=True, whole=True)
    if day not in days:
        raise Refused(f"blood samples are taken on study days {', '.join(map(str, days))}; got {day}",
                      field="study_day")
    drawn = _from_randomisation(participant, entered_time("drawn_at", drawn_at))
    start = sched.day_start(participant.randomised_at, day)
    if not start <= drawn < start + sched.DAY:
        raise Refused(f"drawn at must lie within study day {day} ({_local(start)} to "
                      f"{_local(start + sched.DAY)})", field="drawn_at")
    frozen = entered_time("frozen_at", frozen_at, required=False)
    warnings = []
    if frozen is not None:
        if frozen < drawn:
            raise Refused("frozen at must not be before drawn at", field="frozen_at")
        hours = (frozen - drawn).total_seconds() / 3600
        if hours > checks.SAMPLE_FREEZE_WARN_HOURS:
            warnings.append(f"sample frozen {hours:.1f} h after drawing (more than "
                            f"{checks.SAMPLE_FREEZE_WARN_HOURS:g} h): check the times")
    death = _death(participant)
    if death and drawn > death.died_at:
        raise Refused(f"drawn at is after the participant's death ({_local(death.died_at)})", field="drawn_at",
                      status=409)
    return {"study_day": day, "drawn_at": drawn, "frozen_at": frozen,
            "comments": entered_text("comments", comments, limit=400)}, warnings


def default_sample_id(participant: Participant, day: int) -> str:
    return f"{participant.number}-D{day}"


def record_blood_sample(*, user: User, participant: Participant, study_day, drawn_at, frozen_at=None,
                        sample_id: str = "", comments: str = "", request_id: str = "") -> BloodSample:
    with transaction.atomic():
        participant = _begin(user, participant)
        values, warnings = _sample_values(participant, study_day, drawn_at, frozen_at, comments)
        _consent(participant, values["drawn_at"])
        day = values["study_day"]
        sample_id = entered_text("sample_id", sample_id, limit=40) or default_sample_id(participant, day)
        if BloodSample.objects.filter(participant=participant, study_day=day).exists():
            raise Refused(f"study day {day} already has a sample: change it (with a reason) instead",
                          field="study_day", status=409)
        if BloodSample.objects.filter(sample_id=sample_id).exists():
            raise Refused(f"sample id {sample_id} is already used", field="sample_id", status=409)
        return audit.create(BloodSample, actor=Actor.of(user, request_id), participant=participant,
                            sample_id=sample_id, entered_by=user, **values, **_flag(warnings))


def update_blood_sample(*, user: User, sample: BloodSample, drawn_at, frozen_at=None, comments: str = "",
                        reason: str, request_id: str = "") -> BloodSample:
    with transaction.atomic():
        participant = _begin(user, sample.participant, sample)
        values, warnings = _sample_values(participant, sample.study_day, drawn_at, frozen_at, comments)
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
        participant = _begin(user, participant)
        at = entered_time("discharged_at", discharged_at)
        _consent(participant, at)
        stays = _stays(participant)
        if not stays:
            raise Refused("enter the baseline form (with the ICU admission) first", status=409)
        stay = stays[-1]
        if stay.discharge != "in_icu":
            raise Refused(f"the participant is not in the ICU (stay {stay.stay}: {stay.get_discharge_display()})",
                          status=409)
        if at <= stay.admitted_at or at < participant.randomised_at:
            limit = max(stay.admitted_at, participant.randomised_at)
            raise Refused(f"discharged at must be after the ICU admission and randomisation ({_local(limit)})",
                          field="discharged_at")
        segs = _segments(participant)
        if stay.stay == 1 and segs and at < segs[0].started_at:
            raise Refused(f"discharged at must not be before the infusion start ({_local(segs[0].started_at)})",
                          field="discharged_at")
        death = _death(participant)
        if death and at > death.died_at:
            raise Refused(f"discharged at is after the participant's death ({_local(death.died_at)})",
                          field="discharged_at", status=409)
        later = _daily_after(participant, at)
        if later is not None:
            raise Refused(f"study day {later} has a daily record but starts after this discharge: correct that "
                          "record or the time", field="discharged_at", status=409)
        return audit.update(stay, actor=Actor.of(user, request_id), reason="ICU discharge", discharged_at=at,
                            discharge="discharged")


def record_icu_readmission(*, user: User, participant: Participant, admitted_at, request_id: str = "") -> IcuStay:
    with transaction.atomic():
        participant = _begin(user, participant)
        at = entered_time("admitted_at", admitted_at)
        _consent(participant, at)
        stays = _stays(participant)
        if not stays or stays[-1].discharge != "discharged":
            raise Refused("a readmission needs a previous ICU discharge", status=409)
        if at < stays[-1].discharged_at:
            raise Refused(f"readmitted at must not be before the last discharge ({_local(stays[-1].discharged_at)})",
                          field="admitted_at")
        death = _death(participant)
        if death and at >= death.died_at:
            raise Refused("readmitted at is after the participant's death", field="admitted_at", status=409)
        return audit.create(IcuStay, actor=Actor.of(user, request_id), participant=participant,
                            stay=len(stays) + 1, admitted_at=at, discharged_at=None, discharge="in_icu",
                            entered_by=user)


def record_death(*, user: User, participant: Participant, died_at, cause: str = "", reason: str = "",
                 request_id: str = "") -> Death:
    """Record (or, with a reason, correct) the death; an ICU stay in progress ends with it."""
    actor = Actor.of(user, request_id)
    with transaction.atomic():
        participant = _begin(user, participant)
        at = entered_time("died_at", died_at)
        cause = entered_text("cause", cause, limit=400)
        _consent(participant, at, kind="vital_status")
        if at <= participant.randomised_at:
            raise Refused(f"died at must be after randomisation ({_local(participant.randomised_at)})",
                          field="died_at")
        stays = _stays(participant)
        if stays:
            last = stays[-1]
            if at < last.admitted_at:
                raise Refused(f"died at must not be before the last ICU admission ({_local(last.admitted_at)})",
                              field="died_at")
            if last.discharged_at and at < last.discharged_at:
                raise Refused(f"died at must not be before the ICU discharge ({_local(last.discharged_at)})",
                              field="died_at")
        later = _daily_after(participant, at)
        if later is not None:
            raise Refused(f"study day {later} has a daily record but starts after this death: correct that "
                          "record or the time", field="died_at", status=409)
        if FollowUp.objects.filter(participant=participant, vital_status="alive", assessed_at__gte=at).exists():
            raise Refused("a follow-up visit after this time found the participant alive", field="died_at",
                          status=409)
        if InfusionSegment.objects.filter(participant=participant, started_at__gt=at).exists():
            raise Refused("an infusion segment starts after this time", field="died_at", status=409)
        existing = Death.objects.select_for_update().filter(participant=participant).first()
        _refuse_if_locked(participant, existing)
        if existing is None:
            death = audit.create(Death, actor=actor, reason=entered_text("reason", reason, limit=audit.REASON_LIMIT),
                                 participant=participant, died_at=at, cause=cause, entered_by=user)
        else:
            if not (reason or "").strip():
                raise Refused("the death is already recorded: give a reason to change it", field="reason",
                              status=409 if (existing.died_at == at and existing.cause == cause) else 400)
            death = audit.update(existing, actor=actor, reason=reason, died_at=at, cause=cause)
        if stays and stays[-1].discharge in ("in_icu", "died"):
            audit.update(stays[-1], actor=actor, reason="died in the ICU", discharge="died", discharged_at=None)
        return death


# ---------------------------------------------------------------- follow-up

def _followup_values(participant: Participant, visit_day, values: dict) -> tuple[dict, str]:
    s = protocol_mod.load().schedule
    day = checks.number("visit_day", visit_day, required=True, whole=True)
    if day not in s.followup_days:
        raise Refused(f"visit day must be one of {', '.join(map(str, s.followup_days))}", field="visit_day")
    lo, hi = s.followup_window_days[day]
    at = entered_time("assessed_at", values.get("assessed_at"))
    opens, closes = sched.day_start(participant.randomised_at, lo), participant.randomised_at + hi * sched.DAY
    if not opens <= at < closes:
        raise Refused(f"the day-{day} visit must take place in its window, study days {lo}–{hi} "
                      f"({_local(opens)} to before {_local(closes)})", field="assessed_at")
    status = values.get("vital_status") or ""
    if status not in ("alive", "dead", "unknown"):
        raise Refused("vital status must be alive, dead or unknown", field="vital_status")
    death = _death(participant)
    if status == "dead" and (death is None or death.died_at > at):
        raise Refused("vital status dead needs the death recorded first (on or before the visit)",
                      field="vital_status", status=409)
    if status == "alive" and death is not None and death.died_at <= at:
        raise Refused(f"the participant died {_local(death.died_at)}, before this visit", field="vital_status",
                      status=409)
    out = {"assessed_at": at, "vital_status": status}
    for name in EQ5D:
        out[name] = checks.number(name, values.get(name), whole=True)
        checks.in_range(name, out[name], 1, 5)
    out["eq5d_vas"] = checks.number("eq5d_vas", values.get("eq5d_vas"), whole=True)
    checks.in_range("eq5d_vas", out["eq5d_vas"], 0, 100)
    for name in SUPPORT_DAYS:
        out[name] = checks.number(name, values.get(name), whole=True)
        checks.in_range(name, out[name], 0, day)
    answered = [n for n in (*EQ5D, "eq5d_vas") if out[n] is not None]
    if status != "alive" and answered:
        raise Refused("EQ-5D-5L is answered only by a participant known to be alive", field=answered[0])
    if answered and len(answered) < len(EQ5D) + 1:
        missing = [n for n in (*EQ5D, "eq5d_vas") if out[n] is None]
        raise Refused(f"EQ-5D-5L: answer all five dimensions and the VAS, or none ({missing[0]} is missing)",
                      field=missing[0])
    kind = "data" if answered or any(out[n] is not None for n in SUPPORT_DAYS) else "vital_status"
    return out, kind


def record_follow_up(*, user: User, participant: Participant, visit_day, values: dict,
                     request_id: str = "") -> FollowUp:
    with transaction.atomic():
        participant = _begin(user, participant)
        out, kind = _followup_values(participant, visit_day, values)
        _consent(participant, out["assessed_at"], kind=kind)
        day = int(visit_day)
        if FollowUp.objects.filter(participant=participant, visit_day=day).exists():
            raise Refused(f"the day-{day} visit is already recorded: change it (with a reason) instead",
                          field="visit_day", status=409)
        return audit.create(FollowUp, actor=Actor.of(user, request_id), participant=participant, visit_day=day,
                            entered_by=user, **out)


def update_follow_up(*, user: User, visit: FollowUp, values: dict, reason: str, request_id: str = "") -> FollowUp:
    with transaction.atomic():
        participant = _begin(user, visit.participant, visit)
        out, kind = _followup_values(participant, visit.visit_day, values)
        _consent(participant, out["assessed_at"], kind=kind)
        return audit.update(visit, actor=Actor.of(user, request_id), reason=reason, **out)


# ---------------------------------------------------------------- deviations and review

def record_deviation(*, user: User, participant: Participant, category: str, major: bool, description: str,
                     occurred_at=None, request_id: str = "") -> Deviation:
    allowed = [c for c, _ in Deviation._meta.get_field("category").choices]
    if category not in allowed:
        raise Refused(f"category must be one of {', '.join(allowed)}", field="category")
    if major not in (True, False):
        raise Refused("say whether the deviation is major (true) or minor (false)", field="major")
    description = entered_text("description", description, limit=2000, required=True)
    occurred = entered_time("occurred_at", occurred_at, required=False)
    with transaction.atomic():
        participant = _begin(user, participant)
        screened_at = participant.screening.screened_at
        if occurred is not None and occurred < screened_at:
            raise Refused(f"a deviation cannot precede the patient's screening ({_local(screened_at)})",
                          field="occurred_at")
        last = (Deviation.objects.filter(participant=participant).order_by("-number")
                .values_list("number", flat=True).first())
        return audit.create(Deviation, actor=Actor.of(user, request_id), participant=participant,
                            number=(last or 0) + 1, category=category, major=major, description=description,
                            occurred_at=occurred, entered_by=user, entered_at=_now())


REVIEWABLE = {"daily": DailyRecord, "baseline": Baseline, "infusion": InfusionSegment, "sample": BloodSample,
              "followup": FollowUp}


def mark_reviewed(*, user: User, record, note: str, request_id: str = "") -> object:
    """A data manager or monitor has checked a flagged value: the review flag is cleared (audited)."""
    if not (user.can(Perm.MANAGE_DATA) or user.can(Perm.RAISE_QUERY)):
        require(user, Perm.MANAGE_DATA)
    note = entered_text("note", note, limit=400, required=True)
    return audit.update(record, actor=Actor.of(user, request_id), reason=f"reviewed: {note}", needs_review=False)


def is_sofa_record(obj) -> bool:
    return isinstance(obj, SofaInputs)
