"""The analysis export: the data-set contract, streamed bytes equal write_dataset's, blinding, command, web."""

import datetime as dt
import io
import json
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from shine.analysis.dataset import load
from shine.analysis.schema import TABLES, write_dataset
from shine.demo.randomisation import setup_randomisation
from shine.trial.audit.models import AuditEvent
from shine.trial.monitoring import deviations
from shine.trial.records import services
from shine.trial.reports.analysis_dataset import write_export
from shine.trial.reports.exports import export_dataset
from tests.support import TEST_SITES
from tests.trial.records.factories import SOFA_DAY, baseline_values, randomised_ago

H = dt.timedelta(hours=1)


@pytest.fixture
def trial(users):
    setup_randomisation(pharmacist=users["pharmacist"], length_per_site=30, packs_per_arm_per_site=4,
                        sites=TEST_SITES)
    return users


@pytest.fixture
def course(trial):
    """Three participants at two sites with daily records, infusion, a discharge, a death, a deviation."""
    out = []
    for site, nurse in (("HGH", trial["nurse_hgh"]), ("RH", trial["nurse_rh"]), ("HGH", trial["nurse_hgh"])):
        p = randomised_ago(nurse, days=4, site=site)
        services.save_baseline(user=nurse, participant=p, values=baseline_values(p))
        R = p.randomised_at
        services.record_infusion_event(user=nurse, participant=p, kind="start", at=R + H, rate_ml_per_h=2.1)
        for day in (1, 2, 3):
            services.create_daily_record(user=nurse, participant=p, study_day=day,
                                         values={**SOFA_DAY, "platelets": 60 + 30 * day})
        out.append((p, nurse))
    p, nurse = out[0]
    services.record_infusion_event(user=nurse, participant=p, kind="stop", at=p.randomised_at + 10 * H,
                                   stop_reason="interrupted")
    services.record_icu_discharge(user=nurse, participant=p, discharged_at=p.randomised_at + 70 * H)
    deviations.record_deviation(user=nurse, participant=p, category="intervention", major=True,
                                description="placebo pack label torn")
    p2, nurse2 = out[1]
    services.record_death(user=nurse2, participant=p2, died_at=p2.randomised_at + 80 * H, cause="shock")
    return [p for p, _ in out]


def test_streamed_export_is_byte_identical_to_write_dataset_and_loads(course, tmp_path):
    arms = {p.number: ("iloprost" if i % 2 else "placebo") for i, p in enumerate(course)}
    result = write_export(tmp_path / "a", arms_for=lambda n: {k: arms[k] for k in n}, blinded=False, chunk=1)
    data = load(tmp_path / "a")
    assert result.rows["participants"] == 3 and result.rows["daily"] == 9 and result.rows["deaths"] == 1
    stays = data["icu_stays"].set_index("participant_id")["discharge"].to_dict()
    assert sorted(stays.values()) == ["died", "discharged", "in_icu"]
    assert data["infusion"]["segment"].tolist().count(2) == 0  # interrupted, not restarted
    # the same tables written whole by the schema's writer give the same bytes
    write_dataset(dict(data.tables), tmp_path / "b", blinded=False, source="export",
                  data_cutoff=result.data_cutoff, parquet=False)
    for name in TABLES:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes(), name
    assert (tmp_path / "a" / "dataset.json").read_bytes() == (tmp_path / "b" / "dataset.json").read_bytes()
    assert (tmp_path / "a" / "daily.parquet").exists()


def test_blinded_codes_match_the_analysis_blinding(course, trial, tmp_path, settings):
    settings.SHINE_BLINDING_KEY = "dsmb-secret"
    export_dataset(tmp_path / "blind", user=trial["statistician"], blinded=True)
    export_dataset(tmp_path / "open", user=trial["dsmb_statistician"], blinded=False)
    blind, open_ = load(tmp_path / "blind"), load(tmp_path / "open")
    assert set(blind["participants"]["arm"]) <= {"A", "B"}
    assert set(open_["participants"]["arm"]) <= {"iloprost", "placebo"}
    recoded = open_.blind(b"dsmb-secret")["participants"]
    assert recoded["arm"].tolist() == blind["participants"]["arm"].tolist()
    text = "".join(p.read_text() for p in (tmp_path / "blind").glob("*.csv")).lower()
    assert "placebo" not in text and "iloprost" not in text and "[trial drug] pack label torn" in text
    assert AuditEvent.objects.filter(action="export").count() == 2


def test_unblinded_export_needs_the_allocation_permission(course, trial, tmp_path):
    with pytest.raises(PermissionDenied, match="unblinded export needs a role that may see the allocation"):
        export_dataset(tmp_path, user=trial["statistician"], blinded=False)
    with pytest.raises(PermissionDenied, match="may not make this export"):
        export_dataset(tmp_path, user=trial["nurse_hgh"], blinded=True)


def test_command(course, trial, tmp_path, capsys):
    call_command("export", "analysis-dataset", "--out", str(tmp_path / "x"), "--blinded")
    assert "participants 3" in capsys.readouterr().out
    assert load(tmp_path / "x").blinded
    with pytest.raises(CommandError, match="needs --user"):
        call_command("export", "analysis-dataset", "--out", str(tmp_path / "y"))
    with pytest.raises(CommandError):
        call_command("export", "analysis-dataset", "--out", str(tmp_path / "y"), "--user", "nurse_hgh")
    call_command("export", "analysis-dataset", "--out", str(tmp_path / "z"), "--user", "pharmacist", "--no-parquet")
    assert not load(tmp_path / "z").blinded and not (tmp_path / "z" / "daily.parquet").exists()


