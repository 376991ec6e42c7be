"""The README's production section, followed literally on a fresh PostgreSQL database, with least privilege.

superuser: `shine db roles` → owner: `shine migrate`, `shine db grant` → first admin and site users with
tokens → `shine serve` with SHINE_ENV=production as the app role → log in → a pharmacist ships packs → a
nurse screens, enrols and randomises one participant through the API. Then, connected as the app role, the
database refuses every way of shortening or rewriting the audit trail.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django_otp.oath import TOTP

from tests.support import require_postgres
from tests.trial.enrollment.factories import ELIGIBLE

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
SHINE = str(Path(sys.executable).with_name("shine"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fresh_database():
    """A new database on the test server, and the superuser's URL of it; dropped afterwards."""
    require_postgres(connection)
    s = connection.settings_dict
    name, tag = f"shine_prod_{secrets.token_hex(4)}", secrets.token_hex(3)
    base = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield {"name": name, "host": f"{s['HOST']}:{s['PORT']}", "super": f"{base}/{name}",
           "owner": f"shine_owner_{tag}", "app": f"shine_app_{tag}"}
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        for role in (f"shine_owner_{tag}", f"shine_app_{tag}"):
            admin.execute(f"DROP ROLE IF EXISTS {role}")


def shine(env: dict, *args: str) -> str:
    done = subprocess.run([SHINE, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"shine {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def call(base: str, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                          "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_readme_production_flow_with_least_privilege(fresh_database, tmp_path):
    db = fresh_database
    port = _free_port()
    env = {**os.environ, "SHINE_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(50),
           "ALLOWED_HOSTS": "127.0.0.1", "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{port}",
           "CPR_ENCRYPTION_KEY": Fernet.generate_key().decode(), "SHINE_BLINDING_KEY": secrets.token_urlsafe(32),
           "SHINE_VAR_DIR": str(tmp_path / "var"), "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    env.pop("SHINE_REQUIRE_POSTGRES", None)
    as_super = {**env, "DATABASE_URL": db["super"]}
    as_owner = {**env, "DATABASE_URL": f"postgres://{db['owner']}@{db['host']}/{db['name']}"}
    as_app = {**env, "DATABASE_URL": f"postgres://{db['app']}@{db['host']}/{db['name']}"}

    shine(as_super, "db", "roles", "--owner", db["owner"], "--app", db["app"])
    shine(as_owner, "migrate")
    shine(as_owner, "db", "grant", "--app", db["app"])
    shine(as_app, "check", "--deploy", "--fail-level", "WARNING")

    # the sites come with migrate: site users can be created straight away, as the app role
    password = "a long admin passphrase"
    shine(as_app, "users", "create", "chief", "--role", "admin", "--password", password)
    tokens = {}
    for name, role, site in (("nurse1", "nurse", "HGH"), ("pharm1", "pharmacist", None)):
        out = shine(as_app, "users", "create", name, "--role", role, *(["--site", site] if site else []), "--token")
        tokens[name] = out.strip().splitlines()[-1].strip()

    server = subprocess.Popen([SHINE, "serve", "--host", "127.0.0.1", "--port", str(port)], env=as_app,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:  # gunicorn's workers take a while to boot on a busy machine
            try:
                urllib.request.urlopen(urllib.request.Request(f"{base}/login/",
                                                              headers={"X-Forwarded-Proto": "https"}), timeout=10)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "shine serve did not start"
                time.sleep(0.5)
        # log in through the page: CSRF token from the form, session cookie back
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        page = opener.open(urllib.request.Request(f"{base}/login/", headers={"X-Forwarded-Proto": "https"}))
        html = page.read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        cookie = page.headers.get_all("Set-Cookie")
        jar = "; ".join(c.split(";")[0] for c in cookie)
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "username": "chief",
                                       "password": password}).encode()
        login = urllib.request.Request(f"{base}/login/", data=form, headers={
            "X-Forwarded-Proto": "https", "Cookie": jar, "Referer": f"https://127.0.0.1:{port}/login/"})

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        try:
            urllib.request.build_opener(NoRedirect()).open(login)
            raise AssertionError("the login did not redirect")
        except urllib.error.HTTPError as e:
            assert e.code == 302 and "sessionid=" in " ".join(e.headers.get_all("Set-Cookie") or []), e.read()[:500]
            # the admin's first login sets up an authenticator: the password alone is not a session yet
            assert e.headers["Location"] == "/login/second-factor/"
            jar = "; ".join([c.split(";")[0] for c in e.headers.get_all("Set-Cookie") if c.startswith("sessionid=")]
                            + [c.split(";")[0] for c in cookie if c.startswith("csrftoken=")])
        https = {"X-Forwarded-Proto": "https", "Cookie": jar, "Referer": f"https://127.0.0.1:{port}/login/"}
        enrol = urllib.request.urlopen(
            urllib.request.Request(f"{base}/login/second-factor/", headers=https)).read().decode()
        secret = re.search(r'id="otp-secret">([A-Z2-7 ]+)<', enrol).group(1).replace(" ", "")
        clock = TOTP(base64.b32decode(secret + "=" * (-len(secret) % 8)))
        clock.time = time.time()
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "code": f"{clock.token():06d}"}).encode()
        done = urllib.request.urlopen(urllib.request.Request(f"{base}/login/second-factor/", data=form, headers=https))
        assert "recovery codes" in done.read().decode()
        session = [c.split(";")[0] for c in done.headers.get_all("Set-Cookie") if c.startswith("sessionid=")]
        me = urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/me",
                                                           headers={**https, "Cookie": session[0]}))
        assert json.loads(me.read())["username"] == "chief"

        # the pharmacist makes a list and packs and ships them to HGH; the nurse randomises one patient
        assert call(base, "POST", "/api/v1/allocation/lists", tokens["pharm1"], {"length_per_site": 10})[0] == 201
        status, packs = call(base, "POST", "/api/v1/allocation/packs", tokens["pharm1"], {"count_per_arm": 3})
        assert status == 201
        assert call(base, "POST", "/api/v1/allocation/packs/events", tokens["pharm1"],
                    {"kind": "received", "numbers": [p["number"] for p in packs], "site": "HGH"})[0] == 200
        now = dt.datetime.now(dt.UTC)
        facts = {**ELIGIBLE, "shock_diagnosed_at": (now - dt.timedelta(hours=3)).isoformat()}
        status, screened = call(base, "POST", "/api/v1/screenings", tokens["nurse1"],
                                {**facts, "site": "HGH", "screened_at": (now - dt.timedelta(minutes=5)).isoformat()})
        assert status == 201, screened
        status, participant = call(base, "POST", "/api/v1/participants", tokens["nurse1"], {
            "screening_id": screened["id"], "consenter_name": "Dr A", "second_consenter_name": "Dr B",
            "occurred_at": (now - dt.timedelta(minutes=1)).isoformat(), "form_version": "v1"})
        assert status == 201, participant
        status, randomised = call(base, "POST", f"/api/v1/participants/{participant['number']}/randomise",
                                  tokens["nurse1"], {"weight_kg": 70, "weight_estimated": False,
                                                   "request_id": "first-randomisation"})
        assert status == 200 and randomised["pack_number"] and randomised["infusion_rate_ml_per_h"] == 2.1, randomised
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert "OK" in shine(as_app, "audit", "verify", "--anchor", str(tmp_path / "var" / "audit-anchor.jsonl"))

    # the app role's own credentials cannot shorten or rewrite the trail
    with psycopg.connect(as_app["DATABASE_URL"], autocommit=True) as app:
        for sql in ("TRUNCATE audit_auditevent CASCADE", "TRUNCATE audit_auditseal",
                    "DELETE FROM audit_auditseal", "DELETE FROM audit_auditevent",
                    "UPDATE audit_auditevent SET reason = 'x'", "UPDATE audit_auditseal SET hash = 'x'",
                    "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
                    "DROP TRIGGER audit_auditevent_no_update ON audit_auditevent",
                    "ALTER TABLE enrollment_participant OWNER TO CURRENT_USER"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(sql)
        # while appending (what every write does) works
        app.execute("SELECT count(*) FROM audit_auditevent").fetchone()
