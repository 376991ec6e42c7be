"""The loader accepts a valid data set and refuses every broken rule of docs/data-model.md, listing all."""

import json

import pandas as pd
import pytest

from shine.analysis import dataset
from shine.analysis.dataset import DatasetError, load
from shine.analysis.schema import TABLES, to_csv_bytes, write_dataset
from tests.analysis import synthetic
from tests.analysis.conftest import edit_manifest, edit_table


def set_cell(row: int, column: str, value: str):
    def fn(frame):
        frame.loc[row, column] = value
        return frame
    return fn


def problems_of(path) -> list[dataset.Problem]:
    with pytest.raises(DatasetError) as info:
        load(path)
    return list(info.value.problems)


def test_valid_dataset_loads_with_types(small_dataset):
    data = load(small_dataset)
    p = data["participants"]
    assert len(p) == 40 and not data.blinded
    assert str(p["randomised_at"].dtype) == "datetime64[ns, UTC]"
    assert str(p["age"].dtype) == "Int64" and str(p["data_use_consent"].dtype) == "boolean"
    assert str(data["daily"]["platelets"].dtype) == "float64"
    assert data.data_cutoff is not None and len(data.sha256) == 64


def test_fingerprint_changes_with_any_byte(small_dataset, editable):
    edit_table(editable, "deaths", set_cell(0, "cause", "sepsis"))
    assert load(editable).sha256 != load(small_dataset).sha256


# (table, row, column, new text, words expected in the problem)
CELL_CASES = [
    ("participants", 0, "age", "17", "outside 18 to 110"),
    ("participants", 0, "age", "70.5", "not an integer"),
    ("participants", 0, "weight_kg", "heavy", "not a finite number"),
    ("participants", 0, "weight_kg", "inf", "not a finite number"),
    ("participants", 0, "weight_estimated", "yes", "not true/false"),
    ("participants", 0, "randomised_at", "2020-08-06 00:20:13", "not an ISO 8601 UTC time"),
    ("participants", 0, "randomised_at", "2020-02-30T00:00:00Z", "not an ISO 8601 UTC time"),
    ("participants", 0, "sex", "X", "is not one of F, M"),
    ("participants", 0, "site", "XYZ", "not a site of the protocol"),
    ("participants", 0, "arm", "active", "is not one of iloprost, placebo"),
    ("participants", 0, "site_of_infection", "", "required value is empty"),
    ("participants", 0, "baseline_sofa_modified", "3", "not the sum of the five non-CNS components"),
    ("participants", 0, "baseline_sofa_modified", "", "empty although all five non-CNS components are given"),
    ("participants", 0, "baseline_sofa_liver", "", "must be empty when a non-CNS baseline component is missing"),
    ("participants", 1, "randomisation_number", "5", "duplicate number 5"),
    ("participants", 1, "participant_id", "BBH-0001", "duplicate key BBH-0001"),
    ("daily", 0, "gcs", "2", "outside 3 to 15"),
    ("daily", 0, "norepinephrine", "6", "outside 0 to 5"),
    ("daily", 0, "participant_id", "ZZ-1", "is not in participants"),
    ("daily", 0, "study_day", "91", "outside 1 to 90"),
    ("daily", 0, "study_day", "80", "a day after the participant's death"),
    ("icu_stays", 0, "discharged_at", "2020-08-05T10:00:00Z", "must be after admitted_at"),
    ("icu_stays", 0, "discharged_at", "", "required when discharge is discharged"),
    ("icu_stays", 0, "stay", "2", "numbered 1, 2"),
    ("icu_stays", 0, "discharge", "died", "must be empty when discharge is died"),
    ("deaths", 0, "died_at", "2020-08-01T00:00:00Z", "must be after randomised_at"),
    ("infusion", 0, "stopped_at", "2020-08-06T01:00:00Z", "must be after started_at"),
    ("infusion", 0, "started_at", "2020-08-05T01:00:00Z", "must not be before randomised_at"),
    ("infusion", 0, "rate_ml_per_h", "-1", "outside 0 to 50"),
    ("infusion", 0, "stop_reason", "bored", "is not one of planned_end"),
    ("adverse_events", 0, "prespecified", "headache", "not a prespecified event of the protocol"),
    ("adverse_events", 0, "onset_at", "2019-01-01T00:00:00Z", "must not be before randomised_at"),
    ("followup", 0, "assessed_at", "2020-08-20T00:00:00Z", "outside the visit window"),
    ("followup", 0, "visit_day", "60", "not a follow-up day of the protocol"),
    ("followup", 0, "vital_status", "alive", "alive, but deaths records a death"),
    ("followup", 2, "vital_status", "dead", "dead, but deaths has no death"),
    ("followup", 2, "eq5d_vas", "101", "outside 0 to 100"),
    ("deviations", 0, "major", "", "required value is empty"),
    ("deviations", 0, "category", "bad", "is not one of eligibility"),
    ("screening", 0, "participant_id", "", "required when the outcome is randomised"),
]


