"""The demo safety cases load through the services, verify in the audit, and reach the export."""

from shine.analysis.dataset import load
from shine.demo.trial import load_demo_trial
from shine.trial.audit.verify import verify
from shine.trial.reports.exports import export_dataset
from shine.trial.safety.demo import load_demo_safety
from shine.trial.safety.models import Case, SusarDecision


def test_demo_safety_cases(trial, tmp_path):
    staff = {"HGH": trial["nurse_hgh"], "RH": trial["nurse_rh"]}
    load_demo_trial(users=staff, pharmacist=trial["pharmacist"], n_patients=12, seed=20240901)
    lines = load_demo_safety(nurse=trial["nurse_hgh"], pharmacovigilance=trial["pharmacovigilance"])
    assert "4 cases" in lines[0] and Case.objects.count() == 4 and SusarDecision.objects.count() == 1
    assert load_demo_safety(nurse=trial["nurse_hgh"], pharmacovigilance=trial["pharmacovigilance"])[0].endswith(
        "already loaded")
    assert verify().ok
    export_dataset(tmp_path, user=None, blinded=True, parquet=False)
    ae = load(tmp_path)["adverse_events"]
    assert len(ae) == 4 and int(ae["serious"].sum()) == 3
