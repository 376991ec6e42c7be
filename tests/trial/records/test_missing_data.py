"""Missing is said, never guessed: missing-data codes, tri-state yes/no, completeness, decimal commas, per-unit
plausibility, cross-field rules and PATCH/PUT corrections (issue 14's failing cases)."""

import json

import pytest

from shine.trial.audit.models import AuditEvent
from shine.trial.errors import Refused
from shine.trial.records import edit_checks as checks
from shine.trial.records import services
from shine.trial.records.models import DailyRecord

from .factories import SOFA_DAY, whole_daily

URL = "/api/v1/participants/{}/daily-records"
COMPLETE = {**SOFA_DAY, "vasopressor": True, "rrt": False, "codes": {"gcs": "not_done"}}


def page_form(**over) -> dict:
    form = {"study_day": 1, "pao2_unit": "kPa", "fio2_unit": "percent", "bilirubin_unit": "umol/L",
            "creatinine_unit": "umol/L", "action": "save"}
    return {**form, **over}


def test_a_blank_daily_form_saves_nothing(participant, client_for, api_for):
    r = client_for("nurse_hgh").post(f"/participants/{participant.number}/daily/new/", page_form())
    assert r.status_code == 400 and "nothing is entered" in r.content.decode()
    r = api_for("nurse_hgh").post(URL.format(participant.number), {"study_day": 1}, content_type="application/json")
    assert r.status_code == 400 and "nothing is entered" in r.json()["detail"]
    assert not DailyRecord.objects.exists()


def test_a_partial_record_is_incomplete_and_never_scores_zero(participant, trial, api_for, client_for):
    r = services.create_daily_record(user=trial["nurse_hgh"], participant=participant, study_day=1,
                                     values={"platelets": "40"})
    assert r.sofa_coagulation == 3 and r.sofa_modified is None and r.sofa_total is None
    assert r.respiratory_support is None and r.vasopressor is None and r.mechanical_ventilation is None
    assert r.norepinephrine is None  # unknown, not 0
    assert "bilirubin" in r.missing_input_list and not r.complete
    items = api_for("nurse_hgh").get(f"/api/v1/participants/{participant.number}/schedule").json()
    day1 = next(i for i in items if i["form"] == "daily" and i["study_day"] == 1)
    assert day1["status"] == "incomplete" and "bilirubin" in day1["why"] and "MAP" in day1["why"]
    work = api_for("nurse_hgh").get("/api/v1/records/worklist").json()
    assert any(w["status"] == "incomplete" and w["study_day"] == 1 for w in work)
    page = client_for("nurse_hgh").get("/worklist/").content.decode()
    assert f"/participants/{participant.number}/daily/1/" in page and "no value or code" in page


def test_codes_complete_a_record_and_unknown_is_not_no(participant, trial):
    values = {**SOFA_DAY, "respiratory_support": None, "mechanical_ventilation": None,
              "codes": {"respiratory_support": "unknown", "mechanical_ventilation": "unknown", "gcs": "not_done",
                        "rrt": "unknown", "vasopressor": "unknown"}}
    r = services.create_daily_record(user=trial["nurse_hgh"], participant=participant, study_day=1, values=values)
    # a noradrenaline dose says a vasopressor was given: its "unknown" gives way to yes
    assert r.vasopressor is True and "vasopressor" not in r.codes
    assert r.respiratory_support is None and r.mechanical_ventilation is None and r.rrt is None
    assert r.codes == {"gcs": "not_done", "mechanical_ventilation": "unknown", "respiratory_support": "unknown",
                       "rrt": "unknown"}
    assert r.complete
    # P/F 300 mmHg scores 1 with or without support: known; modified from five components
    assert r.sofa_respiration == 1 and r.sofa_modified is not None


def test_a_code_and_a_value_together_are_refused(participant, trial):
    with pytest.raises(Refused) as exc:
        services.create_daily_record(user=trial["nurse_hgh"], participant=participant, study_day=1,
                                     values={**SOFA_DAY, "codes": {"platelets": "not_done"}})
    assert exc.value.field == "codes.platelets" and "give one or the other" in str(exc.value)


@pytest.mark.parametrize(("typed", "expected"), [("1,4", 1.4), ("1.4", 1.4), (" 0,25 ", 0.25), (",5", 0.5),
                                                 ("1400", 1400.0), ("−2,5", -2.5)])
def test_decimal_comma_and_point_read_alike(typed, expected):
    assert checks.number("bilirubin", typed) == pytest.approx(expected)


@pytest.mark.parametrize("typed", ["1.4,5", "1,400.5", "1.400.000", "1,4,5"])
def test_two_separators_are_ambiguous(typed):
    with pytest.raises(Refused, match="ambiguous") as exc:
        checks.number("bilirubin", typed)
    assert exc.value.field == "bilirubin"


def test_bilirubin_typed_with_a_decimal_comma_scores_liver_1_not_4(participant, client_for):
    c = client_for("nurse_hgh")
    r = c.post(f"/participants/{participant.number}/daily/new/",
               page_form(bilirubin="1,4", bilirubin_unit="mg/dL", platelets="200", action="preview"))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="sofa-bilirubin">24<' in html  # 1.4 mg/dL = 23.9 µmol/L: liver 1 (14 mg/dL would score 4)
    assert "<dt>liver</dt><dd>1</dd>" in html
    r = c.post(f"/participants/{participant.number}/daily/new/", page_form(bilirubin="1,400.5"))
    assert r.status_code == 400 and "ambiguous" in r.content.decode() and 'href="#id_bilirubin"' in r.content.decode()


