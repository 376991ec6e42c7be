"""Queries: every allowed and forbidden transition, who may take each, site scoping, the audit trail, pages
and API."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from shine.trial.audit.models import AuditEvent
from shine.trial.errors import Refused
from shine.trial.monitoring import selectors, services
from shine.trial.monitoring.models import Query
from shine.trial.records import services as records

pytestmark = pytest.mark.django_db
S = Query.State


def _raise(users, day1, **kw):
    return services.raise_query(user=users["monitor"], participant=day1.participant, form="daily",
                                object_id=day1.pk, field="platelets", text="Platelets 90 on day 1? Source says 60.",
                                **kw)


def test_monitor_raises_nurse_answers_with_a_correction_monitor_closes(trial, day1):
    q = _raise(trial, day1)
    assert q.state == S.OPEN and q.opened_at is not None and q.target == "day 1 · platelets"
    nurse = trial["nurse_hgh"]
    with pytest.raises(Refused, match="has not been changed since the query"):
        services.transition(user=nurse, query=q, action="answer", text="corrected", corrected=True)
    records.update_daily_record(user=nurse, record=day1, values={"platelets": 60}, partial=True,
                                reason=f"{q.label}: transcription error")
    q = services.transition(user=nurse, query=q, action="answer", text="Corrected to 60 from the lab sheet",
                            corrected=True)
    assert q.state == S.ANSWERED
    answer = q.messages.get(action="answer")
    change = AuditEvent.objects.get(pk=answer.correction_event)
    assert change.object_type == "records.dailyrecord" and change.object_id == str(day1.pk)
    assert '"platelets":[90' in change.changes.replace(".0", "")
    q = services.transition(user=trial["monitor"], query=q, action="close", text="Thank you")
    assert q.state == S.CLOSED
    assert [m.action for m in q.messages.order_by("number")] == ["raise", "answer", "close"]
    states = [e.changes for e in AuditEvent.objects.filter(object_type="monitoring.query", object_id=str(q.pk))]
    assert len(states) == 3 and '"answered","closed"' in states[2].replace(" ", "")
    assert AuditEvent.objects.filter(object_type="monitoring.querymessage").count() == 3


# every state a query can be in, reached through the services
def _in_state(state, users, day1, *, system=False):
    monitor, nurse = users["monitor"], users["nurse_hgh"]
    if system:
        services.run_checks(findings=[(day1.participant, "daily", day1.pk, "test rule")])
        q = Query.objects.get(origin="system", state=S.OPEN)
    else:
        q = _raise(users, day1, candidate=state == S.CANDIDATE)
    path = {S.CANDIDATE: [], S.OPEN: [], S.ANSWERED: [("answer", nurse)],
            S.CLOSED: [("answer", nurse), ("close", monitor)], S.CANCELLED: [("cancel", monitor)]}[state]
    for action, who in path:
        q = services.transition(user=who, query=q, action=action, text=f"{action} text")
    return q


ALLOWED = {(S.CANDIDATE, "open"), (S.CANDIDATE, "cancel"), (S.OPEN, "answer"), (S.OPEN, "cancel"),
           (S.ANSWERED, "close"), (S.ANSWERED, "requery")}
REACHES = {"open": S.OPEN, "cancel": S.CANCELLED, "answer": S.ANSWERED, "close": S.CLOSED, "requery": S.OPEN}


@pytest.mark.parametrize("state", [S.CANDIDATE, S.OPEN, S.ANSWERED, S.CLOSED, S.CANCELLED])
@pytest.mark.parametrize("action", ["open", "cancel", "answer", "close", "requery"])
def test_transitions(trial, day1, state, action):
    q = _in_state(state, trial, day1)
    who = trial["nurse_hgh"] if action == "answer" else trial["monitor"]
    if (state, action) in ALLOWED:
        q = services.transition(user=who, query=q, action=action, text="message")
        assert q.state == REACHES[action]
    else:
        with pytest.raises(Refused) as e:
            services.transition(user=who, query=q, action=action, text="message")
        assert e.value.status == 409
        assert Query.objects.get(pk=q.pk).state == state


def test_resolved_only_by_the_check_run_and_final(trial, day1):
    q = _in_state(S.ANSWERED, trial, day1, system=True)
    with pytest.raises(Refused):
        services.transition(user=trial["monitor"], query=q, action="resolve", text="x")
    assert services.run_checks(findings=[]) == {"opened": 0, "resolved": 1, "unchanged": 0}
    q.refresh_from_db()
    assert q.state == S.RESOLVED
    for action in REACHES:
        who = trial["nurse_hgh"] if action == "answer" else trial["monitor"]
        with pytest.raises(Refused):
            services.transition(user=who, query=q, action=action, text="x")
    # a manual query is never resolved by the check run
    manual = _raise(trial, day1)
    services.run_checks(findings=[])
    assert Query.objects.get(pk=manual.pk).state == S.OPEN


@pytest.mark.parametrize("action", ["open", "cancel", "close", "requery"])
def test_site_staff_do_not_open_close_or_cancel(trial, day1, action):
    q = _in_state(S.CANDIDATE if action == "open" else S.ANSWERED if action in ("close", "requery") else S.OPEN,
                  trial, day1)
    with pytest.raises(PermissionDenied):
        services.transition(user=trial["nurse_hgh"], query=q, action=action, text="x")


@pytest.mark.parametrize("persona", ["monitor", "data_manager", "nurse_rh", "statistician"])
def test_only_the_sites_staff_answer(trial, day1, persona):
    q = _raise(trial, day1)
    with pytest.raises(Refused) as e:
        services.transition(user=trial[persona], query=q, action="answer", text="x")
    assert e.value.status == 403


def test_site_scoping_and_candidates(trial, day1):
    q = _raise(trial, day1)
    held = _raise(trial, day1, candidate=True)
    nurse, other = trial["nurse_hgh"], trial["nurse_rh"]
    assert set(selectors.queries_for(nurse)) == {q}
    assert set(selectors.queries_for(trial["data_manager"])) == {q, held}
    with pytest.raises(Http404):
        selectors.query_for_user(other, q.number)
    with pytest.raises(Http404):
        selectors.query_for_user(nurse, held.number)
    with pytest.raises(PermissionDenied):
        selectors.queries_for(trial["statistician"])
    with pytest.raises(PermissionDenied):
        services.raise_query(user=nurse, participant=day1.participant, text="x")


def test_target_is_checked(trial, day1):
    p, monitor = day1.participant, trial["monitor"]
    with pytest.raises(Refused, match="field must be one of"):
        services.raise_query(user=monitor, participant=p, form="daily", object_id=day1.pk, field="arm", text="x")
    with pytest.raises(Refused, match="has no daily record"):
        services.raise_query(user=monitor, participant=p, form="daily", object_id=999999, text="x")
    with pytest.raises(Refused, match="question|text is required"):
        services.raise_query(user=monitor, participant=p, text="  ")
    q = services.raise_query(user=monitor, participant=p, text="Consent form v2.1 missing in the ISF?")
    assert q.target == "participant" and q.form == ""


def test_filters_by_site_state_and_age(trial, day1):
    import datetime as dt

    from django.utils import timezone

    q = _raise(trial, day1)
    dm = trial["data_manager"]
    assert list(selectors.filtered(dm, site="HGH", state="open")) == [q]
    assert list(selectors.filtered(dm, site="RH")) == []
    assert list(selectors.filtered(dm, state="answered")) == []
    assert list(selectors.filtered(dm, min_age_days=2)) == []
    later = timezone.now() + dt.timedelta(days=3)
    assert list(selectors.filtered(dm, min_age_days=2, now=later)) == [q]
    assert selectors.age_days(q, later) == 3


def test_pages(trial, day1, client_for):
    p = day1.participant
    monitor, nurse = client_for("monitor"), client_for("nurse_hgh")
    page = monitor.get(f"/participants/{p.number}/queries/")
    assert page.status_code == 200 and "Raise a query" in page.content.decode()
    r = monitor.post(f"/participants/{p.number}/queries/", {"record": f"daily:{day1.pk}", "field": "platelets",
                                                           "text": "Check platelets"})
    assert r.status_code == 302
    q = Query.objects.get()
    assert "Raise a query" not in nurse.get(f"/participants/{p.number}/queries/").content.decode()
    assert q.label in nurse.get("/monitoring/queries/").content.decode()
    r = nurse.post(f"/monitoring/queries/{q.number}/", {"action": "close", "text": "done"})
    assert r.status_code == 403 and Query.objects.get().state == S.OPEN
    r = nurse.post(f"/monitoring/queries/{q.number}/", {"action": "answer", "text": "Checked: 90 is right"})
    assert r.status_code == 302 and Query.objects.get().state == S.ANSWERED
    r = monitor.post(f"/monitoring/queries/{q.number}/", {"action": "answer", "text": "x"})
    assert r.status_code == 403
    r = monitor.post(f"/monitoring/queries/{q.number}/", {"action": "close", "text": ""})
    assert r.status_code == 400 and Query.objects.get().state == S.ANSWERED
    assert client_for("nurse_rh").get(f"/monitoring/queries/{q.number}/").status_code == 404
    assert client_for("statistician").get("/monitoring/queries/").status_code == 403
    listing = monitor.get("/monitoring/queries/?site=HGH&state=answered&min_age_days=0").content.decode()
    assert q.label in listing


def test_api(trial, day1, api_for):
    p = day1.participant
    monitor, nurse = api_for("monitor"), api_for("nurse_hgh")
    r = monitor.post("/api/v1/monitoring/queries", {"participant_id": p.number, "form": "daily",
                                                    "object_id": str(day1.pk), "field": "platelets",
                                                    "text": "Check"}, content_type="application/json")
    assert r.status_code == 201, r.content
    qid = r.json()["query_id"]
    assert r.json()["state"] == "open" and r.json()["actions"] == ["cancel"]
    assert nurse.get(f"/api/v1/monitoring/queries/{qid}").json()["actions"] == ["answer"]
    assert api_for("nurse_rh").get(f"/api/v1/monitoring/queries/{qid}").status_code == 404
    assert api_for("nurse_rh").get("/api/v1/monitoring/queries").json() == []
    r = nurse.post(f"/api/v1/monitoring/queries/{qid}/transitions", {"action": "close", "text": "x"},
                   content_type="application/json")
    assert r.status_code == 403
    r = nurse.post(f"/api/v1/monitoring/queries/{qid}/transitions", {"action": "answer", "text": "ok"},
                   content_type="application/json")
    assert r.status_code == 200 and r.json()["state"] == "answered"
    r = monitor.post(f"/api/v1/monitoring/queries/{qid}/transitions", {"action": "cancel", "text": "x"},
                     content_type="application/json")
    assert r.status_code == 409 and "answered" in r.json()["detail"]
    rows = monitor.get("/api/v1/monitoring/queries?site=HGH&state=answered").json()
    assert [x["query_id"] for x in rows] == [qid]
    assert monitor.get("/api/v1/monitoring/queries?min_age_days=-1").status_code == 400


def test_home_page_links_what_the_monitor_may_do(client_for):
    home = client_for("monitor").get("/").content.decode()
    assert '<a href="/monitoring/queries/">raise query</a>' in home
    assert '<a href="/monitoring/sdv/">verify source</a>' in home
    assert 'href="/monitoring/queries/">Queries</a>' in client_for("nurse_hgh").get("/").content.decode()


def test_monitoring_schema_names_are_unique_in_the_api():
    """The OpenAPI schema keys components by class name: a name shared with another app's schema would make
    one endpoint document (and be fuzzed against) the other's shape."""
    import importlib
    import inspect

    from ninja import Schema

    def names(module):
        mod = importlib.import_module(module)
        return {n for n, c in inspect.getmembers(mod, inspect.isclass)
                if issubclass(c, Schema) and c.__module__ == mod.__name__}

    ours = names("shine.trial.monitoring.schemas")
    for app in ("accounts", "audit", "enrollment", "allocation", "records", "reports", "safety"):
        assert not ours & names(f"shine.trial.{app}.schemas"), app
