"""Every write of the screening log, participants and consent: keyword-only, one transaction, audited.

Also the two entry points other modules build on:

* :func:`participant_for_user` (re-exported from selectors): the one scoped lookup of a participant.
* :func:`assert_data_collection_allowed`: refuses new data a refusal or withdrawal of consent forbids.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shine.clinical import eligibility
from shine.trial.accounts.models import Site, User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require, require_site_staff
from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.errors import CLOCK_SKEW, Refused, entered_text, entered_time
from shine.web.formats import local_datetime

from . import consent as rules
from . import cpr as cprmod
from .models import ConsentEvent, Participant, Screening
from .selectors import site_for_work

# facts of the screening form, as shine.clinical.eligibility.assess names them
FACTS = ("age", "sex", "in_icu", "infection", "vasopressor", "lactate_mmol_l", "stm_ng_ml", "shock_diagnosed_at",
         "pregnant", "withdrawal_from_active_therapy", "hypersensitivity", "life_threatening_bleeding",
         "severe_heart_failure", "acute_coronary_syndrome", "previously_included", "consent_unobtainable",
         "other_prostacyclin_trial")
DATA_KINDS = ("vital_status", "data")

# the entered fields in words, for the refusals that name them
LABELS = {
    "screened_at": gettext_lazy("the screening time"),
    "shock_diagnosed_at": gettext_lazy("the time of the septic shock diagnosis"),
    "occurred_at": gettext_lazy("the time of the event"),
    "consenter_name": gettext_lazy("the name of the person"),
    "first_physician": gettext_lazy("the first physician's name"),
    "second_consenter_name": gettext_lazy("the second physician's name"),
    "form_version": gettext_lazy("the consent form version"),
    "note": gettext_lazy("the note"),
}


def _text(name: str, value, *, limit: int, required: bool = False, label=None) -> str:
    """``entered_text`` with a refusal that names the field in words, in the reader's language."""
    words = label or LABELS[name]
    stripped = (value or "").strip()
    if required and not stripped:
        raise Refused(_("%(field)s is required") % {"field": words}, field=name)
    if len(stripped) > limit:
        raise Refused(_("%(field)s must be at most %(limit)s characters") % {"field": words, "limit": limit},
                      field=name)
    return entered_text(name, stripped, limit=limit, required=required)


def _time(name: str, value) -> dt.datetime:
    """``entered_time`` with a refusal that names the field in words, in the reader's language."""
    words = LABELS[name]
    if value is None or value == "":
        raise Refused(_("%(field)s is required") % {"field": words}, field=name)
    if not isinstance(value, dt.datetime):
        raise Refused(_("%(field)s must be a date and time") % {"field": words}, field=name)
    aware = timezone.make_aware(value) if timezone.is_naive(value) else value
    if aware > timezone.now() + CLOCK_SKEW:
        raise Refused(_("%(field)s must not be in the future") % {"field": words}, field=name)
    return entered_time(name, value)


def _english(words) -> str:
    """Words as the audit trail stores them: in English whatever the reader's language (``words``: a
    callable such as ``event.get_kind_display``, evaluated without a language, or a lazy text)."""
    with translation.override(None):
        return str(words() if callable(words) else words)


def _now() -> dt.datetime:
    return timezone.now()


def _field_of(message: str) -> str | None:
    first = re.split(r"[ :]", message, maxsplit=1)[0]
    return first if first in FACTS or first in ("screened_at", "sex") else None


def _assess(screened_at: dt.datetime, facts: dict) -> eligibility.Assessment:
    def assess():
        return eligibility.assess(screened_at=screened_at, **{**facts, "sex": facts.get("sex") or None})

    try:
        return assess()
    except ValueError as exc:
        # the field is the first word of the English message (the fact's name); the reader gets their language
        with translation.override(None):
            try:
                assess()
                english = str(exc)
            except ValueError as in_english:
                english = str(in_english)
        raise Refused(str(exc), field=_field_of(english)) from None


def _outcome(a: eligibility.Assessment) -> str:
    return {"eligible": Screening.Outcome.ELIGIBLE, "not_eligible": Screening.Outcome.NOT_ELIGIBLE,
            "not_assessable": Screening.Outcome.NOT_ASSESSABLE}[a.screening_outcome]


