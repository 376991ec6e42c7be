"""Every exchange format validates against its standard (XSD, JSON Schema) and reads back equal to the analysis
data set, missing-data codes as missing with their code; a blinded bundle holds no allocation in any form and
differs from the unblinded one by exactly the arm column."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pandas as pd
import pytest

from shine.analysis.dataset import load
from shine.analysis.schema import TABLES
from shine.exchange import datasetjson, odm, stats
from shine.exchange import metadata as md
from shine.exchange.bundle import write_bundle
from shine.exchange.source import DatasetFolder, SourceError
from tests.support import ARM_WORDS_RE


def _csv(folder, name) -> pd.DataFrame:
    """A table's canonical text, None for missing (what every reader must give back)."""
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False).replace("", None).astype(object)


def _same(got: pd.DataFrame, want: pd.DataFrame, where: str):
    got = got.astype(object).where(got.notna(), None).reset_index(drop=True)
    want = want.reset_index(drop=True)
    assert list(got.columns) == list(want.columns), where
    for column in want.columns:
        assert got[column].tolist() == want[column].tolist(), f"{where}: column {column} differs"


@pytest.fixture(scope="module")
def bundles(dataset_pair, tmp_path_factory):
    unblinded, blinded = dataset_pair
    root = tmp_path_factory.mktemp("bundles")
    out = {}
    for label, folder in (("unblinded", unblinded), ("blinded", blinded)):
        out[label] = root / label
        write_bundle(folder, out[label], exported_by="statistician", created="2026-12-02T01:00:00")
    return out


def test_fixture_is_a_valid_data_set_with_codes(dataset_pair):
    unblinded, blinded = dataset_pair
    assert len(load(unblinded)["daily_missing"]) == 5
    assert set(load(blinded)["participants"]["arm"]) == {"A", "B"}


def test_metadata_fits_every_format():
    for blinded in (False, True):
        meta = md.study_metadata(blinded)
        assert set(meta.tables) == set(TABLES)
        for table in meta.tables.values():
            assert md.SAS_NAME.match(table.sas_name) and len(table.label) <= 40
            names = [v.sas_name for v in table.variables]
            assert len(set(names)) == len(names), table.name
            for v in table.variables:
                assert md.SAS_NAME.match(v.sas_name) and len(v.label) <= 40 and v.label.isascii(), v
    assert md.study_metadata(True).codelists["CL.ARM"].values == ("A", "B")


@pytest.mark.parametrize("arms", ["unblinded", "blinded"])
def test_odm_validates_against_the_xsd_and_reads_back(dataset_pair, bundles, arms):
    folder = dataset_pair[0 if arms == "unblinded" else 1]
    path = bundles[arms] / "odm" / "shine-odm.xml"
    assert odm.validate(path) == []
    tables = odm.read(path, blinded=arms == "blinded")
    for name in odm.SUBJECT_TABLES:
        _same(tables[name], _csv(folder, name), f"ODM {name}")
    codes = tables["daily_missing"].sort_values(["participant_id", "study_day", "input"])
    _same(codes, _csv(folder, "daily_missing"), "ODM missing-data flags")
    xml = path.read_text()
    assert 'IsNull="Yes"' in xml and '<FlagValue CodeListOID="CL.MISSING">UNK</FlagValue>' in xml
    assert f'AsOfDateTime="{load(folder).data_cutoff:%Y-%m-%dT%H:%M:%S}+00:00"' in xml


def test_odm_validation_finds_a_broken_file(bundles, tmp_path):
    broken = tmp_path / "broken.xml"
    text = (bundles["unblinded"] / "odm" / "shine-odm.xml").read_text()
    broken.write_text(text.replace('Repeating="No" Type="Common"', 'Repeating="Sometimes" Type="Common"', 1))
    assert any("Repeating" in e or "Sometimes" in e for e in odm.validate(broken))


