"""The trial manager's dashboard (the progress page): recruitment against the protocol's plan, data
timeliness (days from visit to entry) and open queries per site, with no arm anywhere."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from shine import protocol
from shine.analysis import interim
from shine.trial.monitoring import services as monitoring
from shine.trial.records import services as records
from shine.trial.reports import selectors
from tests.trial.enrollment.factories import trial_setup
from tests.trial.records.factories import SOFA_DAY, baseline_values, randomised_ago

P = protocol.load()


def _site(page: dict, code: str) -> dict:
    return next(s for s in page["sites"] if s["code"] == code)


def test_timeliness_and_open_queries_per_site(users, client_for, api_for):
    trial_setup(users["pharmacist"])
    nurse, monitor = users["nurse_hgh"], users["monitor"]
    p = randomised_ago(nurse, days=3)
    records.save_baseline(user=nurse, participant=p, values=baseline_values(p))
    for day in (1, 2):
        records.create_daily_record(user=nurse, participant=p, study_day=day, values=SOFA_DAY)
    # entered now: the baseline 3 days after its visit (the randomisation), day 1 two days after the end
    # of study day 1, day 2 one day after: median 2.0 over 3 forms
    query = monitoring.raise_query(user=monitor, participant=p, text="Source for the platelets?")
    monitoring.raise_query(user=monitor, participant=p, text="held back", candidate=True)  # not sent: not open
    page = selectors.progress(users["trial_manager"])
    hgh = _site(page, "HGH")
    assert (hgh["entry_days"], hgh["entry_forms"], hgh["open_queries"]) == (2.0, 3, 1)
    for code in set(P.site_codes) - {"HGH"}:  # every site appears, with nothing yet
        assert (_site(page, code)["entry_days"], _site(page, code)["entry_forms"],
                _site(page, code)["open_queries"]) == (None, 0, 0)
    # visits older than the window no longer count
    later = selectors.progress(users["trial_manager"], now=timezone.now() + dt.timedelta(days=40))
    assert _site(later, "HGH")["entry_forms"] == 0
    monitoring.transition(user=monitor, query=query, action="cancel", text="raised on the wrong participant")
    assert _site(selectors.progress(users["trial_manager"]), "HGH")["open_queries"] == 0
    html = client_for("trial_manager").get("/reports/progress/").content.decode()
    assert "Days from visit to entry" in html and "Open queries" in html and "(3 forms)" in html
    api = api_for("trial_manager").get("/api/v1/reports/progress").json()
    assert {s["code"]: s["entry_forms"] for s in api["sites"]}["HGH"] == 3
    # the blind-leak check of the dashboard's new columns: no blinded reader gets an arm word from them
    from tests.support import ARM_WORDS
    from tests.trial.reports.test_interim_flow import BLINDED, _body

    for persona in BLINDED:
        for response in (client_for(persona).get("/reports/progress/"),
                         api_for(persona).get("/api/v1/reports/progress")):
            body = _body(response)
            assert not [w for w in ARM_WORDS if w in body], persona
            assert response.status_code in (200, 403)


def test_recruitment_against_the_plan(users, client_for, api_for):
    trial_setup(users["pharmacist"], packs=4)  # four randomisations may all draw one arm
    for days in (70, 69, 40, 3):
        randomised_ago(users["nurse_hgh"], days=days)
    now = timezone.now()
    page = selectors.progress(users["trial_manager"], now=now)
    months = [r["month"] for r in page["recruitment"]]
    first = (now - dt.timedelta(days=70)).astimezone(dt.UTC).strftime("%Y-%m")
    assert months == interim.month_range(first, now.astimezone(dt.UTC).strftime("%Y-%m"))  # no month skipped
    assert page["recruitment"][-1]["cumulative"] == page["randomised"] == 4
    plan = P.recruitment
    assert [r["planned"] for r in page["recruitment"]] == [plan.planned_cumulative(k, P.max_sample_size)
                                                           for k in range(len(months))]
    assert page["planned"] and page["recruitment_chart"]["planned"] and page["recruitment_chart"]["actual"]
    html = client_for("trial_manager").get("/reports/progress/").content.decode()
    assert 'class="planned"' in html and "dashed: planned" in html
    api = api_for("trial_manager").get("/api/v1/reports/progress").json()
    assert [m["planned"] for m in api["recruitment"]] == [r["planned"] for r in page["recruitment"]]


def test_without_a_plan_the_page_says_so(users, client_for, tmp_path, monkeypatch):
    text = protocol.DEFAULT_FILE.read_text()
    start, end = text.index("[recruitment]"), text.index("[arms]")
    amended = tmp_path / "no-plan.toml"
    amended.write_text(text[:start] + text[end:])
    trial_setup(users["pharmacist"])
    randomised_ago(users["nurse_hgh"], days=5)
    monkeypatch.setenv("SHINE_PROTOCOL_FILE", str(amended))  # load() reads the file the variable names
    page = selectors.progress(users["trial_manager"])
    assert all(r["planned"] is None for r in page["recruitment"]) and not page["recruitment_chart"]["planned"]
    html = client_for("trial_manager").get("/reports/progress/").content.decode()
    assert "the protocol states no planned recruitment" in html
