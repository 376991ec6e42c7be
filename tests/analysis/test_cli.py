"""``shine analyse``: the report folder, reproducibility, blinding, refusals."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shine.analysis import cli
from shine.analysis.dataset import load
from tests.analysis import synthetic
from tests.analysis.conftest import edit_table

SHINE = Path(sys.executable).with_name("shine")
FILES = {"results.json", "report.html", "forest.png", "kaplan_meier.png", "daily_sofa.png", "outcomes.csv",
         "table1.csv", "consort.csv", "data_quality.csv", "imputation_gaps.csv", "daily_sofa_by_day.csv",
         "kaplan_meier.csv", "missing_data.json"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return synthetic.write(tmp_path_factory.mktemp("cli"), n=60, seed=3)


@pytest.fixture(scope="module")
def report_dir(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert cli.main([str(data_dir), "--out", str(out)]) == 0
    return out


def test_report_folder(report_dir, data_dir):
    assert {p.name for p in report_dir.iterdir()} == FILES
    results = json.loads((report_dir / "results.json").read_text())
    assert results["input"]["sha256"] == load(data_dir).sha256
    assert results["population"] == "per_protocol" and results["groups"] == ["iloprost", "placebo"]
    for key in ("difference", "ci_low", "ci_high", "p_value", "method", "n_per_arm"):
        assert key in results["primary"]
    assert set(results["mortality"]) == {"28", "90"}
    # the estimand beside each result; safety in the safety population
    assert results["primary"]["estimand"]["population"] == "per_protocol"
    assert results["mortality"]["28"]["estimand"]["intercurrent_events"][0]["strategy"] == "composite"
    assert results["safety"]["sae"]["population"] == "safety" == results["populations"]["safety"]
    assert set(results["estimands"]) == {"primary", "mortality", "survival", "days_without_support", "safety"}
    html = (report_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "<img src='http" not in html
    # 5 analyses of the plan and 4 sensitivity analyses, each with its estimand
    assert html.count("<div class='estimand'>") == 9 and "while alive" in html
    sa = results["sensitivity_analyses"]
    assert set(sa) == {"death_as_worst", "win_ratio", "bayesian", "tipping_point", "multiplicity"}
    assert set(sa["bayesian"]["priors"]) == {"sceptical", "neutral", "enthusiastic"}
    assert sa["win_ratio"]["estimand"]["intercurrent_events"][0]["strategy"] == "composite"
    assert sa["multiplicity"]["statement"].startswith("Secondary outcomes are exploratory") and \
        sa["multiplicity"]["statement"] in html
    assert results["input"]["sha256"] in html
    assert (report_dir / "forest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerun_is_byte_identical(report_dir, data_dir, tmp_path):
    assert cli.main([str(data_dir), "--out", str(tmp_path)]) == 0
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (report_dir / name).read_bytes(), name


def _all_output_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in folder.iterdir()).lower()


def test_blinded_report_of_unblinded_data_names_no_arm(data_dir, tmp_path, capsys):
    assert cli.main([str(data_dir), "--blinded", "--population", "itt", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["groups"] == ["A", "B"] and results["blinded"] is True
    assert results["input"]["fingerprint"] == "arm-masked" and results["input"]["tables"] == {}
    text = _all_output_text(tmp_path) + capsys.readouterr().out.lower()
    assert "iloprost" not in text and "placebo" not in text
    assert "by coded group" in (tmp_path / "report.html").read_text()


def test_blinded_dataset(tmp_path):
    data = synthetic.write(tmp_path / "data", n=40, seed=4, blinded=True)
    assert cli.main([str(data), "--out", str(tmp_path / "out")]) == 0
    text = _all_output_text(tmp_path / "out")
    assert "iloprost" not in text and "placebo" not in text
    assert json.loads((tmp_path / "out" / "results.json").read_text())["groups"] == ["A", "B"]


def test_broken_dataset_is_refused_with_its_problems(data_dir, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(data_dir, broken)
    edit_table(broken, "participants", lambda f: f.assign(age="7"))
    assert cli.main([str(broken), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "is not a valid analysis data set" in err and "age: 7 is outside 18 to 110" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, words", [
    (["x"], "the following arguments are required: --out"),
    (["x", "--out", "y", "--population", "all"], "invalid choice: 'all'"),
    (["x", "--out", "y", "--seed", "one"], "invalid int value"),
])
def test_bad_arguments_exit_2_with_one_line(argv, words, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_through_the_shine_command(data_dir, tmp_path):
    proc = subprocess.run([str(SHINE), "analyse", str(data_dir), "--population", "itt", "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("primary (itt): iloprost − placebo = ")
    # the participants whose baseline modified SOFA was imputed, and by which rule
    people = load(data_dir)["participants"]
    imputed = int((people["data_use_consent"] & people["baseline_sofa_modified"].isna()).sum())
    assert imputed > 0
    assert f"\nbaseline covariate: baseline modified SOFA missing for {imputed} participant" in proc.stdout
    assert json.loads((tmp_path / "results.json").read_text())["primary"]["baseline_covariate"]["imputed"] == imputed
    proc = subprocess.run([str(SHINE), "analyse", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("patients, seed", [(4, 3), (4, 2), (5, 1), (8, 3), (12, 4), (16, 3), (20, 5)])
def test_small_trials_give_a_report_with_reasons_and_no_library_warnings(tmp_path, patients, seed, capsys):
    import warnings

    from shine.simulation import generate_dataset

    data = generate_dataset(patients, seed=seed).write(tmp_path / "data")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any library warning outside the analyses fails the test
        assert cli.main([str(data), "--out", str(tmp_path / "report")]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    text = (tmp_path / "report" / "results.json").read_text()
    assert '"warnings"' not in text  # nor inside them (they would be recorded there)
    results = json.loads(text)
    for name, r in cli._sections(results):
        assert "not_estimable" in r or "estimand" in r
        if "not_estimable" in r:
            assert r["not_estimable"] and r["not_estimable"] in (tmp_path / "report" / "report.html").read_text()
    assert "Singular matrix" not in text and "Traceback" not in captured.out


def test_a_rehearsal_at_an_early_cut_off_reports_what_it_can(tmp_path, capsys):
    from shine.simulation import generate_dataset

    # 60 planned patients at 0.3 a day from 2020-02-01; cut-off after 80 days: nobody followed to day 90
    data = generate_dataset(60, seed=3, data_cutoff="2020-04-21T08:00:00Z").write(tmp_path / "data")
    assert cli.main([str(data), "--population", "itt", "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    assert results["mortality"]["90"]["not_estimable"].startswith("90-day mortality needs participants with known "
                                                                   "status at day 90 in both groups")
    assert "estimand" in results["mortality"]["90"]
    assert "difference" in results["primary"] and "hazard_ratio" in results["survival"]
    assert "90-day mortality" in out.splitlines()[-1]
    row = [r for r in results["tables"]["outcomes"] if r["outcome"] == "90-day mortality"][0]
    assert row["estimate"] is None and row["method"].startswith("not estimable: 90-day mortality needs")
    assert "not estimable" in (tmp_path / "report" / "report.html").read_text()