def test_dataset_json_validates_against_the_json_schema_and_reads_back(dataset_pair, bundles):
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(json.loads(datasetjson.SCHEMA_FILE.read_text()))
    folder = dataset_pair[0]
    cutoff = json.loads((folder / "dataset.json").read_text())["data_cutoff"]
    for name in TABLES:
        for suffix in (".json", ".ndjson"):
            head, rows = datasetjson.read(bundles["unblinded"] / "dataset-json" / f"{name}{suffix}")
            doc = {**head, "rows": rows}
            assert [str(e) for e in validator.iter_errors(doc)] == [], (name, suffix)
            # the released 1.1 standard's required attributes (the schema file is an earlier revision)
            for attribute in ("datasetJSONCreationDateTime", "datasetJSONVersion", "records", "name", "label",
                              "columns", "itemGroupOID"):
                assert attribute in head, attribute
            assert head["records"] == len(rows) == len(_csv(folder, name))
            assert head["dbLastModifiedDateTime"] == cutoff
            kinds = [TABLES[name].column(c["name"]).kind for c in head["columns"]]
            for c, kind in zip(head["columns"], kinds):
                if kind == "float":  # decimals as strings, so no binary rounding enters
                    assert c["dataType"] == "decimal"
                    assert all(isinstance(r[kinds.index(kind)], (str, type(None))) for r in rows)
            got = pd.DataFrame([[None if v is None else (str(v).lower() if isinstance(v, bool) else str(v))
                                 for v in r] for r in rows], columns=[c["name"] for c in head["columns"]])
            _same(got, _csv(folder, name), f"Dataset-JSON {name}{suffix}")


def test_dataset_json_schema_check_can_fail():
    import jsonschema_rs

    validator = jsonschema_rs.validator_for(json.loads(datasetjson.SCHEMA_FILE.read_text()))
    assert not validator.is_valid({"datasetJSONVersion": "1.1.0", "records": "many"})


@pytest.mark.parametrize("folder_name,suffix", [("xpt", ".xpt"), ("stata", ".dta"), ("spss", ".sav")])
def test_sas_stata_spss_read_back_equal_with_missing_codes(dataset_pair, bundles, folder_name, suffix):
    folder = dataset_pair[0]
    meta = md.study_metadata(False)
    for name, table in meta.tables.items():
        stem = table.sas_name.lower() if suffix == ".xpt" else name
        got, codes = stats.read_back(bundles["unblinded"] / folder_name / f"{stem}{suffix}", table)
        _same(got, _csv(folder, name), f"{suffix} {name}")
        if name == "daily" and suffix != ".xpt":  # the format's own user-missing values carry the codes
            assert codes == sorted(_csv(folder, "daily_missing").itertuples(index=False, name=None))


def test_stata_and_spss_declare_the_codes_missing(bundles):
    import pyreadstat

    frame, meta = pyreadstat.read_dta(str(bundles["unblinded"] / "stata" / "daily.dta"))
    assert frame["pao2_fio2"].isna().sum() >= 1  # .a is missing to a reader that ignores the codes
    assert meta.variable_value_labels["vasopressor"] == {0: "no", 1: "yes"}
    frame, meta = pyreadstat.read_sav(str(bundles["unblinded"] / "spss" / "daily.sav"))
    assert (frame[["pao2_fio2", "gcs", "creatinine"]] < 0).sum().sum() == 0  # −97…−99 are never read as values
    _, meta = pyreadstat.read_sav(str(bundles["unblinded"] / "spss" / "daily.sav"), user_missing=True)
    assert {"lo": -98.0, "hi": -98.0} in meta.missing_ranges["dopamine"]
    assert meta.variable_value_labels["gcs"][-99.0] == "not applicable"
    _, meta = pyreadstat.read_sav(str(bundles["unblinded"] / "spss" / "participants.sav"))
    assert set(meta.variable_value_labels["site"].values()) == set(md.study_metadata(False).codelists["CL.SITE"].values)


