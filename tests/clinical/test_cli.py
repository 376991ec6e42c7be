"""``shine sofa``: called as a function and as the installed command."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shine.clinical.cli import main

SHINE = Path(sys.executable).with_name("shine")
EXAMPLE = ["--pao2-fio2", "180", "--respiratory-support", "--platelets", "90", "--bilirubin", "40", "--map", "68",
           "--norepinephrine", "0.15", "--creatinine", "200"]


def test_table_output(capsys):
    assert main(EXAMPLE) == 0
    out = capsys.readouterr().out
    assert "respiration           3" in out and "cns             missing" in out
    assert "total           missing / 24" in out and "modified             13 / 20" in out  # CNS missing: no total


def test_json_output(capsys):
    assert main([*EXAMPLE, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert {k: got[k] for k in ("respiration", "coagulation", "liver", "cardiovascular", "cns", "renal")} == \
        {"respiration": 3, "coagulation": 2, "liver": 2, "cardiovascular": 4, "cns": None, "renal": 2}
    assert (got["total"], got["modified"], got["missing"]) == (None, 13, ["cns"])


def test_units_are_converted(capsys):
    # bilirubin 2.0 mg/dL = 34.2 µmol/L (2); creatinine 2.0 mg/dL = 176.8 µmol/L (2); P/F 24 kPa = 180 mmHg
    argv = ["--pao2-fio2", "24", "--pao2-unit", "kPa", "--bilirubin", "2.0", "--bilirubin-unit", "mg/dL",
            "--creatinine", "2.0", "--creatinine-unit", "mg/dL", "--json"]
    assert main(argv) == 0
    got = json.loads(capsys.readouterr().out)
    assert (got["respiration"], got["liver"], got["renal"]) == (2, 2, 2)
    assert got["inputs"]["bilirubin"] == pytest.approx(34.2)


def test_pao2_and_fio2(capsys):
    assert main(["--pao2", "9", "--fio2", "60", "--pao2-unit", "kPa", "--respiratory-support", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["inputs"]["pao2_fio2"] == pytest.approx(9 * 7.50062 / 0.6) and got["respiration"] == 3


@pytest.mark.parametrize("argv,message", [
    (["--gcs", "16"], "gcs must lie between 3 and 15"),
    (["--platelets", "-5"], "platelets must"),
    (["--gcs", "x"], "invalid int value"),
    (["--bogus"], "unrecognized arguments"),
    (["--pao2", "80"], "--pao2 and --fio2 must be given together"),
    (["--pao2", "80", "--fio2", "0.5", "--pao2-fio2", "160"], "not both"),
    (["--pao2", "80", "--fio2", "5"], "fio2 must be a fraction"),
    (["--bilirubin-unit", "g/L"], "invalid choice"),
    (["--epinephrine", "6"], "epinephrine must lie between 0 and 5"),
])
def test_bad_arguments_one_line_status_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("shine sofa: error:") and message in err and err.count("\n") == 1


def test_installed_command():
    if not SHINE.exists():
        pytest.skip("the shine command is not installed in this environment")
    ok = subprocess.run([SHINE, "sofa", *EXAMPLE, "--json"], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["modified"] == 13
    bad = subprocess.run([SHINE, "sofa", "--gcs", "2"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stderr.count("\n") == 1
    helped = subprocess.run([SHINE, "sofa", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "--respiratory-support" in helped.stdout
