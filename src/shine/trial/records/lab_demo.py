"""Demo: a laboratory Bundle for one HGH participant's open study day, so that its daily form proposes values."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from shine.exchange import fhir_labs as fl
from shine.trial.accounts.models import User
from shine.trial.enrollment.models import Participant
from shine.trial.errors import Refused

from . import lab_import, selectors
from .schedule import day_start

DEMO_SOURCE = "urn:shine:demo:lab-hgh"
HOUR = dt.timedelta(hours=1)


def demo_bundle(participant: Participant, day: int, now: dt.datetime) -> dict:
    """A day's blood gases, chemistry and charted vital signs, in the units a Danish lab sends (kPa, µmol/L,
    NPU for creatinine), one platelet count entered in error and retracted."""
    start = day_start(participant.randomised_at, day)

    def at(hours: float) -> str:
        return min(start + dt.timedelta(hours=hours), now - dt.timedelta(minutes=5)).isoformat()

    def obs(rid, system, code, value, unit, hours, *, version="1", status="final"):
        return {"resource": {
            "resourceType": "Observation", "id": f"{participant.number}-{day}-{rid}",
            "meta": {"versionId": version}, "status": status,
            "code": {"coding": [{"system": system, "code": code}]}, "effectiveDateTime": at(hours),
            "valueQuantity": {"value": value, "unit": unit, "system": fl.UCUM, "code": unit}}}

    return {"resourceType": "Bundle", "type": "collection", "meta": {"source": DEMO_SOURCE}, "entry": [
        obs("fio2-a", fl.LOINC, "3150-0", 40, "%", 0.5), obs("pao2-a", fl.LOINC, "2703-7", 11.2, "kPa", 1),
        obs("fio2-b", fl.LOINC, "3150-0", 50, "%", 2.5), obs("pao2-b", fl.LOINC, "2703-7", 9.8, "kPa", 3),
        obs("plt-a", fl.LOINC, "777-3", 118, "10*9/L", 1), obs("plt-b", fl.LOINC, "777-3", 96, "10*9/L", 3),
        obs("plt-c", fl.LOINC, "777-3", 9, "10*9/L", 3.2),
        obs("plt-c", fl.LOINC, "777-3", 9, "10*9/L", 3.2, version="2", status="entered-in-error"),
        obs("bili-a", fl.LOINC, "14631-6", 41, "umol/L", 1), obs("crea-a", fl.NPU, "NPU18016", 182, "umol/L", 1),
        obs("lac-a", fl.LOINC, "2524-7", 3.4, "mmol/L", 1),
        obs("map-a", fl.LOINC, "8478-0", 68, "mm[Hg]", 2), obs("map-b", fl.LOINC, "8478-0", 63, "mm[Hg]", 3.5),
        obs("uo-a", fl.LOINC, "9187-6", 210, "mL", 2), obs("uo-b", fl.LOINC, "9187-6", 180, "mL", 4),
    ]}


def load_demo_labs(*, nurse: User, now: dt.datetime | None = None) -> list[str]:
    """Import a demo Bundle for the latest HGH participant with an open day that has no daily record yet."""
    now = now or timezone.now()
    for p in Participant.objects.filter(site__code="HGH", randomised_at__isnull=False).order_by("-randomised_at"):
        # a daily record the schedule still asks for (alive, in the ICU, not yet entered), begun an hour ago at
        # least so that the day has some results; the latest such day
        days = [i.study_day for i in selectors.schedule_for(p, now=now) if i.form == "daily" and i.study_day
                and i.status in ("due", "overdue") and now - day_start(p.randomised_at, i.study_day) >= HOUR]
        if not days:
            continue
        day = max(days)
        try:
            result = lab_import.import_bundle(user=nurse, participant=p, bundle=demo_bundle(p, day, now),
                                              request_id="demo:labs")
        except Refused:  # a participant whose forms refuse writes (dead, left the ICU, locked): the next one
            continue
        return [_("laboratory values: %(count)s observations (one retracted) for %(participant)s, day %(day)s, "
                  "proposed on its daily form") % {"count": result.imported, "participant": p.number, "day": day}]
    return [_("laboratory values: no HGH participant with an open day; none loaded")]
