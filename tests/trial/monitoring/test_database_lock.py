"""The database lock: refused while any checklist item fails (each named), then every write path refused by
the database itself until the trial manager unlocks it with a reason."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from shine.trial.audit.models import AuditEvent
from shine.trial.enrollment import services as enrolment
from shine.trial.errors import Refused
from shine.trial.monitoring import casebook, database_lock, services
from shine.trial.monitoring.models import DatabaseLock, Query
from shine.trial.records import services as records
from shine.trial.reports.exports import export_dataset
from tests.trial.conftest import PASSWORD
from tests.trial.records.factories import SOFA_DAY, baseline_values, randomised_ago

pytestmark = pytest.mark.django_db
H, M = dt.timedelta(hours=1), dt.timedelta(minutes=1)


def clean_trial(users, password=PASSWORD):
    """One participant whose casebook is complete: consent refused at randomisation (data collected may be
    used, no follow-up) three hours after randomisation, with what was due until then entered; every record
    verified, the casebook signed."""
    nurse = users["nurse_hgh"]
    p = randomised_ago(nurse, days=100)
    R = p.randomised_at
    records.save_baseline(user=nurse, participant=p, values=baseline_values(p))
    records.record_infusion_event(user=nurse, participant=p, kind="start", at=R + H, rate_ml_per_h=2.1)
    records.record_infusion_event(user=nurse, participant=p, kind="stop", at=R + 2 * H, stop_reason="other",
                                  note="next of kin refused")
    records.create_daily_record(user=nurse, participant=p, study_day=1, values=dict(SOFA_DAY, gcs=14, rrt=False))
    records.record_blood_sample(user=nurse, participant=p, study_day=1, drawn_at=R + 90 * M)
    enrolment.record_consent(p, user=nurse, kind="next_of_kin_refusal", occurred_at=R + 3 * H,
                             consenter_name="Kin", use_data_collected=True, continue_vital_status_follow_up=False)
    services.create_plan(user=users["data_manager"], rules=services.DEFAULT_RULES)
    for e in casebook.entries(p):
        services.verify(user=users["monitor"], participant=p, form=e.form, object_id=e.object_id)
    services.sign(user=users["investigator_hgh"], participant=p, meaning="approval", password=password)
    p.refresh_from_db()
    return p


def failing(items):
    return {i.code for i in items if not i.ok}


def test_every_failing_item_is_named(trial, day1):
    services.raise_query(user=trial["monitor"], participant=day1.participant, text="Source?")
    with pytest.raises(Refused) as e:
        database_lock.lock_database(user=trial["data_manager"], reason="final analysis")
    assert e.value.status == 409
    message = str(e.value)
    assert failing(e.value.items) == {"queries", "sdv", "signatures", "schedule"}
    for words in ("Q-00001 is open", "no SDV plan has been saved", f"{day1.participant.number}: casebook not signed",
                  "Day-90 follow-up upcoming"):
        assert words in message
    assert not DatabaseLock.objects.exists()


def test_lock_refuses_every_write_until_the_trial_manager_unlocks(trial, client_for, api_for, tmp_path):
    p = clean_trial(trial)
    q = services.raise_query(user=trial["monitor"], participant=p, text="Consent form version?")
    with pytest.raises(Refused, match="1 item of the checklist failing: No query open.*Q-00001 is open"):
        database_lock.lock_database(user=trial["data_manager"], reason="final analysis")
    services.transition(user=trial["nurse_hgh"], query=q, action="answer", text="v3")
    services.transition(user=trial["monitor"], query=q, action="close", text="ok")
    assert failing(database_lock.checklist()) == set()
    with pytest.raises(PermissionDenied):
        database_lock.lock_database(user=trial["monitor"], reason="x")
    lk = database_lock.lock_database(user=trial["data_manager"], reason="final analysis")
    assert all(i["ok"] for i in lk.checklist)
    with pytest.raises(Refused, match="already locked"):
        database_lock.lock_database(user=trial["data_manager"], reason="again")
    # the service, the API and the page all refuse: the database refuses the write's audit event
    with pytest.raises(Refused, match="database is locked") as e:
        services.raise_query(user=trial["monitor"], participant=p, text="late question")
    assert e.value.status == 409 and Query.objects.count() == 1
    r = api_for("monitor").post("/api/v1/monitoring/queries", {"participant_id": p.number, "text": "x"},
                                content_type="application/json")
    assert r.status_code == 409 and "database is locked" in r.json()["detail"]
    page = client_for("monitor").post(f"/participants/{p.number}/queries/", {"text": "late", "record": ""})
    assert page.status_code == 409 and "database is locked" in page.content.decode()
    with pytest.raises(Refused, match="database is locked"):
        enrolment.record_consent(p, user=trial["nurse_hgh"], kind="withdrawal", occurred_at=p.randomised_at,
                                 consenter_role="next_of_kin", consenter_name="Kin", use_data_collected=True,
                                 continue_vital_status_follow_up=False)
    assert client_for("data_manager").get("/monitoring/database-lock/").status_code == 200
    assert api_for("data_manager").get("/api/v1/monitoring/database-lock").json()["locked"] is True
    # the locked database is what the final analysis reads: exporting it (an audited read) is not refused
    export_dataset(tmp_path / "final", user=trial["statistician"], blinded=True)
    assert (tmp_path / "final" / "dataset.json").exists()
    # only the trial manager unlocks, with a reason
    with pytest.raises(PermissionDenied):
        database_lock.unlock_database(user=trial["data_manager"], reason="x")
    with pytest.raises(Refused, match="reason is required"):
        database_lock.unlock_database(user=trial["trial_manager"], reason=" ")
    database_lock.unlock_database(user=trial["trial_manager"], reason="late SAE follow-up")
    assert AuditEvent.objects.filter(object_type="monitoring.databaselock", action="update",
                                     reason="database unlock: late SAE follow-up").exists()
    services.raise_query(user=trial["monitor"], participant=p, text="now possible")


def test_pages_and_api_refuse_the_lock_listing_the_items(trial, day1, client_for, api_for):
    r = client_for("data_manager").post("/monitoring/database-lock/", {"action": "lock", "reason": "final"})
    page = r.content.decode()
    assert r.status_code == 409 and "checklist failing" in page and "casebook not signed" in page
    r = api_for("data_manager").post("/api/v1/monitoring/database-lock", {"reason": "final"},
                                     content_type="application/json")
    assert r.status_code == 409 and "casebook not signed" in r.json()["detail"]
    state = api_for("data_manager").get("/api/v1/monitoring/database-lock").json()
    assert state["locked"] is False and {i["code"] for i in state["checklist"] if not i["ok"]} >= {"signatures"}
    assert client_for("monitor").get("/monitoring/database-lock/").status_code == 403
    assert client_for("nurse_hgh").get("/monitoring/database-lock/").status_code == 403
    records.update_daily_record(user=trial["nurse_hgh"], record=day1, values=dict(SOFA_DAY) | {"platelets": 99},
                                partial=True, reason="lab")


def test_the_checklist_counts_what_is_left_to_verify_in_words_of_the_count(trial, day1):
    """'1 record to verify' and '3 records to verify' (Danish: registrering / registreringer), not 'record(s)'."""
    from django.utils import translation

    from shine.trial.monitoring import selectors

    services.create_plan(user=trial["data_manager"], rules=services.DEFAULT_RULES)
    p = day1.participant

    def sdv_failures():
        return " ".join(next(i for i in database_lock.checklist() if i.code == "sdv").failures)

    left = selectors.progress(p, casebook.entries(p)).to_verify
    assert left >= 2
    for language, many in (("en", "records to verify"), ("da", "registreringer skal verificeres")):
        with translation.override(language):
            assert f"{p.number}: {left} {many}" in sdv_failures()
    for e in casebook.entries(p)[: left - 1]:
        services.verify(user=trial["monitor"], participant=p, form=e.form, object_id=e.object_id)
    assert selectors.progress(p, casebook.entries(p)).to_verify == 1
    for language, one in (("en", "1 record to verify"), ("da", "1 registrering skal verificeres")):
        with translation.override(language):
            assert f"{p.number}: {one}" in sdv_failures()
