"""shine checks run: edit checks as system queries, idempotent, resolved when the check stops firing."""

import pytest
from django.core.management import call_command

from shine.trial.monitoring import checks, deviations
from shine.trial.monitoring.models import Query
from shine.trial.records import services as records
from tests.trial.records.factories import SOFA_DAY

pytestmark = pytest.mark.django_db


def test_run_opens_once_and_resolves(trial, participant, capsys):
    nurse = trial["nurse_hgh"]
    odd = records.create_daily_record(user=nurse, participant=participant, study_day=1,
                                      values=dict(SOFA_DAY, platelets=1500))
    assert odd.needs_review and odd.warnings
    first = checks.run()
    assert first["opened"] >= 1
    q = Query.objects.get(origin="system", object_id=str(odd.pk), rule__icontains="platelets")
    assert q.state == "open" and q.form == "daily" and q.raised_by is None
    call_command("checks", "run")
    assert "0 system queries opened, 0 resolved" in capsys.readouterr().out
    records.update_daily_record(user=nurse, record=odd, values={"platelets": 150}, partial=True, reason="typo")
    again = checks.run()
    assert again["resolved"] >= 1
    q.refresh_from_db()
    assert q.state == "resolved" and q.messages.last().action == "resolve"
    assert checks.run() == {"opened": 0, "resolved": 0, "unchanged": again["unchanged"]}


def test_a_reviewed_flag_opens_no_query(trial, participant):
    nurse = trial["nurse_hgh"]
    odd = records.create_daily_record(user=nurse, participant=participant, study_day=1,
                                      values=dict(SOFA_DAY, platelets=1500))
    deviations.mark_reviewed(user=trial["data_manager"], record=odd, note="confirmed with the lab")
    checks.run()
    assert not Query.objects.filter(object_id=str(odd.pk), rule__icontains="platelets").exists()
