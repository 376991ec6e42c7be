"""The demo trial loads through the services; the audit verifies; the export is analysable."""

from django.core.management import call_command

from shine.analysis.cli import main as analyse
from shine.demo.trial import load_demo_trial
from shine.trial.enrollment.models import Participant
from shine.trial.records.models import DailyRecord
from shine.trial.reports.exports import export_dataset


def test_demo_loads_verifies_and_exports(trial, tmp_path, capsys):
    staff = {"HGH": trial["nurse_hgh"], "RH": trial["nurse_rh"]}
    lines = load_demo_trial(users=staff, pharmacist=trial["pharmacist"], n_patients=40, seed=20240901)
    assert "40 simulated participants" in lines[0]
    assert Participant.objects.filter(randomised_at__isnull=False).count() == 40
    assert DailyRecord.objects.count() > 40
    assert load_demo_trial(users=staff, pharmacist=trial["pharmacist"], n_patients=40)[0].endswith("nothing loaded")
    call_command("audit", "verify")
    assert "OK" in capsys.readouterr().out
    export_dataset(tmp_path / "d", user=None, blinded=True)
    assert analyse([str(tmp_path / "d"), "--population", "itt", "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "results.json").exists()