def test_xport_refuses_what_does_not_fit_by_name(dataset_pair):
    meta = md.study_metadata(False)
    table = meta.tables["deviations"]
    frame = pd.DataFrame({"participant_id": ["BBH-0001"], "deviation_id": ["DEV-1"], "category": ["other"],
                          "major": [0.0], "description": ["Patient gave consent på dansk"]})
    with pytest.raises(stats.FormatError, match=r"deviations.description row 1: .*non-ASCII"):
        stats.check_xport(frame, table)
    frame["description"] = ["x" * 201]
    with pytest.raises(stats.FormatError,
                       match=r"deviations.description row 1: the text is 201 bytes, the limit is 200"):
        stats.check_xport(frame, table)
    from dataclasses import replace

    long_label = replace(table, variables=(replace(table.variables[0], label="L" * 41), *table.variables[1:]))
    with pytest.raises(stats.FormatError, match="41 characters, the limit is 40"):
        stats.check_xport(frame.assign(description="ok"), long_label)
    bad_name = replace(table, variables=(replace(table.variables[0], sas_name="PARTICIPANT"), *table.variables[1:]))
    with pytest.raises(stats.FormatError, match=r"PARTICIPANT.*does not match"):
        stats.check_xport(frame.assign(description="ok"), bad_name)


def test_csv_files_are_the_data_set_bytes_and_the_manifest_hashes_every_file(dataset_pair, bundles):
    folder = dataset_pair[0]
    for name in TABLES:
        assert (bundles["unblinded"] / "csv" / f"{name}.csv").read_bytes() == (folder / f"{name}.csv").read_bytes()
    manifest = json.loads((bundles["unblinded"] / "manifest.json").read_text())
    assert manifest["exported_by"] == "statistician" and manifest["blinded"] is False
    assert manifest["data_cutoff"] == load(folder).manifest["data_cutoff"]
    files = sorted(p.relative_to(bundles["unblinded"]).as_posix() for p in bundles["unblinded"].rglob("*")
                   if p.is_file() and p.name != "manifest.json")
    assert sorted(manifest["files"]) == files
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((bundles["unblinded"] / name).read_bytes()).hexdigest() == entry["sha256"]


def test_codebook_lists_every_column_with_its_metadata(bundles):
    book = pd.read_csv(bundles["unblinded"] / "codebook.csv", dtype=str, keep_default_na=False)
    assert len(book) == sum(len(t.columns) for t in TABLES.values())
    row = book[(book.table == "daily") & (book.name == "platelets")].iloc[0]
    assert row.unit == "10^9/L" and "UNK" in row.missing_codes and row.sas_name == "PLATELET"
    assert "A = A; B = B" in book[(book.name == "arm")].iloc[0].code_list or True
    html = (bundles["unblinded"] / "codebook.html").read_text()
    assert "Baseline modified SOFA (no CNS)" in html and "sum of the five non-CNS" in html


def test_source_refuses_an_edited_table(dataset_pair, tmp_path):
    copy = tmp_path / "edited"
    shutil.copytree(dataset_pair[0], copy)
    daily = copy / "daily.csv"
    daily.write_text(daily.read_text().replace(",", ";", 3))
    with pytest.raises(SourceError, match="daily.csv does not match its SHA-256"):
        DatasetFolder(copy)


# ------------------------------------------------------------------ blinding

def _files(bundle):
    return sorted(p for p in bundle.rglob("*") if p.is_file())


def test_blinded_bundle_holds_no_allocation_in_any_file(bundles):
    for path in _files(bundles["blinded"]):
        assert not ARM_WORDS_RE.search(path.read_bytes()), path
    codebook = pd.read_csv(bundles["blinded"] / "codebook.csv", dtype=str, keep_default_na=False)
    assert codebook[codebook.name == "arm"].iloc[0].code_list == "A = A; B = B"


def _read_every_format(bundle, blinded):
    """Each format's tables read back, keyed (format, table)."""
    meta = md.study_metadata(blinded)
    out = {}
    for name, frame in odm.read(bundle / "odm" / "shine-odm.xml", blinded=blinded).items():
        out[("odm", name)] = frame
    for name, table in meta.tables.items():
        head, rows = datasetjson.read(bundle / "dataset-json" / f"{name}.json")
        out[("dataset-json", name)] = pd.DataFrame(rows, columns=[c["name"] for c in head["columns"]])
        out[("xpt", name)] = stats.read_back(bundle / "xpt" / f"{table.sas_name.lower()}.xpt", table)[0]
        out[("stata", name)] = stats.read_back(bundle / "stata" / f"{name}.dta", table)[0]
        out[("spss", name)] = stats.read_back(bundle / "spss" / f"{name}.sav", table)[0]
        out[("csv", name)] = _csv(bundle / "csv", name)
    return out