def _clean_facts(facts: dict) -> dict:
    unknown = set(facts) - set(FACTS)
    if unknown:
        raise Refused(_("unknown screening fact %(facts)s") % {"facts": ", ".join(sorted(unknown))},
                      field=sorted(unknown)[0])
    out = {k: facts.get(k) for k in FACTS}
    if out["shock_diagnosed_at"] is not None:
        out["shock_diagnosed_at"] = _time("shock_diagnosed_at", out["shock_diagnosed_at"])
    if out["age"] is not None and (not isinstance(out["age"], int) or isinstance(out["age"], bool)):
        raise Refused(_("age must be a whole number of years"), field="age")
    return out


def screen(*, user: User, site_code: str, screened_at: dt.datetime, request_id: str = "",
           **facts) -> tuple[Screening, eligibility.Assessment]:
    """Log a screened patient and assess eligibility at once. Returns the screening and the assessment."""
    require(user, Perm.SCREEN)
    site = site_for_work(user, site_code)
    screened_at = _time("screened_at", screened_at)
    facts = _clean_facts(facts)
    a = _assess(screened_at, facts)
    s = audit.create(Screening, actor=Actor.of(user, request_id), site=site, screened_at=screened_at,
                     screened_by=user, **{**facts, "sex": facts["sex"] or ""}, assessment=a.screening_outcome,
                     reasons=a.reasons[:400], outcome=_outcome(a))
    return s, a


def assessment_of(screening: Screening) -> eligibility.Assessment:
    """The eligibility assessment of a logged screening (recomputed from its facts)."""
    facts = {k: getattr(screening, k) for k in FACTS}
    return _assess(screening.screened_at, facts)


def update_screening(screening: Screening, *, user: User, reason: str, request_id: str = "",
                     **facts) -> tuple[Screening, eligibility.Assessment]:
    """Complete or correct the facts of a screening not yet enrolled; the outcome is assessed again."""
    require(user, Perm.SCREEN)
    require_site_staff(user, screening.site_id, to=_("change its screening log"))
    with transaction.atomic():
        screening = Screening.objects.select_for_update().get(pk=screening.pk)
        if Participant.objects.filter(screening=screening).exists():
            raise Refused(_("this patient is enrolled; the screening can no longer change"), status=409)
        merged = {k: getattr(screening, k) for k in FACTS}
        merged.update(facts)
        merged = _clean_facts(merged)
        a = _assess(screening.screened_at, merged)
        screening = audit.update(screening, actor=Actor.of(user, request_id), reason=reason,
                                 **{**merged, "sex": merged["sex"] or ""}, assessment=a.screening_outcome,
                                 reasons=a.reasons[:400], outcome=_outcome(a), not_randomised_reason="",
                                 not_randomised_note="")
    return screening, a


def record_not_randomised(screening: Screening, *, user: User, reason_code: str, note: str = "",
                          request_id: str = "") -> Screening:
    """An eligible patient who will not be randomised: why (no guardian in time, declined, other)."""
    require(user, Perm.SCREEN)
    require_site_staff(user, screening.site_id, to=_("change its screening log"))
    valid = Screening.NotRandomisedReason.values
    if reason_code not in valid:
        raise Refused(_("the reason must be one of: %(reasons)s") % {"reasons": ", ".join(valid)}, field="reason")
    note = _text("note", note, limit=400)
    if reason_code == "other" and not note:
        raise Refused(_("say why in the note when the reason is 'other'"), field="note")
    with transaction.atomic():
        screening = Screening.objects.select_for_update().get(pk=screening.pk)
        if screening.outcome != Screening.Outcome.ELIGIBLE:
            raise Refused(_("only an eligible patient awaiting a decision can be marked not randomised; this "
                            "screening is %(outcome)s") % {"outcome": screening.get_outcome_display()}, status=409)
        return audit.update(screening, actor=Actor.of(user, request_id), reason="eligible, not randomised",
                            outcome=Screening.Outcome.ELIGIBLE_NOT_RANDOMISED, not_randomised_reason=reason_code,
                            not_randomised_note=note)


def _cpr_values(raw: str, *, participant_number: str) -> dict:
    if not (raw or "").strip():
        return {}
    cpr = cprmod.normalise(raw)
    digest = cprmod.digest(cpr)
    if Participant.objects.filter(cpr_digest=digest).exists():
        raise Refused(_("a participant with this CPR number is already enrolled (previously included)"),
                      field="cpr", status=409)
    return {"cpr_encrypted": cprmod.encrypt(cpr, participant_number=participant_number), "cpr_digest": digest}


def _person(name: str) -> str:
    """A name compared as a person: case, spacing, dots and a "Dr" title do not make another person."""
    words = name.casefold().replace(".", " ").replace(",", " ").split()
    return " ".join(w for w in words if w not in ("dr", "doctor", "læge", "overlæge"))


