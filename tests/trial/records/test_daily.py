"""Daily ICU record: SOFA from raw values in the chosen units, preview, hard and soft limits, edits with a
reason, site isolation, death and consent stops — through the API, the page and the service."""

import datetime as dt

import pytest

from shine.clinical.sofa import sofa
from shine.trial.audit.models import AuditEvent
from shine.trial.enrollment import services as enrolment
from shine.trial.records import services
from shine.trial.records.models import DailyRecord

from .factories import SOFA_DAY, whole_daily

URL = "/api/v1/participants/{}/daily-records"


def post(client, p, day=1, **over):
    body = {**SOFA_DAY, "study_day": day, **over}
    return client.post(URL.format(p.number), body, content_type="application/json")


def test_valid_save_converts_units_and_scores_with_the_clinical_core(participant, api_for):
    r = post(api_for("nurse_hgh"), participant)
    assert r.status_code == 201, r.content
    body = r.json()
    pf = 20.0 * 7.50062 / 0.5
    assert body["pao2_fio2"] == round(pf)  # at clinical precision (shine.clinical.precision)
    assert body["bilirubin"] == round(2.0 * 17.1) and body["creatinine"] == round(2.5 * 88.4)
    expected = sofa(pao2_fio2=pf, respiratory_support=True, platelets=90, bilirubin=34.2, map_mmhg=68,
                    norepinephrine=0.15, creatinine=221.0, urine_output=900)
    assert body["sofa_modified"] == expected.modified and body["sofa_total"] == expected.total
    assert body["sofa"]["cns"] is None and body["vasopressor"] is True  # derived from the dose
    assert body["warnings"] == [] and body["needs_review"] is False
    assert AuditEvent.objects.filter(object_type="records.dailyrecord", action="create").count() == 1


