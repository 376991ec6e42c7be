"""``shine simulate`` through main() and through the installed command."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shine.simulation.cli import main

SHINE = Path(sys.executable).with_name("shine")


def test_dataset_command_writes_a_loadable_data_set(tmp_path, capsys):
    from shine.analysis.dataset import load

    assert main(["dataset", "--patients", "60", "--seed", "1", "--effect", "1", "--out", str(tmp_path)]) == 0
    assert "60 participants" in capsys.readouterr().out
    data = load(tmp_path)
    assert data.manifest["simulation"]["parameters"]["effect"] == 1.0


def test_oc_command_prints_a_table_with_mcse(capsys):
    assert main(["oc", "--trials", "2000", "--effect", "0", "1.3", "--model", "means", "--futility-z", "0"]) == 0
    out = capsys.readouterr().out
    assert "MCSE" in out and "1.3" in out


def test_oc_command_rule_json_and_plot(tmp_path, capsys):
    png = tmp_path / "oc.png"
    assert main(["oc", "--trials", "1000", "--effect", "1.3", "--model", "means", "--rule", "cp_design<0.10",
                 "--json", "--plot", str(png)]) == 0
    rows = json.loads(capsys.readouterr().out.split("plot written")[0])
    assert rows[0]["futility_z"] < 0 and rows[0]["rule"] == "cp_design<0.10"
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("argv", [
    ["oc", "--trials", "0"], ["oc", "--sd", "-1"], ["oc", "--rule", "nonsense"], ["oc", "--n-interim", "400"],
    ["dataset", "--patients", "0", "--out", "x"], ["dataset"], ["bogus"],
])
def test_bad_arguments_give_one_line_and_status_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("shine simulate") and "\n" not in err and "Traceback" not in err


def test_installed_command(tmp_path):
    ok = subprocess.run([str(SHINE), "simulate", "dataset", "--patients", "30", "--seed", "2", "--out",
                         str(tmp_path)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "dataset.json").exists()
    bad = subprocess.run([str(SHINE), "simulate", "oc", "--trials", "-5"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
