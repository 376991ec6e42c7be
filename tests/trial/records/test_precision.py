"""Derived numbers at their clinical precision in the API and on the pages (P/F 163, not 163.346836); the values
as entered keep every digit; the database keeps full precision. Rounding is half away from zero."""

import pytest

from shine.clinical import precision
from shine.trial.records import services
from shine.trial.records.models import DailyRecord

from .factories import SOFA_DAY

URL = "/api/v1/participants/{}/daily-records"
# 9.5 kPa at 58 %: P/F 9.5 × 7.50062 / 0.58 = 122.8549…; bilirubin 1.37 mg/dL = 23.427 µmol/L;
# creatinine 1.23 mg/dL = 108.732 µmol/L
DAY = {**SOFA_DAY, "pao2": 9.5, "pao2_unit": "kPa", "fio2": 58, "fio2_unit": "percent", "bilirubin": 1.37,
       "bilirubin_unit": "mg/dL", "creatinine": 1.23, "creatinine_unit": "mg/dL"}


def test_the_table_rounds_half_away_from_zero():
    assert precision.shown("pao2_fio2", 162.5) == 163 and precision.shown("pao2_fio2", 163.346836) == 163
    assert precision.shown("mean_daily_sofa", 13.75) == 13.8 and precision.shown("mean_daily_sofa", 2.25) == 2.3
    assert precision.shown("fraction_of_planned", 0.99951) == 1.0 and precision.shown("bilirubin", None) is None
    with pytest.raises(KeyError):
        precision.shown("platelets", 95.0)  # an entered value has no clinical rounding: it is data


def test_api_sends_derived_values_rounded_and_entered_values_whole(participant, api_for):
    api = api_for("nurse_hgh")
    r = api.post(URL.format(participant.number), {**DAY, "study_day": 1}, content_type="application/json")
    assert r.status_code == 201, r.content
    for body in (r.json(), api.get(URL.format(participant.number) + "/1").json()):
        assert body["pao2_fio2"] == 123 and body["bilirubin"] == 23 and body["creatinine"] == 109
        assert body["pao2_entered"] == 9.5 and body["bilirubin_entered"] == 1.37 and body["creatinine_entered"] == 1.23
    stored = DailyRecord.objects.get(participant=participant, study_day=1)
    assert stored.pao2_fio2 == pytest.approx(9.5 * 7.50062 / 0.58)  # the database keeps full precision
    preview = api.post(URL.format(participant.number) + "/preview", DAY, content_type="application/json").json()
    assert preview["converted"]["pao2_fio2"] == 123 and preview["converted"]["bilirubin"] == 23


def test_outcomes_and_infusion_at_clinical_precision(participant, api_for, trial):
    nurse = trial["nurse_hgh"]
    for day, pf in ((1, 20.0), (2, 14.0), (3, 9.5)):
        services.create_daily_record(user=nurse, participant=participant, study_day=day,
                                     values={**SOFA_DAY, "pao2": pf, "mechanical_ventilation": True,
                                             "vasopressor": True, "rrt": False})
    out = api_for("nurse_hgh").get(f"/api/v1/participants/{participant.number}/outcomes").json()
    mean = out["mean_daily_sofa"]
    assert mean is not None and round(mean, 1) == mean
    page = api_for("nurse_hgh").get(f"/api/v1/participants/{participant.number}/infusion").json()
    if page["computed_rate_ml_per_h"] is not None:
        assert round(page["computed_rate_ml_per_h"], 2) == page["computed_rate_ml_per_h"]
