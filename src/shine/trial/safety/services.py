"""Every write of safety reporting: keyword-only, one transaction, audited (docs/safety.md).

Site staff report an event and add follow-ups (new versions of the case; nothing is overwritten). The
sponsor's pharmacovigilance assesses expectedness against the reference safety information in force at
the onset and may add its own causality, never downgrading the investigator's. A serious, related and
unexpected event opens a single-participant unblinding for pharmacovigilance through the allocation app,
and the decision (SUSAR to report, or not reportable on placebo) is stored blinded.

A serious report is mailed to pharmacovigilance once its transaction has committed (never for a rollback).
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shine import protocol as protocol_mod
from shine.trial.accounts.models import User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require, require_site_staff
from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.enrollment.models import Participant
from shine.trial.errors import CLOCK_SKEW, Refused, entered_text, entered_time
from shine.web.formats import local_datetime

from .models import (
    ACTIONS,
    CRITERIA,
    FLAG_DEATH_NOT_FATAL,
    FLAG_FATAL_NOT_DEATH,
    OUTCOMES,
    SEVERITY,
    Assessment,
    Case,
    CaseVersion,
    ReferenceSafetyInformation,
    SusarDecision,
    criteria_words,
    event_words,
)

log = logging.getLogger(__name__)

CRITERIA_CODES = tuple(c for c, _ in CRITERIA)
TERM_LIMIT, NARRATIVE_LIMIT, COMMENT_LIMIT = 200, 4000, 2000
SUBMISSIONS = ("initial", "followup", "restart", "close")


def _now() -> dt.datetime:
    return timezone.now()


def _local(t: dt.datetime) -> str:
    """A time in a message to people: in the active language's convention, in the trial's time zone."""
    return local_datetime(t)


# the fields in words, for the refusals (which name the field as people read it, not its code)
FIELDS = {"term": gettext_lazy("event (verbatim term)"), "onset_at": gettext_lazy("onset"),
          "aware_at": gettext_lazy("site became aware"), "serious": gettext_lazy("serious"),
          "severity": gettext_lazy("severity"), "outcome": gettext_lazy("outcome"),
          "action": gettext_lazy("action with the infusion"),
          "related": gettext_lazy("causality (reasonable possibility)"),
          "meddra_version": gettext_lazy("MedDRA version"), "meddra_code": gettext_lazy("MedDRA code"),
          "narrative": gettext_lazy("narrative"), "comment": gettext_lazy("comment"), "note": gettext_lazy("note"),
          "at": gettext_lazy("sent at"), "kind": gettext_lazy("report"), "version": gettext_lazy("version"),
          "approved_on": gettext_lazy("approved on"), "in_force_from": gettext_lazy("in force from"),
          "expected_reactions": gettext_lazy("expected reactions"), **{c: w for c, w in CRITERIA}}


def _label(name: str) -> str:
    return str(FIELDS.get(name, name.replace("_", " ")))


def _text(name: str, value, *, limit: int, required: bool = False) -> str:
    """``entered_text`` with the refusal in the reader's language and the field in words."""
    stripped = value.strip() if isinstance(value, str) else value
    if required and not stripped:
        raise Refused(_("%(field)s is required") % {"field": _label(name)}, field=name)
    if isinstance(stripped, str) and len(stripped) > limit:
        raise Refused(_("%(field)s must be at most %(limit)s characters") % {"field": _label(name), "limit": limit},
                      field=name)
    return entered_text(name, value, limit=limit, required=required)


def _time(name: str, value, *, required: bool = True) -> dt.datetime | None:
    """``entered_time`` with the refusal in the reader's language and the field in words."""
    field = {"field": _label(name)}
    if value is None or value == "":
        if required:
            raise Refused(_("%(field)s is required") % field, field=name)
        return None
    if not isinstance(value, dt.datetime):
        raise Refused(_("%(field)s must be a date and time") % field, field=name)
    aware = timezone.make_aware(value) if timezone.is_naive(value) else value
    if aware > timezone.now() + CLOCK_SKEW:
        raise Refused(_("%(field)s must not be in the future") % field, field=name)
    return entered_time(name, value, required=required)


def pv_recipients() -> list[str]:
    return list(getattr(settings, "PHARMACOVIGILANCE_EMAILS", ["pharmacovigilance@localhost"]))


