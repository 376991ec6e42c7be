"""Walk a participant to randomisation some time ago, and fill its forms through the services."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.trial.enrollment.factories import randomised

SOFA_DAY = dict(pao2=20.0, pao2_unit="kPa", fio2=50, fio2_unit="percent", respiratory_support=True,
                platelets=90, bilirubin=2.0, bilirubin_unit="mg/dL", map_mmhg=68, norepinephrine=0.15, gcs=None,
                creatinine=2.5, creatinine_unit="mg/dL", urine_output=900, mechanical_ventilation=True)



def whole_daily(**over) -> dict:
    """Every value field of a daily record (a PUT names them all): SOFA_DAY, the rest empty."""
    from shine.trial.records.schemas import DailyUpdateIn

    empty = {k: None for k in DailyUpdateIn.model_fields if k != "reason"}
    return {**empty, "codes": {}, "comments": {}, "pao2_unit": "mmHg", "fio2_unit": "", "bilirubin_unit": "umol/L",
            "creatinine_unit": "umol/L", **SOFA_DAY, **over}


def randomised_ago(user, *, days: float = 3.0, site: str = "HGH", weight: float = 70.0):
    """A participant randomised ``days`` ago (the randomisation given that time as its clock)."""
    at = timezone.now() - dt.timedelta(days=days)
    p, _ = randomised(user, site, weight=weight, hours_ago=days * 24 + 1, at=at)
    p.refresh_from_db()
    return p


def baseline_values(p, **over):
    return {"age": 69, "sex": "F", "weight_kg": 70.0, "weight_estimated": False, "site_of_infection": "pulmonary",
            "comorbidities": ["diabetes"], "icu_admitted_at": p.randomised_at - dt.timedelta(hours=5),
            "pao2": 150, "pao2_unit": "mmHg", "fio2": 0.5, "platelets": 120, "bilirubin": 25, "map_mmhg": 62,
            "norepinephrine": 0.2, "gcs": 12, "creatinine": 180, "urine_output": 800, **over}