def enrol(screening: Screening, *, user: User, consenter_name: str, second_consenter_name: str,
          occurred_at: dt.datetime, form_version: str, cpr: str = "", note: str = "",
          request_id: str = "") -> Participant:
    """The scientific guardian (two physicians) consents: the patient becomes a participant with the
    next number of the site (``HGH-0007``). Refused unless the screening is eligible and not yet enrolled."""
    require(user, Perm.CONSENT)
    require_site_staff(user, screening.site_id, to=_("enrol its patients"))
    name = _text("consenter_name", consenter_name, required=True, limit=150, label=LABELS["first_physician"])
    second = _text("second_consenter_name", second_consenter_name, required=True, limit=150)
    if _person(name) == _person(second):
        raise Refused(_("the scientific guardian is two independent physicians: the second physician must be "
                        "another person than %(name)s") % {"name": name}, field="second_consenter_name")
    version = _text("form_version", form_version, required=True, limit=40)
    note = _text("note", note, required=False, limit=400)
    occurred_at = _time("occurred_at", occurred_at)
    actor = Actor.of(user, request_id)
    with transaction.atomic():
        # the site row serialises participant numbering at the site
        site = Site.objects.select_for_update().get(pk=screening.site_id)
        screening = Screening.objects.select_for_update().get(pk=screening.pk)
        if Participant.objects.filter(screening=screening).exists():
            raise Refused(_("this screened patient is already enrolled"), status=409)
        if screening.outcome != Screening.Outcome.ELIGIBLE:
            raise Refused(_("only an eligible patient can be enrolled; this screening is %(outcome)s")
                          % {"outcome": screening.get_outcome_display()}, field="screening", status=409)
        if occurred_at < screening.screened_at:
            raise Refused(_("the guardian's consent cannot be before the screening (%(screened_at)s)")
                          % {"screened_at": local_datetime(screening.screened_at)}, field="occurred_at")
        last = Participant.objects.filter(site=site).order_by("-sequence").values_list("sequence", flat=True).first()
        sequence = (last or 0) + 1
        number = f"{site.code}-{sequence:04d}"
        cpr_values = _cpr_values(cpr, participant_number=number)
        st = rules.state([{"kind": rules.GUARDIAN, "occurred_at": occurred_at, "use_data_collected": None,
                           "continue_vital_status_follow_up": None}])
        participant = audit.create(
            Participant, actor=actor, site=site, sequence=sequence, number=number,
            screening=screening, enrolled_at=occurred_at, weight_kg=None, weight_estimated=None, **cpr_values,
            consent_status=st.status, awaiting_next_of_kin=st.awaiting_next_of_kin,
            awaiting_patient=st.awaiting_patient, new_data_allowed=True, use_data_collected=True,
            continue_vital_status_follow_up=True)
        audit.create(ConsentEvent, actor=actor, participant=participant, kind=rules.GUARDIAN,
                     consenter_role="guardian", consenter_name=name, second_consenter_name=second,
                     occurred_at=occurred_at, form_version=version, entered_by=user, entered_at=_now(), note=note)
    return participant


def set_cpr(participant: Participant, *, user: User, cpr: str, reason: str, request_id: str = "") -> Participant:
    """Enter or correct the CPR number (site staff of the participant's site only)."""
    require(user, Perm.CONSENT)
    require_site_staff(user, participant.site_id, to=_("enter a CPR number"))
    values = _cpr_values(cpr, participant_number=participant.number)
    if not values:
        raise Refused(_("the CPR number is required"), field="cpr")
    return audit.update(participant, actor=Actor.of(user, request_id), reason=reason, **values)


