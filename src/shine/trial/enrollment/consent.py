"""The consent path of an acutely incapacitated patient, as rules over the list of events (no database).

guardian consent (required before randomisation) → next-of-kin consent or refusal → patient consent or
refusal once capacity returns; or death / never regaining capacity; withdrawal at any time.

Data permissions follow the latest decision: a refusal or withdrawal stops new data from that moment and
records whether the data collected so far may be used and whether vital status may still be followed up;
a later consent by the patient themself (who outranks next of kin) lifts a next-of-kin refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

GUARDIAN = "guardian_consent"
NOK_CONSENT, NOK_REFUSAL = "next_of_kin_consent", "next_of_kin_refusal"
PATIENT_CONSENT, PATIENT_REFUSAL = "patient_consent", "patient_refusal"
DIED, NEVER = "died", "never_regained_capacity"
WITHDRAWAL = "withdrawal"
KINDS = (GUARDIAN, NOK_CONSENT, NOK_REFUSAL, PATIENT_CONSENT, PATIENT_REFUSAL, DIED, NEVER, WITHDRAWAL)
RESTRICTING = (NOK_REFUSAL, PATIENT_REFUSAL, WITHDRAWAL)
# who gives each kind of event (withdrawal: next of kin or patient, chosen when recorded)
ROLE_OF = {GUARDIAN: "guardian", NOK_CONSENT: "next_of_kin", NOK_REFUSAL: "next_of_kin",
           PATIENT_CONSENT: "patient", PATIENT_REFUSAL: "patient", DIED: "staff", NEVER: "staff"}
NEEDS_FORM_VERSION = (GUARDIAN, NOK_CONSENT, PATIENT_CONSENT)
NEEDS_NAME = (GUARDIAN, NOK_CONSENT, NOK_REFUSAL, PATIENT_CONSENT, PATIENT_REFUSAL, WITHDRAWAL)

STATUS_LABELS = {
    "guardian": gettext_lazy("guardian consent; awaiting next of kin and patient"),
    "next_of_kin": gettext_lazy("next-of-kin consent; awaiting patient"),
    "next_of_kin_refused": gettext_lazy("next of kin refused"),
    "patient": gettext_lazy("patient consent"),
    "patient_refused": gettext_lazy("patient refused"),
    "died": gettext_lazy("died before regaining capacity (guardian/next-of-kin consent stands)"),
    "never_regained_capacity": gettext_lazy("never regained capacity (guardian/next-of-kin consent stands)"),
    "withdrawn": gettext_lazy("consent withdrawn"),
}


@dataclass(frozen=True)
class ConsentState:
    """Where a participant's consent stands after its events (in time order)."""

    status: str
    guardian_at: dt.datetime | None
    awaiting_next_of_kin: bool
    awaiting_patient: bool
    new_data_allowed: bool
    use_data_collected: bool
    continue_vital_status_follow_up: bool
    data_restricted_at: dt.datetime | None
    withdrawn: bool

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def _get(ev: Any, name: str):
    return ev[name] if isinstance(ev, dict) else getattr(ev, name)


def state(events: Iterable[Any]) -> ConsentState:
    """Fold events (objects or dicts with ``kind``, ``occurred_at``, ``use_data_collected``,
    ``continue_vital_status_follow_up``) into a :class:`ConsentState`."""
    guardian_at = None
    nok = patient = closed = None
    withdrawn = False
    allowed, use_data, vital, restricted_at = True, True, True, None
    status = ""
    for ev in events:
        kind, at = _get(ev, "kind"), _get(ev, "occurred_at")
        if kind == GUARDIAN:
            guardian_at, status = at, "guardian"
        elif kind in (NOK_CONSENT, NOK_REFUSAL):
            nok = kind
            status = "next_of_kin" if kind == NOK_CONSENT else "next_of_kin_refused"
        elif kind in (PATIENT_CONSENT, PATIENT_REFUSAL):
            patient = kind
            status = "patient" if kind == PATIENT_CONSENT else "patient_refused"
        elif kind in (DIED, NEVER):
            closed, status = kind, kind
        elif kind == WITHDRAWAL:
            withdrawn, status = True, "withdrawn"
        if kind in RESTRICTING:
            allowed, restricted_at = False, at
            use_data = bool(_get(ev, "use_data_collected"))
            vital = bool(_get(ev, "continue_vital_status_follow_up"))
        elif kind == PATIENT_CONSENT:
            allowed, use_data, vital, restricted_at = True, True, True, None
    return ConsentState(
        status=status, guardian_at=guardian_at,
        awaiting_next_of_kin=guardian_at is not None and nok is None and patient is None and not withdrawn,
        awaiting_patient=guardian_at is not None and patient is None and closed is None and not withdrawn,
        new_data_allowed=allowed, use_data_collected=use_data, continue_vital_status_follow_up=vital,
        data_restricted_at=restricted_at, withdrawn=withdrawn)


def check_next(events: list[Any], kind: str) -> str | None:
    """Why ``kind`` cannot follow ``events`` (a sentence), or None when it may."""
    kinds = [_get(e, "kind") for e in events]
    if kind not in KINDS:
        return _("unknown consent event %(kind)r; one of: %(kinds)s") % {"kind": kind, "kinds": ", ".join(KINDS)}
    if kind == GUARDIAN:
        return _("the scientific guardian has already consented") if GUARDIAN in kinds else None
    if GUARDIAN not in kinds:
        return _("the scientific guardian's consent must be recorded first")
    if WITHDRAWAL in kinds:
        return _("consent has been withdrawn; no further consent events can be recorded")
    if kind in (NOK_CONSENT, NOK_REFUSAL) and ({NOK_CONSENT, NOK_REFUSAL} & set(kinds)):
        return _("the next of kin's decision is already recorded")
    if kind in (PATIENT_CONSENT, PATIENT_REFUSAL, DIED, NEVER):
        if {PATIENT_CONSENT, PATIENT_REFUSAL} & set(kinds):
            return _("the patient's own decision is already recorded")
        if {DIED, NEVER} & set(kinds):
            return _("death or never regaining capacity is already recorded")
    if kind in (NOK_CONSENT, NOK_REFUSAL) and {PATIENT_CONSENT, PATIENT_REFUSAL} & set(kinds):
        return _("the patient has decided themself; next-of-kin consent is no longer asked")
    return None