@pytest.mark.parametrize("table, row, column, value, words", CELL_CASES,
                         ids=[f"{c[0]}.{c[2]}={c[3] or 'empty'}" for c in CELL_CASES])
def test_every_cell_rule_is_refused(editable, table, row, column, value, words):
    edit_table(editable, table, set_cell(row, column, value))
    found = [p for p in problems_of(editable) if p.table == table and words in p.rule]
    assert found, f"no problem with {words!r}"
    assert found[0].row is not None and found[0].row >= 1


def test_overlapping_infusion_segments(editable):
    def overlap(frame):
        first = frame.iloc[0].copy()
        first["segment"] = "2"
        first["started_at"] = "2020-08-06T10:00:00Z"
        first["stopped_at"] = "2020-08-06T12:00:00Z"
        return pd.concat([frame, first.to_frame().T], ignore_index=True)
    edit_table(editable, "infusion", overlap)
    assert any("overlaps the previous segment" in p.rule for p in problems_of(editable))


def test_readmission_before_discharge_and_death_row_missing(editable):
    def readmit(frame):
        extra = frame.iloc[0].copy()
        extra["stay"] = "2"
        extra["admitted_at"] = "2020-08-10T00:00:00Z"  # stay 1 ends 2020-08-11
        extra["discharged_at"] = "2020-08-12T00:00:00Z"
        return pd.concat([frame, extra.to_frame().T], ignore_index=True)
    edit_table(editable, "icu_stays", readmit)
    edit_table(editable, "deaths", lambda f: f.iloc[1:])
    rules = [p.rule for p in problems_of(editable)]
    assert any("readmission must start after" in r for r in rules)
    assert any("dead, but deaths has no death" in r for r in rules)


def test_daily_record_outside_icu(editable):
    def add_day(frame):
        extra = frame.iloc[0].copy()
        extra["study_day"] = "15"  # BBH-0001 left the ICU on day 6 and died on day 22
        return pd.concat([frame, extra.to_frame().T], ignore_index=True)
    edit_table(editable, "daily", add_day)
    assert any("not in the ICU" in p.rule for p in problems_of(editable))


def test_times_after_the_data_cutoff(editable):
    edit_manifest(editable, lambda m: m.update(data_cutoff="2020-06-01T00:00:00Z"))
    found = [p for p in problems_of(editable) if "after the data cut-off" in p.rule]
    assert {p.table for p in found} >= {"participants", "followup"}