def test_a_value_usual_only_in_the_other_unit_asks_which_was_meant(participant, trial):
    r = services.create_daily_record(user=trial["nurse_hgh"], participant=participant, study_day=1,
                                     values={**COMPLETE, "pao2": 75, "pao2_unit": "kPa", "fio2": 100})
    assert "did you mean mmHg?" in r.warnings and r.needs_review
    assert services.preview({"bilirubin": "1,4", "bilirubin_unit": "umol/L"}).warnings[0].endswith(
        "did you mean mg/dL?")
    with pytest.raises(Refused, match="did you mean mg/dL") as exc:
        services.preview({"creatinine": 1.2, "creatinine_unit": "umol/L"})
    assert exc.value.field == "creatinine"


def test_a_dose_with_vasopressor_no_is_refused_in_the_service(participant, trial):
    with pytest.raises(Refused, match="vasopressor given must be yes") as exc:
        services.create_daily_record(user=trial["nurse_hgh"], participant=participant, study_day=1,
                                     values={**SOFA_DAY, "vasopressor": False})
    assert exc.value.field == "vasopressor"
    r = services.create_daily_record(user=trial["nurse_hgh"], participant=participant, study_day=1,
                                     values={**SOFA_DAY, "norepinephrine": None, "map_mmhg": 75,
                                             "vasopressor": False})
    assert r.norepinephrine == 0.0 and r.sofa_cardiovascular == 0  # "no" makes every dose a known 0


def test_patch_corrects_one_value_and_nothing_else(participant, trial, api_for):
    nurse = trial["nurse_hgh"]
    before = services.create_daily_record(user=nurse, participant=participant, study_day=1, values=COMPLETE)
    keep = {k: getattr(before, k) for k in ("pao2_fio2", "bilirubin", "creatinine", "map_mmhg", "norepinephrine",
                                            "urine_output", "respiratory_support", "mechanical_ventilation", "rrt",
                                            "vasopressor", "codes", "sofa_respiration", "sofa_liver",
                                            "sofa_cardiovascular", "sofa_renal")}
    c = api_for("nurse_hgh")
    r = c.patch(URL.format(participant.number) + "/1", {"platelets": 95}, content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "reason"
    r = c.patch(URL.format(participant.number) + "/1", {"platelets": 95, "reason": "lab corrected"},
                content_type="application/json")
    assert r.status_code == 200, r.content
    after = DailyRecord.objects.get()
    assert after.platelets == 95 and after.sofa_coagulation == 2
    assert {k: getattr(after, k) for k in keep} == keep
    assert after.sofa_modified == before.sofa_modified  # coagulation 2 before (90) and after (95)
    event = AuditEvent.objects.filter(object_type="records.dailyrecord", action="update").get()
    assert set(json.loads(event.changes)) == {"platelets"}  # the audit diff: that value only


def test_patch_that_changes_the_score_changes_only_its_component(participant, trial, api_for):
    before = services.create_daily_record(user=trial["nurse_hgh"], participant=participant, study_day=1,
                                          values=COMPLETE)
    r = api_for("nurse_hgh").patch(URL.format(participant.number) + "/1", {"platelets": 15, "reason": "typo"},
                                   content_type="application/json")
    assert r.status_code == 200 and r.json()["sofa"]["coagulation"] == 4
    assert r.json()["sofa_modified"] == before.sofa_modified + 2
    assert {k: r.json()["sofa"][k] for k in ("respiration", "liver", "cardiovascular", "renal")} == {
        "respiration": before.sofa_respiration, "liver": before.sofa_liver,
        "cardiovascular": before.sofa_cardiovascular, "renal": before.sofa_renal}


def test_put_must_name_every_field(participant, trial, api_for):
    services.create_daily_record(user=trial["nurse_hgh"], participant=participant, study_day=1, values=COMPLETE)
    c = api_for("nurse_hgh")
    r = c.put(URL.format(participant.number) + "/1", {"platelets": 95, "reason": "x"}, content_type="application/json")
    assert r.status_code == 400 and "missing:" in r.json()["detail"] and "bilirubin" in r.json()["detail"]
    assert DailyRecord.objects.get().platelets == 90
    r = c.put(URL.format(participant.number) + "/1", {**whole_daily(**COMPLETE), "platelets": 95, "reason": "x"},
              content_type="application/json")
    assert r.status_code == 200 and r.json()["platelets"] == 95


def test_patch_of_sample_follow_up_and_baseline_keeps_the_rest(participant, trial, api_for):
    from shine.trial.records.models import Baseline

    c = api_for("nurse_hgh")
    b = Baseline.objects.get(participant=participant)
    r = c.patch(f"/api/v1/participants/{participant.number}/baseline", {"platelets": 60, "reason": "lab corrected"},
                content_type="application/json")
    assert r.status_code == 200, r.content
    after = Baseline.objects.get(participant=participant)
    assert after.platelets == 60 and after.age == b.age and after.bilirubin == b.bilirubin
    assert after.sofa_liver == b.sofa_liver and after.sofa_coagulation == 2
    r = c.put(f"/api/v1/participants/{participant.number}/baseline", {"platelets": 60, "reason": "x"},
              content_type="application/json")
    assert r.status_code in (400, 422)


def test_a_comment_beside_a_value_is_stored_audited_and_shown_to_the_monitor(participant, trial, api_for, client_for):
    r = api_for("nurse_hgh").post(URL.format(participant.number), {
        **COMPLETE, "study_day": 1, "comments": {"pao2_fio2": "blood gas from 04:10, machine down"}},
        content_type="application/json")
    assert r.status_code == 201 and r.json()["comments"] == {"pao2_fio2": "blood gas from 04:10, machine down"}
    event = AuditEvent.objects.filter(object_type="records.dailyrecord", action="create").get()
    assert "machine down" in event.changes
    page = client_for("monitor").get(f"/participants/{participant.number}/records/").content.decode()
    assert "blood gas from 04:10, machine down" in page