# ---------------------------------------------------------------- checks of one version's values

def _choice(name: str, value, choices) -> str:
    codes = [c for c, _w in choices] if choices and isinstance(choices[0], tuple) else list(choices)
    if value in (None, ""):
        raise Refused(_("%(field)s is required") % {"field": _label(name)}, field=name)
    if value not in codes:
        raise Refused(_("%(field)s must be one of %(codes)s") % {"field": _label(name), "codes": ", ".join(codes)},
                      field=name)
    return value


def _bool(name: str, value) -> bool:
    if value is None or value == "" or not isinstance(value, bool):
        raise Refused(_("%(field)s: answer yes or no") % {"field": _label(name)}, field=name)
    return value


def clean_values(values: dict, participant: Participant) -> dict:
    """The checked fields of one version (refusals name the field and the rule), with its consistency flags."""
    s = protocol_mod.load().safety
    v = {"term": _text("term", values.get("term"), limit=TERM_LIMIT, required=True)}
    v["onset_at"] = _time("onset_at", values.get("onset_at"))
    v["aware_at"] = _time("aware_at", values.get("aware_at"))
    if participant.randomised_at and v["onset_at"] < participant.randomised_at:
        raise Refused(_("%(field)s must not be before randomisation (%(time)s)")
                      % {"field": _label("onset_at"), "time": _local(participant.randomised_at)}, field="onset_at")
    if v["aware_at"] < v["onset_at"]:
        raise Refused(_("%(field)s must not be before the onset") % {"field": _label("aware_at")}, field="aware_at")
    v["serious"] = _bool("serious", values.get("serious"))
    for code in CRITERIA_CODES:
        given = values.get(code)
        if given not in (None, True, False):
            raise Refused(_("%(field)s must be true or false") % {"field": _label(code)}, field=code)
        v[code] = bool(given)
    chosen = [c for c in CRITERIA_CODES if v[c]]
    if v["serious"] and not chosen:
        raise Refused(_("a serious event needs at least one seriousness criterion (death, life-threatening, "
                        "hospitalisation, disability, congenital anomaly, medically important)"), field="serious")
    if not v["serious"] and chosen:
        raise Refused(_("a non-serious event cannot meet a seriousness criterion (%(criteria)s): answer serious "
                        "yes, or clear the criterion") % {"criteria": criteria_words(chosen)}, field="serious")
    v["severity"] = _choice("severity", values.get("severity"), SEVERITY)
    v["outcome"] = _choice("outcome", values.get("outcome"), OUTCOMES)
    v["action"] = _choice("action", values.get("action"), ACTIONS)
    pre = values.get("prespecified")
    if pre is None:
        raise Refused(_("prespecified event: choose one of the protocol's events or 'none of them'"),
                      field="prespecified")
    if pre not in ("", *s.prespecified_events):
        raise Refused(_("prespecified event must be one of %(events)s or empty")
                      % {"events": ", ".join(s.prespecified_events)}, field="prespecified")
    v["prespecified"] = pre
    exempt = values.get("exempt") or ""
    if exempt not in ("", *s.exempt_events):
        raise Refused(_("exempt event must be one of %(events)s or empty") % {"events": ", ".join(s.exempt_events)},
                      field="exempt")
    if exempt and pre:
        raise Refused(_("a prespecified event is never exempt from expedited reporting"), field="exempt")
    v["exempt"] = exempt
    v["related"] = _bool("related", values.get("related"))
    v["meddra_version"] = _text("meddra_version", values.get("meddra_version"), limit=8)
    v["meddra_code"] = _text("meddra_code", values.get("meddra_code"), limit=8)
    if v["meddra_code"] and not v["meddra_version"]:
        raise Refused(_("a MedDRA code needs its MedDRA version"), field="meddra_version")
    if v["meddra_code"] and not (v["meddra_code"].isascii() and v["meddra_code"].isdigit()
                                 and len(v["meddra_code"]) == 8):
        raise Refused(_("MedDRA code must be the 8-digit code of a term"), field="meddra_code")
    if v["meddra_version"] and not v["meddra_code"]:
        raise Refused(_("a MedDRA version goes with a MedDRA code"), field="meddra_code")
    v["narrative"] = _text("narrative", values.get("narrative"), limit=NARRATIVE_LIMIT)
    flags = []
    if v["death"] and v["outcome"] != "fatal":
        flags.append(FLAG_DEATH_NOT_FATAL)
    if v["outcome"] == "fatal" and not v["death"]:
        flags.append(FLAG_FATAL_NOT_DEATH)
    v["flags"] = "; ".join(flags)
    return v



