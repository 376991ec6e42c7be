"""The visit schedule (pure rules) and the site worklist."""

import datetime as dt

from shine.trial.records import schedule as sched
from shine.trial.records import services

from .factories import SOFA_DAY

R = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)
D = dt.timedelta(days=1)
H = dt.timedelta(hours=1)


def statuses(facts):
    return {i.label: (i.status, i.why) for i in sched.items(facts)}


def test_statuses_counted_from_randomisation():
    f = sched.Facts(randomised_at=R, now=R + 2.5 * D, stays=((R - D / 4, None),), daily_days=frozenset({1}),
                    sample_days=frozenset({1}))
    s = statuses(f)
    assert s["Baseline (day 0)"][0] == "overdue"
    assert s["Daily ICU record, day 1"][0] == "done"
    assert s["Daily ICU record, day 2"][0] == "due"       # ended half a day ago: due until a day after
    assert s["Daily ICU record, day 3"][0] == "due"
    assert s["Blood sample, day 2"][0] == "overdue" and s["Blood sample, day 3"][0] == "due"
    assert s["Day-28 follow-up"][0] == "upcoming"
    f = sched.Facts(randomised_at=R, now=R + 4.5 * D, stays=((R - D / 4, None),))
    s = statuses(f)
    assert s["Daily ICU record, day 2"][0] == "overdue" and s["Blood sample, day 1"][0] == "missed"


def test_not_required_after_discharge_death_and_consent_stop():
    f = sched.Facts(randomised_at=R, now=R + 6 * D, stays=((R, R + 2.5 * D),))
    s = statuses(f)
    assert "Daily ICU record, day 3" in s and s["Daily ICU records from day 4"][0] == "not_required"
    f = sched.Facts(randomised_at=R, now=R + 40 * D, stays=((R, None),), died_at=R + 1.5 * D)
    s = statuses(f)
    assert s["Daily ICU records from day 3"] == ("not_required", "died 2024-01-02")
    assert s["Blood sample, day 3"][0] == "not_required" and s["Day-28 follow-up"][0] == "not_required"
    f = sched.Facts(randomised_at=R, now=R + 40 * D, stays=((R, None),), data_stop_at=R + 1.5 * D,
                    vital_status_allowed=False)
    s = statuses(f)
    assert s["Daily ICU record, day 3"] == ("not_required", "consent stopped new data")
    assert s["Daily ICU record, day 2"][0] == "overdue" and s["Day-28 follow-up"][0] == "not_required"
    f = sched.Facts(randomised_at=R, now=R + 40 * D, stays=((R, R + D),), data_stop_at=R + 1.5 * D)
    assert statuses(f)["Day-28 follow-up"][0] == "missed"  # vital status still followed
    f = sched.Facts(randomised_at=R, now=R + 30 * D, stays=((R, R + D),))
    assert statuses(f)["Day-28 follow-up"][0] == "due"


def test_readmission_days_are_due_again():
    f = sched.Facts(randomised_at=R, now=R + 6 * D, stays=((R, R + 1.5 * D), (R + 3.2 * D, None)))
    s = statuses(f)
    assert s["Daily ICU records, days 3–3"][0] == "not_required" and s["Daily ICU record, day 4"][0] == "overdue"


def test_worklist_is_ordered_and_updates(participant, trial, client_for, api_for):
    nurse = trial["nurse_hgh"]
    items = api_for("nurse_hgh").get("/api/v1/records/worklist").json()
    labels = [i["label"] for i in items]
    assert items[0]["status"] == "overdue" and "Daily ICU record, day 1" in labels
    assert [i["status"] for i in items] == sorted((i["status"] for i in items), key=lambda s: s != "overdue")
    complete = {**SOFA_DAY, "rrt": False, "vasopressor": True, "codes": {"gcs": "not_done"}}
    services.create_daily_record(user=nurse, participant=participant, study_day=1, values=complete)
    page = client_for("nurse_hgh").get("/worklist/").content.decode()
    assert "Daily ICU record, day 1" not in page and "Daily ICU record, day 2" in page
    assert api_for("nurse_rh").get("/api/v1/records/worklist").json() == []
    assert api_for("statistician").get("/api/v1/records/worklist").status_code == 403
    sched_items = api_for("nurse_hgh").get(f"/api/v1/participants/{participant.number}/schedule").json()
    assert {"form": "daily", "status": "done"}.items() <= sched_items[2].items() or any(
        i["label"] == "Daily ICU record, day 1" and i["status"] == "done" for i in sched_items)


def test_flagged_values_are_listed_and_reviewed(participant, trial, client_for):
    services.create_daily_record(user=trial["nurse_hgh"], participant=participant, study_day=1,
                                 values={**SOFA_DAY, "platelets": 1500})
    page = client_for("data_manager").get("/worklist/").content.decode()
    assert "platelets 1500" in page
    rec = participant.daily_records.get()
    r = client_for("data_manager").post(f"/participants/{participant.number}/review/daily/{rec.pk}/",
                                        {"note": "confirmed with the lab"})
    assert r.status_code == 302
    rec.refresh_from_db()
    assert not rec.needs_review and rec.warnings


def test_a_running_infusion_needs_nothing_until_its_planned_end():
    running = dict(randomised_at=R, stays=((R, None),), baseline_done=True, infusion_started=True)
    s = statuses(sched.Facts(now=R + 30 * H, **running))
    assert s["Infusion log: record the end"][0] == "upcoming"
    s = statuses(sched.Facts(now=R + 80 * H, **running))
    assert s["Infusion log: record the end"][0] == "due"
    s = statuses(sched.Facts(now=R + 97 * H, **running))
    assert s["Infusion log: record the end"][0] == "overdue"
    assert statuses(sched.Facts(randomised_at=R, now=R + 7 * H))["Infusion log: record the start"][0] == "overdue"
