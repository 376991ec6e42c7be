"""``shine design``: called in-process through main() and as the installed command."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shine.design.cli import main

SHINE = Path(sys.executable).with_name("shine")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sample_size_defaults_come_from_protocol(capsys):
    code, out, err = run(capsys, "sample-size")
    assert code == 0 and err == ""
    assert "190 per arm, 380 in total" in out
    assert "2 x (1.9600 + 1.2816)^2 x 3.9^2 / 1.3^2 = 189.13" in out
    # sensitivity table: planning row and column give 380 again
    row = next(line for line in out.splitlines() if line.strip().startswith("3.9 |"))
    assert row.split()[2:] == ["530", "444", "380", "328", "286"]


def test_sample_size_json(capsys):
    code, out, _ = run(capsys, "sample-size", "--mean", "6.68", "--sd", "4.0", "--relative-reduction", "0.2",
                       "--method", "t", "--json")
    r = json.loads(out)
    assert code == 0
    assert (r["n_per_arm"], r["n_total"], r["method"]) == (190, 380, "t")  # STATISTICS.md: 190 per arm (t)
    assert r["delta"] == pytest.approx(1.336)
    assert r["sensitivity"]["columns"] == "control_mean"
    assert len(r["sensitivity"]["n_total"]) == len(r["sensitivity"]["sd"])


def test_sample_size_difference_and_grids(capsys):
    code, out, _ = run(capsys, "sample-size", "--difference", "1.212", "--sd", "3.89", "--sd-grid", "3.89,4.5",
                       "--column-grid", "1.212,1.0", "--json")
    r = json.loads(out)
    assert r["n_total"] == 434  # STATISTICS.md: LeoPARDS placebo arm, 217 per arm
    assert r["sensitivity"]["n_total"][0][0] == 434
    assert r["sensitivity"]["difference"] == [1.212, 1.0]


def test_interim_defaults(capsys):
    code, out, _ = run(capsys, "interim")
    assert code == 0
    assert "200 of 380 patients" in out and "information fraction 0.5263" in out
    assert "stop if interim z < -0.6306" in out
    assert "Alternative rules" in out and "cp_trend<0.2" in out


def test_interim_json_matches_library(capsys):
    from shine import design

    code, out, _ = run(capsys, "interim", "--rule", "z<0.5", "--json")
    r = json.loads(out)
    fc = design.futility_characteristics(0.5, 200 / 380, n_max=380, n_interim=200)
    assert r["rule"]["z_cutoff"] == 0.5
    assert r["rule"]["power"] == pytest.approx(fc.power, abs=1e-15)
    assert r["rule"]["expected_n_h0"] == pytest.approx(fc.expected_n_h0, abs=1e-12)
    # observed difference at the cut-off: z * SD * sqrt(4 / n_interim)
    assert r["rule"]["difference_cutoff"] == pytest.approx(0.5 * 3.9 * (4 / 200) ** 0.5)
    assert "z<0.5" in [x["rule"] for x in r["comparison"]]


def test_interim_plot(capsys, tmp_path):
    png = tmp_path / "cp.png"
    code, out, _ = run(capsys, "interim", "--plot", str(png))
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bounds(capsys):
    code, out, _ = run(capsys, "bounds", "--information-rates", "0.3333333333333333,0.6666666666666666,1",
                       "--kind", "asOF", "--theta", "3.24", "--json")
    r = json.loads(out)
    assert r["critical_values"] == pytest.approx([3.7103, 2.5114, 1.9930], abs=5e-5)
    assert 0.8 < r["p_upper"] < 1


@pytest.mark.parametrize(
    "argv, words",
    [
        (["sample-size", "--sd", "-3.9"], "--sd"),
        (["sample-size", "--alpha", "0.5"], "--alpha"),
        (["sample-size", "--alpha", "0"], "--alpha"),
        (["sample-size", "--power", "1.2"], "--power"),
        (["sample-size", "--method", "exact"], "--method"),
        (["sample-size", "--mean", "abc"], "--mean"),
        (["sample-size", "--difference", "1", "--relative-reduction", "0.2"], "not allowed with"),
        (["interim", "--n-interim", "380"], "--n-interim must be < --n-max"),
        (["interim", "--n-interim", "0"], "--n-interim"),
        (["interim", "--rule", "cp_design<2"], "rule"),
        (["interim", "--plot", "/nonexistent-dir/x.png"], "nonexistent"),
        (["bounds", "--information-rates", "0.5,0.4,1"], "increasing"),
        (["bounds", "--kind", "asHSD"], "gamma"),
        ([], "subcommand"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_one_line_exit_2(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and words in err
    assert "Traceback" not in err


def test_installed_command():
    if not SHINE.exists():
        pytest.skip(f"{SHINE} is not installed")
    ok = subprocess.run([str(SHINE), "design", "sample-size", "--json"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and json.loads(ok.stdout)["n_total"] == 380
    bad = subprocess.run([str(SHINE), "design", "sample-size", "--sd", "-1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