# ---------------------------------------------------------------- site staff: initial report and follow-ups

def _site_participant(user: User, participant: Participant) -> Participant:
    require(user, Perm.REPORT_SAFETY)
    require_site_staff(user, participant.site_id, to="report its safety events")
    if participant.randomised_at is None:
        raise Refused(_("%(participant)s is not randomised: safety reporting starts at randomisation")
                      % {"participant": participant.number}, status=409)
    return participant


def _mail_on_commit(case: Case, version: CaseVersion) -> None:
    """After the commit, tell pharmacovigilance of a serious report (no arm: site staff wrote it)."""
    number, v = case.number, version.version

    def send() -> None:
        # to configured addresses, not users: in the trial's default language
        with translation.override(settings.LANGUAGE_CODE):
            subject, body = _sae_mail(case, version)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, pv_recipients())
        except Exception:  # the report stands; the failure is logged for follow-up by the reminder command
            log.exception("mail of SAE %s v%s to pharmacovigilance failed", number, v)

    transaction.on_commit(send)


def _sae_mail(case: Case, version: CaseVersion) -> tuple[str, str]:
    """The subject and body of the mail of a serious report, in the active language."""
    trial, v = protocol_mod.load().name, version.version
    facts = {"trial": trial, "case": case.number, "version": v, "participant": case.participant.number,
             "site": case.site.code, "term": version.term, "onset": _local(version.onset_at),
             "aware": _local(version.aware_at), "criteria": criteria_words(version.criteria),
             "outcome": version.get_outcome_display(),
             "causality": _("related") if version.related else _("not related")}
    first = (_("Follow-up serious adverse event report in the %(trial)s trial.") if v > 1
             else _("New serious adverse event report in the %(trial)s trial.")) % facts
    lines = [first, "", _("Case: %(case)s version %(version)s") % facts,
             _("Participant: %(participant)s (site %(site)s)") % facts, _("Event: %(term)s") % facts,
             _("Onset: %(onset)s") % facts, _("Site aware: %(aware)s") % facts, _("Criteria: %(criteria)s") % facts,
             _("Outcome: %(outcome)s") % facts, _("Investigator causality: %(causality)s") % facts]
    if version.exempt:
        lines.append(_("Exempt from expedited reporting: %(event)s") % {"event": event_words(version.exempt)})
    lines += ["", _("Assess it on the safety worklist."), ""]
    return _("%(trial)s: SAE %(case)s v%(version)s") % facts, "\n".join(lines)


def report_event(*, user: User, participant: Participant, values: dict, request_id: str = "") -> Case:
    """The initial report of an adverse event (version 1 of a new case)."""
    actor = Actor.of(user, request_id)
    participant = _site_participant(user, participant)
    v = clean_values(values, participant)
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        n = Case.objects.filter(participant=locked).count() + 1
        now = _now()
        serious_clock = v["serious"] and not v["exempt"]
        case = audit.create(Case, actor=actor, participant=locked, site_id=locked.site_id,
                            number=f"{locked.number}-E{n}", created_at=now, created_by=user,
                            site_aware_at=v["aware_at"] if serious_clock else None,
                            sponsor_aware_at=now if serious_clock else None)
        version = audit.create(CaseVersion, actor=actor, case=case, version=1, entered_by=user, entered_at=now, **v)
        if v["serious"]:
            _mail_on_commit(case, version)
    return case


def latest(case: Case) -> CaseVersion:
    return case.versions.order_by("-version").first()


