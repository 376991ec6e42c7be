"""Logging in and out: audited, locked after repeated failures, sessions expire when idle, tokens checked."""

import datetime as dt
import importlib

import pytest
from django.test import Client

from shine.trial.accounts.models import ApiToken
from shine.trial.audit.models import AuditEvent

from .conftest import PASSWORD


def login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_login_lands_on_the_home_page_and_is_audited(users, client):
    response = login(client, "nurse_hgh", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert "Research nurse" in client.get("/").content.decode()
    ev = AuditEvent.objects.order_by("-id").first()
    assert (ev.action, ev.actor, ev.role) == ("login", "nurse_hgh", "nurse")


def test_wrong_password_is_refused_clearly_and_audited(users, client):
    response = login(client, "nurse_hgh", "not-the-password")
    assert response.status_code == 400
    assert "wrong username or password" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.order_by("-id").first().action == "login_failed"


def test_blank_fields_name_the_field(users, client):
    response = login(client, "", "")
    assert response.status_code == 400
    assert response.content.decode().count("This field is required.") == 2


def test_repeated_failures_lock_the_account(users, client, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        login(client, "nurse_hgh", "wrong-password")
    response = login(client, "nurse_hgh", PASSWORD)
    assert response.status_code == 400
    assert "locked" in response.content.decode()
    assert AuditEvent.objects.order_by("-id").first().action == "login_refused_locked"
    other = login(Client(), "nurse_rh", PASSWORD)  # other accounts are unaffected
    assert other.status_code == 302


def test_logout_is_audited_and_ends_the_session(users, client):
    login(client, "auditor", PASSWORD)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert AuditEvent.objects.order_by("-id").first().action == "logout"
    assert client.get("/").status_code == 302


def test_an_idle_session_expires(users, client):
    login(client, "nurse_hgh", PASSWORD)
    session = client.session
    session.set_expiry(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_sessions_are_renewed_on_each_request_and_idle_out_after_the_setting(settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE == 30 * 60


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer ", "Bearer nonsense", "Bearer shine_", "Bearer shine_abc", "Bearer shine_0000_xxxx",
    "Basic dXNlcjpwYXNz", "Token abc",
])
def test_malformed_or_unknown_tokens_get_401_in_the_envelope(users, header):
    response = Client(headers={"Authorization": header}).get("/api/v1/me")
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"detail", "errors"} and "Bearer" in body["detail"]


def test_revoked_token_and_inactive_user_are_refused(users, api_for):
    client = api_for("monitor")
    assert client.get("/api/v1/me").status_code == 200
    from shine.trial.audit import services as audit

    from .conftest import SYSTEM
    token = ApiToken.objects.get(user=users["monitor"])
    audit.update(token, actor=SYSTEM, reason="lost laptop", revoked_at=dt.datetime.now(dt.UTC))
    assert client.get("/api/v1/me").status_code == 401


def test_tokens_are_stored_hashed(users, api_for):
    client = api_for("auditor")
    raw = client.defaults["HTTP_AUTHORIZATION"].split()[1]
    token = ApiToken.objects.get(user=users["auditor"])
    assert raw not in (token.digest, token.prefix) and len(token.digest) == 64
    assert raw not in AuditEvent.objects.filter(object_type="accounts.apitoken").values_list("changes", flat=True)[0]


def test_production_settings_are_strict(monkeypatch):
    import shine.web.settings as settings_module
    monkeypatch.setenv("SHINE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    monkeypatch.setenv("DATABASE_URL", "postgres://u@localhost/db")
    monkeypatch.setenv("ALLOWED_HOSTS", "shine.example.org")
    monkeypatch.setenv("CPR_ENCRYPTION_KEY", "0" * 43 + "=")
    monkeypatch.setenv("SHINE_BLINDING_KEY", "b" * 43)
    try:
        prod = importlib.reload(settings_module)
        assert prod.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
        assert prod.SESSION_COOKIE_SECURE and prod.CSRF_COOKIE_SECURE and prod.SECURE_HSTS_SECONDS > 0
        assert prod.LANGUAGE_COOKIE_SECURE and prod.LANGUAGE_COOKIE_HTTPONLY
        from django.core.exceptions import ImproperlyConfigured
        # a production start without the blinding secret (or with a short one) is refused
        for value, message in (("", "SHINE_BLINDING_KEY is required"), ("short", "at least 32 characters")):
            monkeypatch.setenv("SHINE_BLINDING_KEY", value)
            with pytest.raises(ImproperlyConfigured, match=message):
                importlib.reload(settings_module)
        monkeypatch.setenv("SHINE_BLINDING_KEY", "b" * 43)
        monkeypatch.delenv("SECRET_KEY")
        with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
            importlib.reload(settings_module)
    finally:
        monkeypatch.undo()
        importlib.reload(settings_module)