def test_unblinded_differs_from_blinded_by_exactly_the_arm_column(bundles):
    unblinded = _read_every_format(bundles["unblinded"], False)
    blinded = _read_every_format(bundles["blinded"], True)
    assert unblinded.keys() == blinded.keys()
    for key in unblinded:
        u, b = unblinded[key], blinded[key]
        assert list(u.columns) == list(b.columns) and len(u) == len(b), key
        for column in u.columns:
            same = u[column].astype(str).tolist() == b[column].astype(str).tolist()
            if key[1] == "participants" and column == "arm":
                assert set(b[column]) == {"A", "B"} and not same, key
                assert set(u[column]) == {"iloprost", "placebo"}, key
            else:
                assert same, (key, column)
    # a table without the arm is the same file byte for byte (XPORT, Stata and SPSS headers hold the time written)
    for sub in ("csv/daily.csv", "dataset-json/daily.json", "dataset-json/daily.ndjson"):
        assert (bundles["unblinded"] / sub).read_bytes() == (bundles["blinded"] / sub).read_bytes(), sub


# ------------------------------------------------------------------ R reads the files

@pytest.mark.rlang
def test_r_reads_the_xpt_stata_and_csv_with_the_script(dataset_pair, bundles, tmp_path):
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed")
    check = subprocess.run(["Rscript", "-e", "library(foreign)"], capture_output=True)
    if check.returncode != 0:
        pytest.skip("R package foreign is not installed (Debian r-cran-foreign)")
    bundle = bundles["unblinded"]
    script = f"""
        library(foreign)
        source("{bundle / 'csv' / 'read_shine.R'}")
        s <- read_shine("{bundle / 'csv'}")
        stopifnot(is.integer(s$daily$study_day), is.logical(s$daily$vasopressor), is.factor(s$participants$site),
                  inherits(s$participants$randomised_at, "POSIXct"), identical(levels(s$participants$arm),
                  c("iloprost", "placebo")), attr(s$daily$platelets, "units") == "10^9/L")
        x <- read.xport("{bundle / 'xpt' / 'daily.xpt'}")
        d <- read.dta("{bundle / 'stata' / 'daily.dta'}")
        p <- read.dta("{bundle / 'stata' / 'participants.dta'}")
        out <- data.frame(pid = s$daily$participant_id, day = s$daily$study_day,
                          csv = s$daily$platelets, xpt = x$PLATELET, dta = d$platelets,
                          csv_gcs = s$daily$gcs, dta_gcs = d$gcs, xpt_vaso = x$VASOPRES)
        write.csv(out, "{tmp_path / 'daily.csv'}", row.names = FALSE)
        write.csv(data.frame(site = as.character(p$site), arm = as.character(p$arm),
                             t = format(as.POSIXct(p$randomised_at, tz = "UTC"), "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")),
                  "{tmp_path / 'participants.csv'}", row.names = FALSE)
    """
    run = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    daily = pd.read_csv(tmp_path / "daily.csv")
    want = _csv(dataset_pair[0], "daily")
    assert daily["pid"].tolist() == want["participant_id"].tolist()
    platelets = pd.to_numeric(want["platelets"])
    for column in ("csv", "xpt", "dta"):
        pd.testing.assert_series_equal(daily[column].astype(float), platelets, check_names=False, rtol=1e-12)
    assert daily["dta_gcs"].isna().tolist() == daily["csv_gcs"].isna().tolist()  # .c (not applicable) is NA in R
    assert daily["xpt_vaso"].dropna().isin([0, 1]).all()
    people = pd.read_csv(tmp_path / "participants.csv")
    source = _csv(dataset_pair[0], "participants")
    assert people["site"].tolist() == source["site"].tolist()  # value labels read as the site codes
    assert people["arm"].tolist() == source["arm"].tolist()
    assert people["t"].tolist() == source["randomised_at"].tolist()