def add_follow_up(*, user: User, case: Case, values: dict, request_id: str = "") -> CaseVersion:
    """A follow-up: a new version with everything now known. The clock starts are written only by the
    version that first makes the event serious (or, for a SUSAR, fatal or life-threatening)."""
    actor = Actor.of(user, request_id)
    _site_participant(user, case.participant)
    v = clean_values(values, case.participant)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        before = latest(locked)
        if v["aware_at"] < before.aware_at:
            raise Refused(_("%(field)s must not be before the previous version's (%(time)s)")
                          % {"field": _label("aware_at"), "time": _local(before.aware_at)}, field="aware_at")
        now = _now()
        version = audit.create(CaseVersion, actor=actor, case=locked, version=before.version + 1, entered_by=user,
                               entered_at=now, **v)
        if v["serious"] and not v["exempt"] and locked.site_aware_at is None:
            audit.update(locked, actor=actor, reason=f"version {version.version} reports a serious event",
                         site_aware_at=v["aware_at"], sponsor_aware_at=now)
        decision = SusarDecision.objects.select_for_update().filter(case=locked).first()
        if (decision is not None and not decision.fatal and decision.restart_from is None
                and version.fatal_or_life_threatening):
            # written in both outcomes alike; the restarted clock runs only for a reportable SUSAR
            audit.update(decision, actor=actor, reason=f"version {version.version}: fatal or life-threatening",
                         restart_from=min(v["aware_at"], now))
        if v["serious"]:
            _mail_on_commit(locked, version)
    return version


# ---------------------------------------------------------------- sponsor: reference safety information

def add_rsi(*, user: User, version: str, approved_on, in_force_from, expected_reactions: str,
            request_id: str = "") -> ReferenceSafetyInformation:
    require(user, Perm.ASSESS_SAFETY)
    version = _text("version", version, limit=40, required=True)
    if not isinstance(approved_on, dt.date) or isinstance(approved_on, dt.datetime):
        raise Refused(_("%(field)s must be a date") % {"field": _label("approved_on")}, field="approved_on")
    start = _time("in_force_from", in_force_from, required=True) if not isinstance(in_force_from, dt.datetime) \
        else in_force_from
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    if timezone.localdate(start) < approved_on:  # the approval date is a date in the trial's time zone
        raise Refused(_("%(field)s must not be before the approval date") % {"field": _label("in_force_from")},
                      field="in_force_from")
    reactions = _text("expected_reactions", expected_reactions, limit=20000, required=True)
    with transaction.atomic():
        if ReferenceSafetyInformation.objects.filter(version=version).exists():
            raise Refused(_("RSI version %(version)s exists already") % {"version": version}, field="version",
                          status=409)
        if ReferenceSafetyInformation.objects.filter(in_force_from=start).exists():
            raise Refused(_("another RSI version comes into force at that moment"), field="in_force_from",
                          status=409)
        return audit.create(ReferenceSafetyInformation, actor=Actor.of(user, request_id), version=version,
                            approved_on=approved_on, in_force_from=start, expected_reactions=reactions,
                            entered_by=user, entered_at=_now())


def rsi_in_force(at: dt.datetime) -> ReferenceSafetyInformation | None:
    """The RSI version in force at ``at`` (the latest to come into force at or before it)."""
    return ReferenceSafetyInformation.objects.filter(in_force_from__lte=at).order_by("-in_force_from").first()


# ---------------------------------------------------------------- sponsor: assessment and the SUSAR decision

def is_susar_candidate(version: CaseVersion, assessment: Assessment) -> bool:
    related = version.related or bool(assessment.sponsor_related)
    return version.serious and not version.exempt and related and not assessment.expected


def assess(*, user: User, case: Case, expected: bool, sponsor_related: bool | None = None, comment: str = "",
           unblind_reason: str = "", request_id: str = "") -> Assessment:
    """The sponsor's assessment of the case's latest version. Expectedness is judged against the RSI in force
    at the onset (a later RSI never reclassifies this assessment). A serious, related, unexpected event opens
    the SUSAR unblinding of this one participant for this user (once per case)."""
    require(user, Perm.ASSESS_SAFETY)
    actor = Actor.of(user, request_id)
    if not isinstance(expected, bool):
        raise Refused(_("expected: answer yes or no"), field="expected")
    if sponsor_related is not None and not isinstance(sponsor_related, bool):
        raise Refused(_("sponsor causality: answer yes, no or leave it empty"), field="sponsor_related")
    comment = _text("comment", comment, limit=COMMENT_LIMIT)
    with transaction.atomic():
        locked = Case.objects.select_for_update().select_related("participant").get(pk=case.pk)
        version = latest(locked)
        if not version.serious:
            raise Refused(_("only serious events are assessed by the sponsor"), field="expected", status=409)
        if version.related and sponsor_related is False:
            raise Refused(_("the sponsor may not downgrade the investigator's causality (related): leave the "
                            "sponsor causality empty or answer related"), field="sponsor_related")
        rsi = rsi_in_force(version.onset_at)
        if rsi is None:
            raise Refused(_("no reference safety information was in force at the onset (%(time)s): add the RSI "
                            "version first") % {"time": _local(version.onset_at)}, field="expected", status=409)
        n = Assessment.objects.filter(case=locked).count() + 1
        assessment = audit.create(Assessment, actor=actor, case=locked, number=n, case_version=version.version,
                                  rsi=rsi, expected=expected, sponsor_related=sponsor_related, comment=comment,
                                  assessed_by=user, assessed_at=_now())
        if is_susar_candidate(version, assessment) and not SusarDecision.objects.filter(case=locked).exists():
            _decide_susar(locked, version, user=user, actor=actor, reason=unblind_reason, request_id=request_id)
    return assessment


