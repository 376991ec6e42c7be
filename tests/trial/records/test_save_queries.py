"""The daily ICU record save through the API stays cheap (bench/crf_save.py, issue 7's benchmark): its
statements are pinned, so that a new query per save cannot slip in unnoticed."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from shine.trial.audit.models import AuditEvent, AuditSeal
from shine.trial.audit.verify import verify

from .factories import SOFA_DAY

URL = "/api/v1/participants/{}/daily-records"
# bearer token, scoped lookup, the lock with the cross-form facts, the record, its event (which also tries the
# seal lock on PostgreSQL), the unsealed events, their seals; plus SAVEPOINT and RELEASE, as the test runs
# inside a transaction (on a server: BEGIN and COMMIT). It was 19 before issue 7's benchmark work.
MAX_QUERIES = 9


def save(client, participant, day):
    return client.post(URL.format(participant.number), {**SOFA_DAY, "study_day": day}, content_type="application/json")


def test_one_daily_record_save_runs_a_pinned_number_of_queries(participant, api_for, django_assert_max_num_queries):
    nurse = api_for("nurse_hgh")
    assert save(nurse, participant, 1).status_code == 201  # the token's last use is written at most once a minute
    events, seals = AuditEvent.objects.count(), AuditSeal.objects.count()
    with django_assert_max_num_queries(MAX_QUERIES):
        r = save(nurse, participant, 2)
    assert r.status_code == 201, r.content
    # every check, the event and its seal are still there
    assert AuditEvent.objects.count() == events + 1 and AuditSeal.objects.count() == seals + 1
    assert save(nurse, participant, 2).status_code == 409  # the duplicate check
    assert verify().ok


def test_the_save_locks_the_participant_row_only(participant, api_for):
    """A join under FOR UPDATE would lock the site's row too and queue every save of the site."""
    nurse = api_for("nurse_hgh")
    with CaptureQueriesContext(connection) as ctx:
        assert save(nurse, participant, 1).status_code == 201
    locking = [q["sql"] for q in ctx.captured_queries if "FOR UPDATE" in q["sql"]]
    if connection.features.has_select_for_update:
        assert len(locking) == 1 and locking[0].rstrip().endswith("FOR UPDATE OF p"), locking
    assert not any("accounts_site" in sql for sql in locking)


def test_another_sites_nurse_is_refused_by_the_same_statements(participant, api_for):
    r = save(api_for("nurse_rh"), participant, 1)
    assert r.status_code == 404 and not participant.daily_records.exists()
