"""Laboratory values from the site's laboratory system (FHIR R4 Bundle) and the daily form's proposal of them.

:func:`import_bundle` stores each mapped Observation as a :class:`LabObservation` (audited, idempotent on source
system, resource id and version). :func:`proposal` gives the worst value of each SOFA input on one study day,
with the observations it came from, for the daily form to show; nothing here writes a daily record: the nurse
checks the proposal, puts it into the form and saves it like any typed value (docs/data-capture.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shine.exchange import fhir_labs as fl
from shine.trial.accounts.models import User
from shine.trial.audit import services as audit
from shine.trial.enrollment.models import Participant
from shine.trial.errors import Refused

from .models import LabObservation
from .schedule import study_day_of
from .services import begin_write

# the proposal's input -> (daily form field, its unit field and unit): values go into the form in the platform unit
FORM_FIELDS = {
    "pao2": ("pao2", "pao2_unit", "mmHg"), "fio2": ("fio2", "fio2_unit", "fraction"),
    "platelets": ("platelets", None, None), "bilirubin": ("bilirubin", "bilirubin_unit", "umol/L"),
    "creatinine": ("creatinine", "creatinine_unit", "umol/L"), "map_mmhg": ("map_mmhg", None, None),
    "urine_output": ("urine_output", None, None),
}


@dataclass(frozen=True)
class ImportResult:
    imported: int
    unchanged: int
    retracted: int
    days: tuple[int, ...]

    def as_json(self) -> dict:
        return {"imported": self.imported, "unchanged": self.unchanged, "retracted": self.retracted,
                "days": list(self.days)}


def import_bundle(*, user: User, participant: Participant, bundle, source_system: str = "",
                  request_id: str = "", received_at: dt.datetime | None = None) -> ImportResult:
    """Import a Bundle's Observations for ``participant``: all of them or, when any is refused, none."""
    received_at = received_at or timezone.now()
    try:
        values = fl.parse_bundle(bundle, source_system=source_system, received_at=received_at,
                                 participant=participant.number)
    except fl.LabRefused as exc:
        raise Refused(str(exc), field="bundle") from None
    actor = audit.Actor.of(user, request_id)
    imported = unchanged = retracted = 0
    days: set[int] = set()
    with transaction.atomic():
        row = begin_write(user, participant)
        for v in values:
            seen = LabObservation.objects.filter(source_system=v.source_system, resource_id=v.resource_id,
                                                 version=v.version).first()
            if seen is not None:
                if seen.participant_id != row.pk:
                    raise Refused(_("Observation %(id)s (version %(version)s) of %(system)s was imported for "
                                    "another participant; nothing was imported") % {
                        "id": v.resource_id, "version": v.version, "system": v.source_system}, field="bundle")
                if (seen.value_entered, seen.unit_entered, seen.code, seen.status) != (
                        v.value_entered, v.unit_entered, v.code, v.status):
                    raise Refused(_("Observation %(id)s version %(version)s differs from the one imported before "
                                    "under the same version; nothing was imported") % {
                        "id": v.resource_id, "version": v.version}, field="bundle")
                unchanged += 1
                continue
            day = study_day_of(row.randomised_at, v.effective_at)
            audit.create(LabObservation, actor=actor, participant=row, source_system=v.source_system,
                         resource_id=v.resource_id, version=v.version, status=v.status, input=v.input,
                         code_system=v.code_system, code=v.code, value=v.value, value_entered=v.value_entered,
                         unit_entered=v.unit_entered, effective_at=v.effective_at, study_day=day,
                         mapping_version=v.mapping_version, received_at=v.received_at, imported_by=user)
            imported += 1
            retracted += v.retracts
            days.add(day)
    return ImportResult(imported, unchanged, retracted, tuple(sorted(days)))


def _value(o: LabObservation) -> fl.LabValue:
    return fl.LabValue(input=o.input, value=o.value, value_entered=o.value_entered, unit_entered=o.unit_entered,
                       effective_at=o.effective_at, resource_id=o.resource_id, version=o.version,
                       source_system=o.source_system, code_system=o.code_system, code=o.code, status=o.status,
                       mapping_version=o.mapping_version, received_at=o.received_at)


def proposal(participant: Participant, day: int) -> dict[str, fl.Proposed]:
    """The worst current value of each input on study ``day`` (retracted and superseded versions left out)."""
    rows = LabObservation.objects.filter(participant=participant)
    current = fl.current(_value(o) for o in rows)
    randomised_at = participant.randomised_at
    return fl.worst_of_day(v for v in current if study_day_of(randomised_at, v.effective_at) == day)


def proposal_json(participant: Participant, day: int) -> list[dict]:
    """The proposal as the API and the page show it: value, unit and each source observation."""
    out = []
    for name, p in proposal(participant, day).items():
        out.append({"input": name, "label": fl.INPUT_LABELS[name], "value": p.value, "unit": fl.INPUTS[name],
                    "on_daily_form": name in FORM_FIELDS, "sources": [{
                        "source_system": s.source_system, "resource_id": s.resource_id, "version": s.version,
                        "code_system": s.code_system, "code": s.code, "value_entered": s.value_entered,
                        "unit_entered": s.unit_entered, "effective_at": timezone.localtime(s.effective_at),
                        "received_at": s.received_at, "mapping_version": s.mapping_version} for s in p.sources]})
    return out


def form_initial(participant: Participant, day: int) -> dict[str, str]:
    """The proposal as the daily form's initial values (shown for the nurse to check and save; not saved)."""
    initial: dict[str, str] = {}
    for name, p in proposal(participant, day).items():
        if name not in FORM_FIELDS:
            continue
        field, unit_field, unit = FORM_FIELDS[name]
        initial[field] = f"{round(p.value, 3):g}"
        if unit_field:
            initial[unit_field] = unit
    return initial