def _decide_susar(case: Case, version: CaseVersion, *, user: User, actor: Actor, reason: str,
                  request_id: str) -> SusarDecision:
    from shine.trial.allocation.services import susar_unblind

    reason = (reason or "").strip() or f"SUSAR assessment of case {case.number}"
    unblinding, arm = susar_unblind(case.participant, user=user, reason=reason, request_id=request_id)
    aware = [t for t in (case.site_aware_at, case.sponsor_aware_at, version.aware_at) if t is not None]
    return audit.create(SusarDecision, actor=actor, case=case, unblinding=unblinding, decided_at=_now(),
                        decided_by=user, reportable=arm == protocol_mod.load().active_arm, aware_from=min(aware),
                        fatal=version.fatal_or_life_threatening)


def record_submission(*, user: User, case: Case, kind: str, at, note: str = "", request_id: str = "") -> SusarDecision:
    """Pharmacovigilance records a report sent to the authority (``initial``, ``followup``, ``restart``); on
    placebo the same steps record that nothing is sent (``close`` with a note is the initial one). Only the
    user who saw the arm may."""
    from shine.trial.allocation.selectors import arm_for

    require(user, Perm.ASSESS_SAFETY)
    if kind not in SUBMISSIONS:
        raise Refused(_("%(field)s must be one of %(codes)s") % {"field": _label("kind"),
                                                                  "codes": ", ".join(SUBMISSIONS)}, field="kind")
    decision = SusarDecision.objects.filter(case=case).first()
    if decision is None or arm_for(user, case.participant) is None:
        raise Refused(_("this case has no SUSAR decision you took"), field="kind", status=409)
    at = _time("at", at)
    note = _text("note", note, limit=400)
    if at < decision.aware_from:
        raise Refused(_("%(field)s must not be before the awareness of the event (%(time)s)")
                      % {"field": _label("at"), "time": _local(decision.aware_from)}, field="at")
    with transaction.atomic():
        decision = SusarDecision.objects.select_for_update().get(pk=decision.pk)
        log = decision.logged()
        if kind == "close":
            if decision.reportable:
                raise Refused(_("a SUSAR to report closes with its reports, not with a note"), field="kind",
                              status=409)
            if not note:
                raise Refused(_("note is required to close a decision"), field="note")
            if "close" in log or "initial" in log:
                raise Refused(_("the decision is closed already"), field="kind", status=409)
            kind = "initial"  # on placebo, closing is the initial step: the same steps in both outcomes
        else:
            # on placebo each step is recorded too ("nothing sent"), at the same points as a report would be,
            # so the number and timing of pharmacovigilance's entries cannot tell the arm
            if kind == "followup" and not decision.fatal:
                raise Refused(_("a follow-up report is due only for a fatal or life-threatening SUSAR"),
                              field="kind", status=409)
            if kind == "restart" and decision.restart_from is None:
                raise Refused(_("the SUSAR has not become fatal or life-threatening"), field="kind", status=409)
            if kind in log:
                raise Refused(_("the %(kind)s report is recorded already") % {"kind": event_words(kind)},
                              field="kind", status=409)
        log[kind] = at.astimezone(dt.UTC).isoformat()
        if note:
            log["note"] = note
        # one field in both outcomes, and one reason for every action: the audit trail's shape says nothing
        return audit.update(decision, actor=Actor.of(user, request_id), reason="pharmacovigilance action",
                            log=json.dumps(log, sort_keys=True))
