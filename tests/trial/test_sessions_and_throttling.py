"""Accounts and sessions under attack: parallel password guessing, password re-entry for unblinding,
sessions that outlive their login, deactivated users, cached pages, short passwords."""

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client

from shine.trial.accounts.services import (
    SESSION_STARTED,
    create_token,
    create_user,
    deactivate,
    sync_sites_from_protocol,
)
from shine.trial.allocation import services as allocation
from shine.trial.audit.models import AuditEvent
from shine.trial.errors import Refused
from tests.support import require_postgres
from tests.trial.enrollment.factories import randomised, trial_setup

from .conftest import PASSWORD, SYSTEM


def test_parallel_wrong_passwords_are_each_counted_and_the_lockout_holds(transactional_db):
    """40 guesses at once on PostgreSQL: exactly LOGIN_MAX_FAILURES are checked, the rest refused unchecked."""
    require_postgres(connection)  # before any write: SQLite's test database cannot be flushed of audit rows
    sync_sites_from_protocol(actor=SYSTEM)
    create_user(actor=SYSTEM, username="target", role="nurse", sites=["HGH"], password=PASSWORD)
    start, codes = threading.Barrier(40), []

    def guess(i):
        try:
            start.wait()
            codes.append(Client().post("/login/", {"username": "target", "password": f"guess-{i:04d}-wrong"})
                         .status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    actions = list(AuditEvent.objects.filter(object_type="accounts.login", object_id="target")
                   .values_list("action", flat=True))
    assert codes == [400] * 40
    assert actions.count("login_failed") == settings.LOGIN_MAX_FAILURES
    assert actions.count("login_refused_locked") == 40 - settings.LOGIN_MAX_FAILURES
    # and the right password is refused too while locked
    assert Client().post("/login/", {"username": "target", "password": PASSWORD}).status_code == 400


def test_unblinding_password_reentry_is_throttled(users, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    trial_setup(users["pharmacist"])
    participant, _ = randomised(users["nurse_hgh"])
    investigator = users["investigator_hgh"]
    reason = "uncontrolled bleeding, need to know the arm"
    for _ in range(settings.LOGIN_MAX_FAILURES):
        with pytest.raises(Refused, match="the password is wrong"):
            allocation.emergency_unblind(participant, user=investigator, reason=reason, password="wrong-guess")
    with pytest.raises(Refused, match="too many wrong passwords: unblinding is locked"):
        allocation.emergency_unblind(participant, user=investigator, reason=reason, password=PASSWORD)
    assert not participant.unblindings.exists()


def test_a_session_ends_at_its_absolute_lifetime_however_active(users):
    client = Client()
    assert client.post("/login/", {"username": "nurse_hgh", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    session = client.session
    started = dt.datetime.fromisoformat(session[SESSION_STARTED])
    session[SESSION_STARTED] = (started - dt.timedelta(hours=settings.SESSION_ABSOLUTE_HOURS, minutes=1)).isoformat()
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_logout_ends_the_server_session(users):
    client = Client()
    client.post("/login/", {"username": "nurse_hgh", "password": PASSWORD})
    old = client.cookies["sessionid"].value
    client.post("/logout/")
    replay = Client()
    replay.cookies["sessionid"] = old
    assert replay.get("/").status_code == 302


def test_a_deactivated_user_loses_sessions_and_tokens_at_once(users):
    nurse = users["nurse_hgh"]
    client = Client()
    client.post("/login/", {"username": "nurse_hgh", "password": PASSWORD})
    token = create_token(nurse, actor=SYSTEM, name="test")
    api = Client(headers={"Authorization": f"Bearer {token}"})
    assert api.get("/api/v1/participants").status_code == 200
    deactivate(nurse, actor=SYSTEM, reason="left the unit")
    assert client.get("/").status_code == 302
    assert api.get("/api/v1/participants").status_code == 401


def test_no_page_or_api_response_is_cached(users, client_for, api_for):
    for response in (client_for("nurse_hgh").get("/"), api_for("nurse_hgh").get("/api/v1/participants"),
                     Client().get("/login/")):
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_passwords_need_twelve_characters_and_may_be_long(sites):
    with pytest.raises(Refused, match="at least 12 characters"):
        create_user(actor=SYSTEM, username="short", role="nurse", sites=["HGH"], password="elevenchars")
    create_user(actor=SYSTEM, username="long", role="nurse", sites=["HGH"], password="p" * 20 + " words " * 9)


def test_security_log_lines_are_json_and_refusals_are_audited(users, client_for, caplog):
    import json
    import logging

    from shine.trial.audit.security import JsonLines

    caplog.set_level(logging.INFO, logger="shine.security")
    nurse = client_for("nurse_hgh")
    assert nurse.get("/audit/").status_code == 403
    Client().post("/login/", {"username": "evil\r\n{\"event\": \"login\"}", "password": "x" * 12})
    formatted = [JsonLines().format(r) for r in caplog.records if r.name == "shine.security"]
    assert all("\n" not in line for line in formatted)  # a CR/LF typed by a user cannot start a new line
    lines = [json.loads(line) for line in formatted]
    refused = [e for e in lines if e["event"] == "permission_refused"]
    assert refused and refused[0]["route"] == "/audit/" and refused[0]["user"] == "nurse_hgh"
    failed = [e for e in lines if e["event"] == "login_failed"]
    assert failed and failed[0]["user"].startswith("evil\r\n")
    assert not [e for e in lines if e["event"] == "login"]
    ev = AuditEvent.objects.filter(action="permission_refused").latest("id")
    assert ev.actor == "nurse_hgh" and ev.reason == "GET /audit/ → 403"