def test_every_problem_is_listed_not_just_the_first(editable):
    edit_table(editable, "participants", set_cell(0, "age", "5"))
    edit_table(editable, "participants", set_cell(3, "sex", "Q"))
    edit_table(editable, "deaths", set_cell(0, "died_at", "yesterday"))
    edit_table(editable, "adverse_events", set_cell(0, "participant_id", "NOPE"))
    problems = problems_of(editable)
    keys = {(p.table, p.row, p.column) for p in problems}
    assert {("participants", 1, "age"), ("participants", 4, "sex"), ("deaths", 1, "died_at"),
            ("adverse_events", 1, "participant_id")} <= keys
    assert f"{len(problems)} problems in the analysis data set:" in str(DatasetError(problems))
    assert str(DatasetError(problems[:1])).startswith("1 problem in the analysis data set:")


def test_missing_and_extra_columns_and_tables(editable):
    edit_table(editable, "deaths", lambda f: f.drop(columns="cause").assign(extra="x"))
    (editable / "deviations.csv").unlink()
    problems = problems_of(editable)
    assert any(p.table == "deaths" and p.column == "cause" and p.rule == "column is missing" for p in problems)
    assert any(p.table == "deaths" and p.column == "extra" and p.rule == "unexpected column" for p in problems)
    assert any(p.table == "deviations" and "table is missing" in p.rule for p in problems)


@pytest.mark.parametrize("change, words", [
    (lambda m: m.update(schema_version=2), "must be 1"),
    (lambda m: m.update(blinded="no"), "must be true or false"),
    (lambda m: m.update(source="guess"), "must be export or simulation"),
    (lambda m: m.update(data_cutoff="tomorrow"), "must be empty or a time"),
    (lambda m: m["tables"]["deaths"].update(rows=999), "rows but the manifest says 999"),
    (lambda m: m["tables"]["deaths"].update(sha256="0" * 64), "does not match its SHA-256"),
    (lambda m: m["tables"].pop("deaths"), "does not list deaths"),
], ids=["schema_version", "blinded", "source", "data_cutoff", "rows", "sha256", "unlisted"])
def test_manifest_rules(editable, change, words):
    edit_manifest(editable, change)
    assert any(words in p.rule for p in problems_of(editable))


def test_manifest_missing_or_not_json(editable, tmp_path):
    (editable / "dataset.json").write_text("{not json")
    assert any("not valid JSON" in p.rule for p in problems_of(editable))
    (editable / "dataset.json").unlink()
    assert any(p.table == "dataset.json" and "missing" in p.rule for p in problems_of(editable))
    with pytest.raises(DatasetError, match="not a folder"):
        load(tmp_path / "nowhere")


def test_blinded_dataset_must_not_name_an_arm(tmp_path):
    path = synthetic.write(tmp_path / "blind", n=20, seed=2, blinded=True)
    data = load(path)
    assert data.blinded and set(data["participants"]["arm"]) <= {"A", "B"}
    edit_table(path, "deaths", set_cell(0, "cause", "reaction to Iloprost"))
    edit_table(path, "participants", set_cell(1, "arm", "placebo"))
    problems = problems_of(path)
    assert any(p.table == "deaths" and p.column == "cause" and "must not name an arm" in p.rule for p in problems)
    assert any(p.table == "participants" and "(the data set is blinded)" in p.rule for p in problems)


def test_parquet_copies_are_typed_and_load_like_the_csv(tmp_path):
    frames = synthetic.generate(15, seed=4)
    cutoff = frames.pop("_cutoff")
    path = write_dataset(frames, tmp_path / "pq", blinded=False, source="simulation", data_cutoff=cutoff)
    from_csv = load(path)
    raw = pd.read_parquet(path / "participants.parquet")
    assert str(raw["age"].dtype) == "Int64" and str(raw["randomised_at"].dtype).startswith("datetime64")
    assert str(raw["data_use_consent"].dtype) == "boolean"
    for name in TABLES:
        (path / f"{name}.csv").unlink(missing_ok=True)
    from_parquet = load(path)
    for name, frame in from_csv.tables.items():
        pd.testing.assert_frame_equal(frame, from_parquet[name], check_dtype=False)