def record_consent(participant: Participant, *, user: User, kind: str, occurred_at: dt.datetime,
                   consenter_name: str = "", consenter_role: str = "", form_version: str = "",
                   use_data_collected: bool | None = None, continue_vital_status_follow_up: bool | None = None,
                   note: str = "", request_id: str = "") -> ConsentEvent:
    """Record the next consent event of an enrolled participant (next of kin, patient, death, never
    regained capacity, withdrawal). A refusal or withdrawal must say what may happen to the data."""
    require(user, Perm.CONSENT)
    require_site_staff(user, participant.site_id, to=_("record consent"))
    if kind == rules.GUARDIAN:
        raise Refused(_("the guardian's consent enrols the patient: record it from the screening"), field="kind")
    if kind not in rules.KINDS:
        raise Refused(_("the event must be one of: %(kinds)s")
                      % {"kinds": ", ".join(k for k in rules.KINDS if k != rules.GUARDIAN)}, field="kind")
    role = rules.ROLE_OF.get(kind)
    if kind == rules.WITHDRAWAL:
        if consenter_role not in ("next_of_kin", "patient"):
            raise Refused(_("say who withdraws consent: the next of kin or the patient"),
                          field="consenter_role")
        role = consenter_role
    elif consenter_role and consenter_role != role:
        raise Refused(_("%(event)s is given by the %(role)s")
                      % {"event": ConsentEvent.Kind(kind).label, "role": ConsentEvent.Role(role).label},
                      field="consenter_role")
    name = _text("consenter_name", consenter_name, required=kind in rules.NEEDS_NAME, limit=150)
    version = _text("form_version", form_version, required=kind in rules.NEEDS_FORM_VERSION, limit=40)
    note = _text("note", note, required=False, limit=400)
    occurred_at = _time("occurred_at", occurred_at)
    if kind in rules.RESTRICTING:
        if use_data_collected is None:
            raise Refused(_("a refusal or withdrawal must say whether the data collected so far may be used "
                            "(yes or no)"), field="use_data_collected")
        if continue_vital_status_follow_up is None:
            raise Refused(_("a refusal or withdrawal must say whether vital status follow up continues "
                            "(yes or no)"), field="continue_vital_status_follow_up")
    else:
        use_data_collected = continue_vital_status_follow_up = None
    actor = Actor.of(user, request_id)
    with transaction.atomic():
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        events = list(participant.consent_events.order_by("occurred_at", "pk"))
        why = rules.check_next(events, kind)
        if why:
            raise Refused(why, field="kind", status=409)
        guardian_at = rules.state(events).guardian_at
        if guardian_at and occurred_at < guardian_at:
            raise Refused(_("this event cannot be before the guardian's consent (%(guardian_at)s)")
                          % {"guardian_at": local_datetime(guardian_at)}, field="occurred_at")
        event = audit.create(ConsentEvent, actor=actor, participant=participant, kind=kind, consenter_role=role,
                             consenter_name=name, occurred_at=occurred_at, form_version=version, entered_by=user,
                             entered_at=_now(), use_data_collected=use_data_collected,
                             continue_vital_status_follow_up=continue_vital_status_follow_up, note=note)
        st = rules.state([*events, event])
        audit.update(participant, actor=actor, reason=f"consent: {_english(event.get_kind_display)}",
                     consent_status=st.status, awaiting_next_of_kin=st.awaiting_next_of_kin,
                     awaiting_patient=st.awaiting_patient, new_data_allowed=st.new_data_allowed,
                     use_data_collected=st.use_data_collected,
                     continue_vital_status_follow_up=st.continue_vital_status_follow_up,
                     data_restricted_at=st.data_restricted_at)
    return event


def consent_state(participant: Participant) -> rules.ConsentState:
    return rules.state(participant.consent_events.order_by("occurred_at", "pk"))


def assert_data_collection_allowed(participant: Participant, *, kind: str) -> None:
    """Refuse new data the participant's consent no longer allows.

    ``kind``: ``"vital_status"`` (date of death, alive/dead at follow-up) or ``"data"`` (everything else).
    After a refusal or withdrawal no new data are collected, except vital status when the person agreed to
    its follow-up. Data already collected stay (``participant.use_data_collected`` says whether they may be
    used). Raises :class:`Refused` (status 409) with a message naming the decision and its date.
    """
    if kind not in DATA_KINDS:
        raise ValueError(f"kind must be one of {DATA_KINDS}; got {kind!r}")
    if participant.new_data_allowed:
        return
    if kind == "vital_status" and participant.continue_vital_status_follow_up:
        return
    status = rules.STATUS_LABELS.get(participant.consent_status) or _("consent refused")
    values = {"participant": participant.number, "status": status,
              "when": local_datetime(participant.data_restricted_at)}
    if not participant.data_restricted_at:
        message = (_("%(participant)s: %(status)s on an earlier date; vital status follow-up may not be collected "
                     "from then on (nothing collected before is deleted)") if kind == "vital_status" else
                   _("%(participant)s: %(status)s on an earlier date; new data may not be collected from then on "
                     "(nothing collected before is deleted)"))
    elif kind == "vital_status":
        message = _("%(participant)s: %(status)s on %(when)s; vital status follow-up may not be collected from then "
                    "on (nothing collected before is deleted)")
    else:
        message = _("%(participant)s: %(status)s on %(when)s; new data may not be collected from then on (nothing "
                    "collected before is deleted)")
    raise Refused(message % values, status=409)