def test_web_download_by_role(course, client_for):
    r = client_for("statistician").post("/exports/analysis-dataset.zip", {"blinded": "true"})
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    manifest = json.loads(z.read("shine-dataset/dataset.json"))
    assert manifest["blinded"] is True and manifest["tables"]["participants"]["rows"] == 3
    assert client_for("statistician").post("/exports/analysis-dataset.zip", {"blinded": "false"}).status_code == 403
    assert client_for("statistician").get("/exports/").status_code == 200
    assert client_for("nurse_hgh").get("/exports/").status_code == 403
    assert client_for("nurse_hgh").post("/exports/analysis-dataset.zip", {"blinded": "true"}).status_code == 403
    r = client_for("dsmb_statistician").post("/exports/analysis-dataset.zip", {"blinded": "false"})
    z = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    assert b"iloprost" in z.read("shine-dataset/participants.csv") or b"placebo" in z.read(
        "shine-dataset/participants.csv")


def test_participant_page_shows_outcomes_without_arm(course, client_for):
    p = course[2]
    page = client_for("nurse_hgh").get(f"/participants/{p.number}/records/").content.decode()
    assert 'id="mean-sofa">' in page and 'id="sofa-chart"' in page and "Days alive without" in page
    assert "iloprost" not in page.lower() and "placebo" not in page.lower()
    assert client_for("monitor").get(f"/participants/{p.number}/records/").status_code == 200


def _arms(folder) -> dict:
    return dict(zip(*(load(folder).tables["participants"][c] for c in ("participant_id", "arm")), strict=True))


def test_a_blinded_export_and_a_blinded_analysis_label_each_participant_alike(course, trial, tmp_path, settings):
    """`shine export --blinded` (the platform, Django settings) and `shine analyse --blinded` on an unblinded
    export (the pure core, shine.analysis.blinding_key) made separately give each participant the same A/B."""
    import os

    from shine.analysis import blinding_key
    from shine.analysis import cli as analyse

    unblinded = export_dataset(tmp_path / "u", user=trial["pharmacist"], blinded=False).path
    # the environment the platform started in (no SHINE_BLINDING_KEY in the tests: the demo's key file)
    assert settings.SHINE_BLINDING_KEY == blinding_key.secret(os.environ)
    blinded = export_dataset(tmp_path / "b", user=trial["statistician"], blinded=True).path
    assert _arms(blinded) == dict(analyse.blinded(load(unblinded), os.environ).tables["participants"]
                                  [["participant_id", "arm"]].itertuples(index=False))
    # and with the key in the environment, for keys that code the arms both ways
    codings = set()
    for k in range(6):
        key = f"{k}-a-blinding-key-of-thirty-two-characters"  # fixed keys: the same codings every run
        settings.SHINE_BLINDING_KEY = key
        platform = _arms(export_dataset(tmp_path / f"b{k}", user=trial["statistician"], blinded=True).path)
        recoded = analyse.blinded(load(unblinded), {"SHINE_BLINDING_KEY": key}).tables["participants"]
        assert platform == dict(recoded[["participant_id", "arm"]].itertuples(index=False))
        codings.add(tuple(sorted(platform.items())))
    assert len(codings) == 2  # the labels follow the key: agreement above is not by construction


def test_the_pure_core_reads_the_key_as_the_platform_does(tmp_path):
    from shine.analysis import blinding_key

    made = blinding_key.secret({}, folder=tmp_path, create=True)  # the platform's first start in the demo
    assert len(made) >= blinding_key.MIN_LENGTH and blinding_key.secret({"SHINE_VAR_DIR": str(tmp_path)}) == made
    assert blinding_key.secret({"SHINE_BLINDING_KEY": "k" * 40, "SHINE_VAR_DIR": str(tmp_path)}) == "k" * 40
    # production: the variable only, never a file
    assert blinding_key.secret({"SHINE_ENV": "production", "SHINE_VAR_DIR": str(tmp_path)}) is None
    assert blinding_key.secret({"SHINE_VAR_DIR": str(tmp_path / "none")}) is None


def test_a_missing_baseline_is_exported_missing_never_zero(trial, tmp_path):
    # no baseline record (the form refuses a baseline without every non-CNS component, so this is the one way
    # to miss it): every baseline score is empty in the CSV and null in the Parquet copy, never 0; the analysis
    # imputes the covariate by the protocol's rule (missing_data.baseline_covariate)
    import pyarrow.parquet as pq

    nurse = trial["nurse_hgh"]
    without = randomised_ago(nurse, days=2, site="HGH")
    whole = randomised_ago(nurse, days=2, site="HGH")
    services.save_baseline(user=nurse, participant=whole, values=baseline_values(whole))
    write_export(tmp_path / "x", arms_for=lambda n: dict.fromkeys(n, "placebo"), blinded=False)
    p = load(tmp_path / "x")["participants"].set_index("participant_id")
    assert p["baseline_sofa_modified"].isna().to_dict() == {without.number: True, whole.number: False}
    assert p.loc[without.number, [c for c in p.columns if c.startswith("baseline_sofa_")]].isna().all()
    assert p.at[whole.number, "baseline_sofa_modified"] > 0
    csv = (tmp_path / "x" / "participants.csv").read_text().splitlines()
    at = csv[0].split(",").index("baseline_sofa_modified")
    row = next(line for line in csv[1:] if line.startswith(without.number))
    assert row.split(",")[at] == ""
    table = pq.read_table(tmp_path / "x" / "participants.parquet")
    assert str(table.schema.field("baseline_sofa_modified").type) == "int64"
    assert table.column("baseline_sofa_modified").null_count == 1
