from django.core.management import call_command
from django.utils import timezone

from shine.trial.enrollment import services

from .factories import enrolled


def test_worklist_command(users, capsys):
    call_command("enrolment", "worklist")
    assert capsys.readouterr().out.strip() == "0 participants waiting for consent"
    nurse = users["nurse_hgh"]
    a, b = enrolled(nurse), enrolled(nurse)
    enrolled(users["nurse_rh"], "RH")
    services.record_consent(b, user=nurse, kind="next_of_kin_consent", occurred_at=timezone.now(),
                            consenter_name="Eva", form_version="v1")
    call_command("enrolment", "worklist", "--site", "hgh")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"{a.number}  guardian consent")
    assert lines[0].endswith("waiting for next of kin and patient")
    assert lines[1].endswith("waiting for patient")
    assert lines[-1] == f"2 participants waiting for consent; oldest {a.number}"
    call_command("enrolment", "worklist")  # rerunning changes nothing
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("3 participants")
