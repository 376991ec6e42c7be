"""A real SHINE server (``shine demo`` + ``shine serve`` on a temporary SQLite database) and Chromium.

``live_app.url`` is the server's address, ``live_app.password`` the demo users' password, and
``live_app.shine(*args)`` runs the ``shine`` command against the same database. ``browser_page`` is a
Playwright page in Debian's Chromium (/usr/bin/chromium), never a downloaded browser; ``phone_page`` the
same at 390 px wide.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import need

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@dataclass
class LiveApp:
    url: str
    password: str
    env: dict
    var_dir: Path

    def shine(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "shine.cli", *args], env=self.env, capture_output=True,
                                text=True, timeout=600)
        if check and result.returncode != 0:
            raise AssertionError(f"shine {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result


_running: dict[str, LiveApp] = {}  # the servers by address, for log_in's second step


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_demo(var: Path, **env_extra: str):
    """``shine demo`` into a new SQLite database under ``var``, then ``shine serve`` on a free port, until exit."""
    from shine.web.management.commands.demo import DEMO_PASSWORD

    env = {**os.environ, "SHINE_VAR_DIR": str(var), "DATABASE_URL": f"sqlite:///{var}/shine.sqlite3",
           "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", **env_extra}
    app = LiveApp(url="", password=DEMO_PASSWORD, env=env, var_dir=var)
    app.shine("demo")
    port = _free_port()
    with open(var / "server.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "shine.cli", "serve", "--port", str(port), "--workers", "1"],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        app.url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(app.url + "/login/", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("the server did not start:\n" + (var / "server.log").read_text())
                time.sleep(0.3)
        _running[app.url] = app
        try:
            yield app
        finally:
            _running.pop(app.url, None)
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    with serve_demo(tmp_path_factory.mktemp("live")) as app:
        yield app


@pytest.fixture(scope="session")
def chromium():
    need(shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM), f"Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_app):
    context = chromium.new_context(base_url=live_app.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(chromium, live_app):
    context = chromium.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844},
                                   is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


@contextlib.contextmanager
def nurse_on_a_phone(chromium, live_app, locale: str, username: str = "nurse"):
    """The demo's HGH nurse (or another demo user) logged in on a 390 x 844 touch screen whose browser prefers
    ``locale``."""
    context = chromium.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True, locale=locale)
    page = context.new_page()
    log_in(page, username, live_app.password)
    page.wait_for_url("**/")
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def danish_phone(chromium, live_app):
    with nurse_on_a_phone(chromium, live_app, "da-DK") as page:
        yield page


@pytest.fixture
def english_phone(chromium, live_app):
    with nurse_on_a_phone(chromium, live_app, "en-GB") as page:
        yield page


def log_in(page, username: str, password: str) -> None:
    """Log in through the page; a role with an authenticator (the demo enrols one for each role that needs it)
    also gets the code step done, with a code computed from the device's secret as the user's phone would."""
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    if page.url.split("?")[0].endswith("/login/code/"):
        page.fill("#id_code", totp_code(_running[_origin(page.url)], username))
        page.click("button[type=submit]")


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def totp_code(app: LiveApp, username: str) -> str:
    """The current code of the user's authenticator in the live app's database: one step past the last code
    accepted (codes are single use, and the device takes the step after now too), waiting if even that is used."""
    import sqlite3

    from django_otp.oath import TOTP

    db = sqlite3.connect(app.var_dir / "shine.sqlite3")
    try:
        key, step, t0, digits, drift, last_t = db.execute(
            "SELECT d.key, d.step, d.t0, d.digits, d.drift, d.last_t FROM otp_totp_totpdevice d JOIN accounts_user u "
            "ON u.id = d.user_id WHERE u.username = ? AND d.confirmed", (username,)).fetchone()
    finally:
        db.close()
    clock = TOTP(bytes.fromhex(key), step, t0, digits, drift)
    clock.time = time.time()
    while clock.t() <= last_t - 1:  # the step after now is spent as well: wait for the clock
        time.sleep(1)
        clock.time = time.time()
    if clock.t() <= last_t:
        clock.time += step
    return f"{clock.token():0{digits}d}"
