"""Changing one's password (re-authentication, the common-password list, long passphrases), an admin ending a
user's sessions, and the lockout mailed to the account's owner and the admins."""

import json
import logging
import time

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from shine.trial.accounts import second_factor
from shine.trial.audit import services as audit
from shine.trial.audit.models import AuditEvent

from .conftest import PASSWORD, SYSTEM

NEW = "a long new passphrase for the ward " + "x" * 40  # 75 characters


def logged_in(username):
    c = Client()
    assert c.post("/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return c


def code_for(user):
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    clock = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    clock.time = time.time()
    return f"{clock.token():06d}"


def test_a_user_changes_their_password_with_the_current_one_and_other_sessions_end(users):
    page, other = logged_in("nurse_hgh"), logged_in("nurse_hgh")
    assert "Change your password" in page.get("/account/password/").content.decode()
    wrong = page.post("/account/password/", {"current_password": "not-it-at-all", "new_password": NEW})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.content.decode()
    common = page.post("/account/password/", {"current_password": PASSWORD, "new_password": "password1234"})
    assert common.status_code == 400 and "too common" in common.content.decode()
    short = page.post("/account/password/", {"current_password": PASSWORD, "new_password": "short"})
    assert "at least 12 characters" in short.content.decode()
    old_key = page.session.session_key
    done = page.post("/account/password/", {"current_password": PASSWORD, "new_password": NEW})
    assert done.status_code == 302
    assert page.get("/").status_code == 200 and page.session.session_key != old_key  # this one goes on
    assert other.get("/").status_code == 302  # the other session has ended
    assert Client().post("/login/", {"username": "nurse_hgh", "password": NEW}).status_code == 302
    assert Client().post("/login/", {"username": "nurse_hgh", "password": PASSWORD}).status_code == 400
    actions = list(AuditEvent.objects.filter(object_id="nurse_hgh").values_list("action", flat=True))
    assert "password_change_refused" in actions and "password_changed" in actions and "sessions_ended" in actions
    assert NEW not in json.dumps(list(AuditEvent.objects.values_list("changes", "reason")))


def test_the_api_changes_a_password_and_asks_a_code_of_a_user_with_an_authenticator(users, api_for, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    second_factor.enrol_for_demo(users["monitor"])
    api = api_for("monitor")
    body = {"current_password": PASSWORD, "new_password": NEW}
    no_code = api.post("/api/v1/me/password", body, content_type="application/json")
    assert no_code.status_code == 403 and no_code.json()["errors"][0]["field"] == "code"
    ok = api.post("/api/v1/me/password", {**body, "code": code_for(users["monitor"])}, content_type="application/json")
    assert ok.status_code == 200 and ok.json() == {"username": "monitor", "changed": True}
    users["monitor"].refresh_from_db()
    assert users["monitor"].check_password(NEW)
    long = api.post("/api/v1/me/password", {"current_password": NEW, "new_password": "y" * 257},
                    content_type="application/json")
    assert long.status_code == 400 and "at most 256" in long.json()["detail"]


def test_an_admin_ends_a_users_sessions(users, caplog):
    a, b, someone_else = logged_in("nurse_hgh"), logged_in("nurse_hgh"), logged_in("nurse_rh")
    with caplog.at_level(logging.WARNING, logger="shine.security"):
        call_command("users", "end-sessions", "nurse_hgh", "--reason", "phone stolen")
    assert a.get("/").status_code == 302 and b.get("/").status_code == 302
    assert someone_else.get("/").status_code == 200
    ev = AuditEvent.objects.filter(action="sessions_ended").get()
    assert ev.object_id == "nurse_hgh" and "phone stolen (2 sessions)" == ev.reason
    assert any(r.getMessage() == "sessions_ended" and r.security["count"] == 2 for r in caplog.records)


def test_a_lost_authenticator_is_reset_by_the_admin(users):
    second_factor.enrol_for_demo(users["data_manager"])
    call_command("users", "reset-second-factor", "data_manager", "--reason", "lost phone")
    assert not TOTPDevice.objects.filter(user=users["data_manager"]).exists()
    c = Client()
    assert c.post("/login/", {"username": "data_manager", "password": PASSWORD})["Location"] == "/login/second-factor/"


def test_the_lockout_is_mailed_once_to_the_owner_and_the_admins(users, settings, caplog,
                                                                 django_capture_on_commit_callbacks):
    settings.LOGIN_MAX_FAILURES = 3
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    audit.update(users["admin"], actor=SYSTEM, reason="mail", email="admin@hospital.example")
    audit.update(users["nurse_hgh"], actor=SYSTEM, reason="mail", email="nurse@hospital.example")
    with caplog.at_level(logging.WARNING, logger="shine.security"), \
            django_capture_on_commit_callbacks(execute=True):
        for i in range(5):
            Client().post("/login/", {"username": "nurse_hgh", "password": f"wrong-{i}-guess"})
    assert len(mail.outbox) == 1  # the attempt that locked it; refusals while locked send nothing more
    m = mail.outbox[0]
    assert sorted(m.to) == ["admin@hospital.example", "nurse@hospital.example"]
    assert "nurse_hgh" in m.subject and "locked for 15 minutes" in m.body and "wrong-" not in m.body
    assert [r.security["user"] for r in caplog.records if r.getMessage() == "account_locked"] == ["nurse_hgh"]


def test_a_lockout_with_no_address_sends_nothing_and_does_not_fail(users, settings,
                                                                   django_capture_on_commit_callbacks):
    settings.LOGIN_MAX_FAILURES = 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(3):
            assert Client().post("/login/", {"username": "nurse_rh", "password": f"wrong-{i}-guess"}).status_code == 400
    assert not mail.outbox


@pytest.mark.parametrize("length", [12, 64, 256])
def test_passwords_of_any_length_from_12_to_256_are_taken(users, length):
    c = logged_in("nurse_rh")
    new = ("correct horse battery staple " * 10)[:length]
    assert c.post("/account/password/", {"current_password": PASSWORD, "new_password": new}).status_code == 302
    assert Client().post("/login/", {"username": "nurse_rh", "password": new}).status_code == 302


def test_parallel_wrong_passwords_send_one_lockout_mail(transactional_db, settings):
    """20 guesses at once on PostgreSQL: the lockout is mailed once, after the commit of the attempt that locks."""
    import threading

    from django.db import connection, connections

    from shine.trial.accounts.services import create_user, sync_sites_from_protocol
    from tests.support import require_postgres

    require_postgres(connection)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sync_sites_from_protocol(actor=SYSTEM)
    create_user(actor=SYSTEM, username="target", role="nurse", sites=["HGH"], password=PASSWORD,
                email="target@hospital.example")
    start = threading.Barrier(20)

    def guess(i):
        try:
            start.wait()
            Client().post("/login/", {"username": "target", "password": f"guess-{i:04d}-wrong"})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [m.to for m in mail.outbox] == [["target@hospital.example"]]


def test_a_new_role_that_needs_a_second_factor_ends_the_password_only_sessions(users):
    from shine.trial.accounts.services import change_role

    session = logged_in("nurse_rh")
    change_role(users["nurse_rh"], actor=SYSTEM, role="monitor", reason="joined the GCP unit")
    assert session.get("/").status_code == 302
    again = Client()
    assert again.post("/login/", {"username": "nurse_rh", "password": PASSWORD})["Location"] == "/login/second-factor/"
