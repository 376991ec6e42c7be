"""FHIR R4 lab import, the pure part: mapping, units, refusals, retraction, study days, the worst of a day."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from shine.exchange import fhir_labs as fl

RECEIVED = dt.datetime(2026, 3, 29, 12, 0, tzinfo=dt.UTC)
UTC = dt.UTC


def obs(rid, code, value, unit, at="2026-03-10T08:00:00+01:00", *, system=fl.LOINC, status="final", version="1"):
    return {"resourceType": "Observation", "id": rid, "meta": {"versionId": version}, "status": status,
            "code": {"coding": [{"system": system, "code": code}]}, "effectiveDateTime": at,
            "valueQuantity": {"value": value, "unit": unit, "system": fl.UCUM, "code": unit}}


def bundle(*observations):
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}] + [{"resource": o} for o in observations]}


def parse(*observations, **kw):
    return fl.parse_bundle(bundle(*observations), source_system="lab.rh.example", received_at=RECEIVED, **kw)


@pytest.mark.parametrize(("system", "code", "value", "unit", "input_", "expected"), [
    (fl.LOINC, "2703-7", 80.0, "mm[Hg]", "pao2", 80.0),
    (fl.LOINC, "2703-7", 10.0, "kPa", "pao2", 75.0062),             # 1 kPa = 7.50062 mmHg
    (fl.LOINC, "3150-0", 40.0, "%", "fio2", 0.40),
    (fl.LOINC, "777-3", 150.0, "10*9/L", "platelets", 150.0),
    (fl.LOINC, "777-3", 99.0, "10*3/uL", "platelets", 99.0),
    (fl.LOINC, "1975-2", 2.0, "mg/dL", "bilirubin", 34.2),          # 17.1 µmol/L per mg/dL
    (fl.LOINC, "14631-6", 33.0, "umol/L", "bilirubin", 33.0),
    (fl.LOINC, "2160-0", 2.0, "mg/dL", "creatinine", 176.8),        # 88.4 µmol/L per mg/dL
    (fl.LOINC, "14682-9", 171.0, "umol/L", "creatinine", 171.0),
    (fl.NPU, "NPU18016", 300.0, "umol/L", "creatinine", 300.0),
    (fl.NPU, "NPU04998", 110.0, "umol/L", "creatinine", 110.0),
    (fl.LOINC, "2524-7", 4.1, "mmol/L", "lactate", 4.1),
    (fl.LOINC, "32693-4", 2.0, "mmol/L", "lactate", 2.0),
    (fl.LOINC, "8478-0", 64.0, "mm[Hg]", "map_mmhg", 64.0),
    (fl.LOINC, "9187-6", 0.25, "L", "urine_output", 250.0),
])
def test_each_mapping_row_reads_and_converts(system, code, value, unit, input_, expected):
    [v] = parse(obs("o1", code, value, unit, system=system))
    assert v.input == input_
    assert v.value == pytest.approx(expected, rel=1e-9)
    assert (v.value_entered, v.unit_entered, v.code_system, v.code) == (value, unit, system, code)
    assert (v.source_system, v.resource_id, v.version, v.received_at) == ("lab.rh.example", "o1", "1", RECEIVED)
    assert v.mapping_version == fl.MAPPING_VERSION


def test_every_row_of_the_table_is_tested_above():
    tested = {"2703-7", "3150-0", "777-3", "1975-2", "14631-6", "2160-0", "14682-9", "NPU18016", "NPU04998",
              "2524-7", "32693-4", "8478-0", "9187-6"}
    assert {code for _, code in fl.MAPPING} == tested


def test_an_unknown_code_is_refused_naming_code_and_system():
    with pytest.raises(fl.LabRefused, match=r"code '2345-7' of system 'http://loinc.org' is not in the mapping"):
        parse(obs("g1", "2345-7", 5.0, "mmol/L"))


def test_an_unknown_unit_is_refused_naming_unit_code_and_system():
    with pytest.raises(fl.LabRefused) as exc:
        parse(obs("c1", "2160-0", 2.0, "mmol/L"))
    assert "unit 'mmol/L'" in str(exc.value) and "'2160-0'" in str(exc.value) and "http://loinc.org" in str(exc.value)
    assert "Observation c1" in str(exc.value)


def test_one_bad_observation_refuses_the_whole_bundle_listing_each_problem():
    with pytest.raises(fl.LabRefused) as exc:
        parse(obs("ok", "777-3", 150.0, "10*9/L"), obs("bad1", "0000-0", 1.0, "mL"), obs("bad2", "777-3", 1.0, "g"))
    assert "Observation bad1" in str(exc.value) and "Observation bad2" in str(exc.value)
    assert "Observation ok" not in str(exc.value)


def test_out_of_range_values_are_refused_by_units_py():
    with pytest.raises(fl.LabRefused, match="fio2 must lie between 0.21 and 1.0"):
        parse(obs("f", "3150-0", 10.0, "%"))
    with pytest.raises(fl.LabRefused, match="platelets must be 0 or more"):
        parse(obs("p", "777-3", -1.0, "10*9/L"))
    with pytest.raises(fl.LabRefused, match="must be a number"):
        parse(obs("p", "777-3", "many", "10*9/L"))


def test_the_source_system_is_the_observations_or_the_bundles_meta_source():
    o = obs("s", "777-3", 150.0, "10*9/L")
    b = bundle(o) | {"meta": {"source": "urn:lab:bundle"}}
    assert fl.parse_bundle(b, received_at=RECEIVED)[0].source_system == "urn:lab:bundle"
    o["meta"]["source"] = "urn:lab:obs"
    assert fl.parse_bundle(b, received_at=RECEIVED, source_system="x")[0].source_system == "urn:lab:obs"
    with pytest.raises(fl.LabRefused, match="source system is not named"):
        fl.parse_bundle(bundle(obs("s", "777-3", 150.0, "10*9/L")), received_at=RECEIVED)


def test_not_a_bundle_and_not_json_are_refused():
    with pytest.raises(fl.LabRefused, match="Bundle"):
        fl.parse_bundle({"resourceType": "Observation"}, source_system="x", received_at=RECEIVED)
    with pytest.raises(fl.LabRefused, match="not JSON"):
        fl.parse_bundle("{", source_system="x", received_at=RECEIVED)
    assert fl.parse_bundle(json.dumps(bundle()), source_system="x", received_at=RECEIVED) == []


def test_entered_in_error_retracts_the_earlier_version():
    first = parse(obs("pl", "777-3", 40.0, "10*9/L", version="1"))
    retraction = parse(obs("pl", "777-3", 40.0, "10*9/L", version="2", status="entered-in-error"))
    assert retraction[0].retracts and retraction[0].value is None
    assert fl.current(first) == first
    assert fl.current(first + retraction) == []
    # a later correction (version 3) counts again
    corrected = parse(obs("pl", "777-3", 140.0, "10*9/L", version="3", status="corrected"))
    assert [v.value for v in fl.current(first + retraction + corrected)] == [140.0]


def test_a_re_import_of_the_same_version_changes_nothing():
    once = parse(obs("a", "777-3", 90.0, "10*9/L"))
    assert fl.current(once + once) == once


def test_a_site_mapping_adds_npu_rows_and_names_its_version(tmp_path):
    path = tmp_path / "rh.json"
    path.write_text(json.dumps({"version": "RH-2026-1", "rows": [
        {"system": fl.NPU, "code": "NPU99999", "input": "platelets", "source": "the hospital's lab handbook"}]}))
    mapping = fl.load_site_mapping(path)
    [v] = parse(obs("n", "NPU99999", 50.0, "10*9/L", system=fl.NPU), mapping=mapping)
    assert (v.input, v.mapping_version) == ("platelets", "shine-labs-1+RH-2026-1")
    path.write_text(json.dumps({"version": "x", "rows": [{"system": fl.NPU, "code": "N", "input": "gcs",
                                                          "source": "s"}]}))
    with pytest.raises(fl.LabRefused, match="input must be one of"):
        fl.load_site_mapping(path)
    path.write_text(json.dumps({"rows": []}))
    with pytest.raises(fl.LabRefused, match="a version is needed"):
        fl.load_site_mapping(path)


# Randomised 2026-03-28 23:30 Copenhagen (22:30 UTC, winter time); clocks go forward 2026-03-29 02:00 → 03:00.
R = dt.datetime(2026, 3, 28, 22, 30, tzinfo=UTC)


@pytest.mark.parametrize(("at", "day"), [
    ("2026-03-28T23:29:00+01:00", 0),    # before randomisation
    ("2026-03-28T23:30:00+01:00", 1),    # the randomisation instant opens day 1
    ("2026-03-29T00:10:00+01:00", 1),    # past Copenhagen midnight: still day 1 (days run from randomisation)
    ("2026-03-30T00:29:00+02:00", 1),    # 22:29 UTC: 23 h 59 min later, the wall clock already says 00:29
    ("2026-03-30T00:30:00+02:00", 2),    # 24 h after randomisation, summer time
    ("2026-03-29T22:30:00Z", 2),
])
def test_study_day_across_copenhagen_midnight_and_the_spring_clock_change(at, day):
    assert fl.study_day(R, fl.effective_time(at)) == day


def test_times_without_offset_are_read_in_copenhagen_and_the_clock_change_hours_refused():
    assert fl.effective_time("2026-01-15T08:00:00") == dt.datetime(2026, 1, 15, 7, 0, tzinfo=UTC)
    assert fl.effective_time("2026-07-15T08:00:00") == dt.datetime(2026, 7, 15, 6, 0, tzinfo=UTC)
    with pytest.raises(fl.LabRefused, match="does not exist in Europe/Copenhagen"):
        fl.effective_time("2026-03-29T02:30:00")
    with pytest.raises(fl.LabRefused, match="ambiguous in Europe/Copenhagen"):
        fl.effective_time("2026-10-25T02:30:00")
    with pytest.raises(fl.LabRefused, match="effectiveDateTime"):
        fl.effective_time("yesterday")


def test_the_worst_of_a_day_as_sofa_scores_it():
    values = parse(
        obs("f1", "3150-0", 30.0, "%", at="2026-03-10T06:00:00+01:00"),
        obs("p1", "2703-7", 12.0, "kPa", at="2026-03-10T07:00:00+01:00"),   # 90.0 / 0.30 = 300.0
        obs("f2", "3150-0", 60.0, "%", at="2026-03-10T12:00:00+01:00"),
        obs("p2", "2703-7", 100.0, "mm[Hg]", at="2026-03-10T13:00:00+01:00"),  # 100 / 0.6 = 166.7: worst
        obs("p3", "2703-7", 70.0, "mm[Hg]", at="2026-03-10T05:00:00+01:00"),   # no FiO2 before it: not paired
        obs("t1", "777-3", 150.0, "10*9/L"), obs("t2", "777-3", 99.0, "10*9/L"),
        obs("b1", "1975-2", 1.2, "mg/dL"), obs("b2", "14631-6", 33.0, "umol/L"),
        obs("c1", "2160-0", 2.0, "mg/dL"), obs("c2", "14682-9", 170.0, "umol/L"),
        obs("l1", "2524-7", 4.0, "mmol/L"), obs("l2", "2524-7", 2.0, "mmol/L"),
        obs("m1", "8478-0", 70.0, "mm[Hg]"), obs("m2", "8478-0", 64.0, "mm[Hg]"),
        obs("u1", "9187-6", 150.0, "mL"), obs("u2", "9187-6", 0.3, "L"),
    )
    w = fl.worst_of_day(fl.current(values))
    assert (w["pao2"].value, w["fio2"].value) == (100.0, 0.6)
    assert w["pao2"].sources[0].resource_id == "p2" and w["fio2"].sources[0].resource_id == "f2"
    assert w["platelets"].value == 99.0
    assert w["bilirubin"].value == pytest.approx(33.0) and w["bilirubin"].sources[0].resource_id == "b2"
    assert w["creatinine"].value == pytest.approx(176.8)
    assert w["lactate"].value == 4.0 and w["map_mmhg"].value == 64.0
    assert w["urine_output"].value == pytest.approx(450.0)
    assert [s.resource_id for s in w["urine_output"].sources] == ["u1", "u2"]


def test_a_pao2_without_any_fio2_is_proposed_alone():
    w = fl.worst_of_day(parse(obs("p", "2703-7", 9.0, "kPa"), obs("q", "2703-7", 80.0, "mm[Hg]")))
    assert "fio2" not in w and w["pao2"].value == pytest.approx(67.50558)


# SOFA boundaries (clinical/sofa.py, "< x" leaves x itself in the milder band): P/F exactly 300 → 1, 200 → 2,
# 100 → 3 (with respiratory support); platelets exactly 150 → 0, 100 → 1, 50 → 2, 20 → 3. FiO2 50 % is exactly
# 0.5 in binary, so the ratios are exact.
@pytest.mark.parametrize(("pao2", "pf", "respiration"), [(150, 300.0, 1), (100, 200.0, 2), (50, 100.0, 3)])
@pytest.mark.parametrize(("platelets", "coagulation"), [(150, 0), (100, 1), (50, 2), (20, 3)])
def test_the_worst_of_a_day_scores_exactly_at_the_sofa_boundaries(pao2, pf, respiration, platelets, coagulation):
    from shine.clinical.sofa import sofa

    w = fl.worst_of_day(parse(obs("f", "3150-0", 50, "%", at="2026-03-10T06:00:00+01:00"),
                              obs("p", "2703-7", pao2, "mm[Hg]", at="2026-03-10T07:00:00+01:00"),
                              obs("p-better", "2703-7", pao2 + 40, "mm[Hg]", at="2026-03-10T09:00:00+01:00"),
                              obs("t", "777-3", platelets, "10*9/L"), obs("t-better", "777-3", 300, "10*9/L")))
    ratio = w["pao2"].value / w["fio2"].value
    assert ratio == pf
    score = sofa(pao2_fio2=ratio, respiratory_support=True, platelets=w["platelets"].value)
    assert (score.respiration, score.coagulation) == (respiration, coagulation)


@pytest.mark.parametrize("garbage", [
    {"resourceType": "Bundle", "entry": {"resource": 1}},
    {"resourceType": "Bundle", "entry": ["x", None, 3, {"resource": "x"}]},
    {"resourceType": "Bundle", "meta": "x", "entry": [{"resource": {"resourceType": "Observation", "id": "a",
                                                                    "meta": [], "code": "x"}}]},
    {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation", "id": "a" * 65}}]},
    {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation", "id": "a/b"}}]},
    {"resourceType": "Bundle", "entry": [{"resource": obs("a", "777-3", 1, "10*9/L") | {"valueQuantity": 5}}]},
    {"resourceType": "Bundle", "entry": [{"resource": obs("a", "777-3", 1, "10*9/L") | {"meta": {
        "versionId": "v 2"}}}]},
])
def test_malformed_bundles_are_refused_or_ignored_never_crash(garbage):
    try:
        values = fl.parse_bundle(garbage, source_system="x", received_at=RECEIVED)
    except fl.LabRefused as exc:
        assert str(exc)
    else:
        assert values == []