def test_preview_computes_without_saving(participant, api_for):
    r = api_for("nurse_hgh").post(URL.format(participant.number) + "/preview", SOFA_DAY,
                                  content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["modified"] == 11 and r.json()["converted"]["bilirubin"] == 34  # 34.2 at clinical precision
    assert not DailyRecord.objects.exists()


HARD = [
    ({"pao2": 120, "pao2_unit": "kPa"}, "pao2", "800 mmHg"),
    ({"pao2": -1}, "pao2", "above 0"),
    ({"fio2": 15, "fio2_unit": "percent"}, "fio2", "0.21 and 1.0"),
    ({"fio2": 1.5, "fio2_unit": "fraction"}, "fio2", "0.21 and 1.0"),
    ({"fio2": None}, "fio2", "required"),
    ({"pao2": 90, "pao2_unit": "mmHg", "fio2": 0.1, "fio2_unit": ""}, "fio2", "0.21"),
    ({"platelets": 2500}, "platelets", "0 and 2000"),
    ({"bilirubin": 60, "bilirubin_unit": "mg/dL"}, "bilirubin", "0 and 58.5 mg/dL = 1000 µmol/L"),
    ({"bilirubin": -3}, "bilirubin", "0 or more"),
    ({"map_mmhg": 310}, "map_mmhg", "0 and 300"),
    ({"norepinephrine": 6}, "norepinephrine", "0 and 5"),
    ({"epinephrine": 5.5}, "epinephrine", "0 and 5"),
    ({"dopamine": 51}, "dopamine", "0 and 50"),
    ({"dobutamine": 60}, "dobutamine", "0 and 50"),
    ({"gcs": 2}, "gcs", "3 and 15"),
    ({"gcs": 16}, "gcs", "3 and 15"),
    ({"creatinine": 40, "creatinine_unit": "mg/dL"}, "creatinine", "0.1 and 34 mg/dL = 3000 µmol/L"),
    ({"urine_output": 25000}, "urine_output", "0 and 20000"),
    ({"bilirubin_unit": "g/L"}, "bilirubin_unit", "umol/L, mg/dL"),
    ({"pao2_unit": "bar"}, "pao2_unit", "mmHg, kPa"),
    ({"vasopressor": False}, "vasopressor", "must be yes when a vasopressor or inotrope dose is given"),
    ({"respiratory_support": False}, "respiratory_support", "mechanically ventilated"),
    ({"study_day": 0}, "study_day", "between 1 and 90"),
    ({"study_day": 91}, "study_day", "between 1 and 90"),
    ({"study_day": 6}, "study_day", "has not started"),
]


@pytest.mark.parametrize(("over", "field", "limit"), HARD, ids=[f"{h[1]}-{i}" for i, h in enumerate(HARD)])
def test_hard_limits_refuse_naming_field_and_limit(participant, api_for, over, field, limit):
    r = post(api_for("nurse_hgh"), participant, **over)
    assert r.status_code == 400, r.content
    err = r.json()["errors"][0]
    assert err["field"] == field and limit in err["message"], err
    assert not DailyRecord.objects.exists()


SOFT = [
    ({"platelets": 1200}, "platelets 1200"),
    ({"map_mmhg": 35}, "MAP 35"),
    ({"map_mmhg": 170}, "MAP 170"),
    ({"norepinephrine": 2.0}, "noradrenaline 2"),
    ({"epinephrine": 1.5}, "adrenaline 1.5"),
    ({"dopamine": 25}, "dopamine 25"),
    ({"dobutamine": 22}, "dobutamine 22"),
    ({"bilirubin": 700, "bilirubin_unit": "umol/L"}, "bilirubin 700"),
    ({"creatinine": 1600, "creatinine_unit": "umol/L"}, "creatinine 1600"),
    ({"creatinine": 10, "creatinine_unit": "umol/L"}, "creatinine 10"),
    ({"urine_output": 12000}, "urine output 12000"),
    ({"pao2": 5, "pao2_unit": "kPa", "fio2": 100}, "PaO2/FiO2 37.5"),
    ({"pao2": 400, "pao2_unit": "mmHg", "fio2": 0.5, "fio2_unit": "fraction"}, "PaO2/FiO2 800"),
]


@pytest.mark.parametrize(("over", "text"), SOFT, ids=[s[1] for s in SOFT])
def test_soft_limits_accept_with_warning_and_flag(participant, api_for, over, text):
    r = post(api_for("nurse_hgh"), participant, **over)
    assert r.status_code == 201, r.content
    assert any(text in w for w in r.json()["warnings"]), r.json()["warnings"]
    assert r.json()["needs_review"] is True


def test_edit_needs_a_reason_and_is_audited(participant, api_for):
    c = api_for("nurse_hgh")
    assert post(c, participant).status_code == 201
    changed = whole_daily(platelets=40)
    r = c.put(URL.format(participant.number) + "/1", changed, content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "reason"
    assert DailyRecord.objects.get().platelets == 90
    r = c.put(URL.format(participant.number) + "/1", {**changed, "reason": "transcription error"},
              content_type="application/json")
    assert r.status_code == 200 and r.json()["platelets"] == 40 and r.json()["sofa"]["coagulation"] == 3
    event = AuditEvent.objects.filter(object_type="records.dailyrecord", action="update").get()
    assert event.reason == "transcription error" and "platelets" in event.changes
    # the same values again: nothing changes, no reason asked
    assert c.put(URL.format(participant.number) + "/1", changed, content_type="application/json").status_code == 200


def test_duplicate_day_is_refused(participant, api_for):
    c = api_for("nurse_hgh")
    assert post(c, participant).status_code == 201
    r = post(c, participant)
    assert r.status_code == 409 and "already has a daily record" in r.json()["detail"]


@pytest.mark.parametrize("persona", ["nurse_rh"])
def test_other_sites_user_gets_404(participant, api_for, client_for, persona):
    assert post(api_for(persona), participant).status_code == 404
    assert client_for(persona).get(f"/participants/{participant.number}/daily/new/").status_code == 404
    assert client_for(persona).get(f"/participants/{participant.number}/records/").status_code == 404


@pytest.mark.parametrize("persona", ["monitor", "data_manager"])
def test_read_only_roles_cannot_enter(participant, api_for, persona):
    assert post(api_for(persona), participant).status_code == 403
    assert api_for(persona).get(URL.format(participant.number)).status_code == 200


def test_no_daily_record_after_death(participant, trial, api_for):
    nurse = trial["nurse_hgh"]
    services.create_daily_record(user=nurse, participant=participant, study_day=1, values=SOFA_DAY)
    services.record_death(user=nurse, participant=participant,
                          died_at=participant.randomised_at + dt.timedelta(hours=30))
    r = post(api_for("nurse_hgh"), participant, day=3)
    assert r.status_code == 409 and "died" in r.json()["detail"]
    assert post(api_for("nurse_hgh"), participant, day=2).status_code == 201  # alive at the start of day 2


def test_no_daily_record_after_discharge_unless_readmitted(participant, trial, api_for):
    nurse = trial["nurse_hgh"]
    R = participant.randomised_at
    services.record_icu_discharge(user=nurse, participant=participant, discharged_at=R + dt.timedelta(hours=20))
    r = post(api_for("nurse_hgh"), participant, day=2)
    assert r.status_code == 409 and "not in the ICU" in r.json()["detail"]
    services.record_icu_readmission(user=nurse, participant=participant, admitted_at=R + dt.timedelta(hours=50))
    assert post(api_for("nurse_hgh"), participant, day=2).status_code == 409
    assert post(api_for("nurse_hgh"), participant, day=3).status_code == 201


def test_consent_stop_refuses_new_days_but_not_earlier_ones(participant, trial, api_for):
    nurse = trial["nurse_hgh"]
    stop = participant.randomised_at + dt.timedelta(hours=30)
    enrolment.record_consent(participant, user=nurse, kind="next_of_kin_refusal", occurred_at=stop,
                             consenter_name="Kin", use_data_collected=True, continue_vital_status_follow_up=True)
    r = post(api_for("nurse_hgh"), participant, day=3)
    assert r.status_code == 409 and "may not be collected" in r.json()["detail"]
    assert post(api_for("nurse_hgh"), participant, day=1).status_code == 201  # a day before the stop


def test_page_previews_then_saves(participant, client_for):
    c = client_for("nurse_hgh")
    form = {k: ("" if v is None else v) for k, v in SOFA_DAY.items()}
    form.update(study_day=1, respiratory_support="true", mechanical_ventilation="true", action="preview")
    r = c.post(f"/participants/{participant.number}/daily/new/", form)
    assert r.status_code == 200 and "Modified SOFA 11/20" in r.content.decode()
    assert not DailyRecord.objects.exists()
    form["action"] = "save"
    r = c.post(f"/participants/{participant.number}/daily/new/", form)
    assert r.status_code == 302 and DailyRecord.objects.get().sofa_modified == 11
    page = c.get(f"/participants/{participant.number}/records/").content.decode()
    assert 'id="mean-sofa">11.0' in page


def test_page_refusal_is_shown_on_the_field(participant, client_for):
    c = client_for("nurse_hgh")
    form = {k: ("" if v is None else v) for k, v in SOFA_DAY.items()}
    form.update(study_day=1, respiratory_support="true", mechanical_ventilation="true", platelets=2500, action="save")
    r = c.post(f"/participants/{participant.number}/daily/new/", form)
    assert r.status_code == 400
    assert 'data-field="platelets"' in r.content.decode() and "2000" in r.content.decode()


def test_page_edit_without_reason_is_refused(participant, trial, client_for):
    services.create_daily_record(user=trial["nurse_hgh"], participant=participant, study_day=1, values=SOFA_DAY)
    c = client_for("nurse_hgh")
    form = {k: ("" if v is None else v) for k, v in SOFA_DAY.items()}
    form.update(respiratory_support="true", mechanical_ventilation="true", platelets=40, action="save")
    r = c.post(f"/participants/{participant.number}/daily/1/", form)
    assert r.status_code == 400 and 'data-field="reason"' in r.content.decode()
    form["reason"] = "lab value corrected"
    assert c.post(f"/participants/{participant.number}/daily/1/", form).status_code == 302
    assert DailyRecord.objects.get().platelets == 40
