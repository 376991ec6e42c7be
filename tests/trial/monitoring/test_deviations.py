"""Protocol deviations after their move to the monitoring app: a trail written before the move still verifies."""

import pytest
from django.db import connection

from shine.trial.audit import services as audit
from shine.trial.audit.models import AuditEvent
from shine.trial.audit.services import Actor
from shine.trial.monitoring import deviations
from shine.trial.records.models import Deviation
from tests.trial.records.conftest import participant, trial  # noqa: F401  (fixtures)
from tests.trial.test_audit import run_verify

pytestmark = pytest.mark.django_db


def test_a_trail_written_before_the_move_verifies_and_replays_onto_the_same_table(participant):  # noqa: F811
    from shine.trial.accounts.models import User

    nurse = User.objects.get(username="nurse_hgh")
    # as the records app wrote it before deviations moved: audit.create on the model, label records.deviation
    old = audit.create(Deviation, actor=Actor.of(nurse, "old-code"), participant=participant, number=1,
                       category="consent", major=False, description="consent form page 2 unsigned",
                       occurred_at=None, entered_by=nurse, entered_at=participant.randomised_at)
    new = deviations.record_deviation(user=nurse, participant=participant, category="intervention", major=True,
                                      description="infusion started late")
    assert (Deviation._meta.label_lower, Deviation._meta.db_table) == ("records.deviation", "records_deviation")
    written = AuditEvent.objects.filter(object_type="records.deviation", action="create")
    assert sorted(written.values_list("object_id", flat=True)) == sorted([str(old.pk), str(new.pk)])
    assert new.number == 2
    code, text = run_verify()
    assert code == 0, text
    # the old label is still the replay key: a row changed behind the trail's back is named under it
    with connection.cursor() as cursor:
        cursor.execute("UPDATE records_deviation SET major = %s WHERE id = %s", [True, old.pk])
    code, text = run_verify()
    assert code == 1 and f"records.deviation {old.pk}: major=True but history says False" in text