def test_write_dataset_is_deterministic_and_refuses_bad_tables(tmp_path):
    frames = synthetic.generate(10, seed=5)
    cutoff = frames.pop("_cutoff")
    a = write_dataset(frames, tmp_path / "a", blinded=False, source="simulation", data_cutoff=cutoff)
    b = write_dataset({k: v.sample(frac=1, random_state=1) for k, v in frames.items()}, tmp_path / "b",
                      blinded=False, source="simulation", data_cutoff=cutoff)
    for name in list(frames) + ["dataset"]:
        suffix = ".json" if name == "dataset" else ".csv"
        assert (a / f"{name}{suffix}").read_bytes() == (b / f"{name}{suffix}").read_bytes()
    with pytest.raises(ValueError, match="unknown tables"):
        write_dataset({**frames, "extra": frames["deaths"]}, tmp_path / "c", blinded=False, source="simulation")
    with pytest.raises(ValueError, match="missing tables: deaths"):
        write_dataset({k: v for k, v in frames.items() if k != "deaths"}, tmp_path / "d", blinded=False,
                      source="simulation")
    with pytest.raises(ValueError, match="true or false"):
        to_csv_bytes(TABLES["deviations"], frames["deviations"].assign(major="maybe").head(1)
                     if len(frames["deviations"]) else pd.DataFrame([{"participant_id": "x", "deviation_id": "1",
                                                                     "category": "other", "major": "maybe",
                                                                     "description": ""}]))


def test_blind_recodes_without_revealing_the_key(small_dataset):
    data = load(small_dataset)
    coded = data.blind()
    assert coded.blinded and coded.recoded and coded.groups == ("A", "B")
    assert set(coded["participants"]["arm"]) == {"A", "B"}
    assert coded.blind() is coded
    # deterministic: the same data give the same coding
    again = load(small_dataset).blind()
    assert list(again["participants"]["arm"]) == list(coded["participants"]["arm"])
    # the coding is keyed: across secrets both codings occur
    codings = {tuple(data.blind(secret=bytes([i]))["participants"]["arm"]) for i in range(16)}
    assert len(codings) == 2
    # the fingerprint no longer depends on the allocation, and nothing names an arm
    assert coded.sha256 == dataset.masked_fingerprint(data) != data.sha256
    text = json.dumps(dict(coded.manifest), default=str).lower()
    assert "iloprost" not in text and "placebo" not in text



def test_parquet_only_data_set_is_checked_against_the_manifest_and_its_hashes_recorded(tmp_path):
    import hashlib

    from shine.analysis import report
    from shine.analysis.schema import to_typed_frame

    folder = synthetic.write(tmp_path / "pq", n=30, seed=12)
    for name in TABLES:
        csv = folder / f"{name}.csv"
        if csv.exists():
            to_typed_frame(TABLES[name], csv.read_bytes()).to_parquet(folder / f"{name}.parquet", index=False)
            csv.unlink()
    data = load(folder)
    assert set(data.files) == {"dataset.json", *(p.name for p in folder.glob("*.parquet"))}
    assert data.files["daily.parquet"] == hashlib.sha256((folder / "daily.parquet").read_bytes()).hexdigest()
    results = report.run(data, "itt").results
    assert results["input"]["tables"]["daily"] == {"file": "daily.parquet", "sha256": data.files["daily.parquet"],
                                                   "rows": data.manifest["tables"]["daily"]["rows"]}
    assert results["input"]["dataset_json_sha256"] == data.files["dataset.json"]

    # one edited daily value in the Parquet is refused, not analysed
    daily = pd.read_parquet(folder / "daily.parquet")
    daily.loc[0, "map_mmhg"] = 40.0 if daily.loc[0, "map_mmhg"] != 40.0 else 41.0
    daily.to_parquet(folder / "daily.parquet", index=False)
    with pytest.raises(DatasetError, match="daily.parquet does not match the SHA-256 of its table in the manifest"):
        load(folder)
