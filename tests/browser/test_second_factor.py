"""In Chromium at phone width: a new trial manager's first login sets up an authenticator, sees the recovery
codes once, and later logs in with password and code; a user changes their password."""

import base64
import re
import time

import pytest
from django_otp.oath import TOTP

from .conftest import log_in

pytestmark = pytest.mark.browser


def current_code(secret: str, offset_steps: int = 0) -> str:
    raw = secret.replace(" ", "")
    clock = TOTP(base64.b32decode(raw + "=" * (-len(raw) % 8)))
    clock.time = time.time() + 30 * offset_steps
    return f"{clock.token():06d}"


def test_first_login_enrols_then_logs_in_with_a_code(phone_page, live_app):
    password = "a phone-width passphrase"
    live_app.shine("users", "create", "tm_new", "--role", "trial_manager", "--password", password)
    page = phone_page
    page.goto("/login/")
    page.fill("#id_username", "tm_new")
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/second-factor/")
    secret = page.locator("#otp-secret").inner_text()
    assert page.locator("#otp-uri").input_value().startswith("otpauth://totp/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill("#id_code", "000000" if current_code(secret) != "000000" else "111111")
    page.click("button[type=submit]")
    assert "does not match" in page.locator("[role=alert]").inner_text()
    page.wait_for_timeout(1500)  # a wrong code holds the device back a second (django-otp's throttle)
    page.fill("#id_code", current_code(secret))
    page.click("button[type=submit]")
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 8 and all(re.fullmatch(r"[a-z2-9]{10}", c) for c in codes)
    page.click("text=Continue")
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Trial manager"
    page.click("button:text('Log out')")
    page.wait_for_url("**/login/")
    # next time: password, then a code (the next step's: this step's code is spent)
    page.fill("#id_username", "tm_new")
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/login/code/")
    page.fill("#id_code", current_code(secret, offset_steps=1))
    page.click("button[type=submit]")
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Trial manager"


def test_a_user_changes_their_password_on_a_phone(phone_page, live_app):
    old, new = "the old ward passphrase", "a brand new ward passphrase"
    live_app.shine("users", "create", "nurse_pw", "--role", "nurse", "--site", "HGH", "--password", old)
    log_in(phone_page, "nurse_pw", old)
    phone_page.wait_for_url("**/")
    phone_page.click("header >> text=nurse_pw")
    phone_page.wait_for_url("**/account/password/")
    phone_page.fill("#id_current_password", old)
    phone_page.fill("#id_new_password", "password1234")
    phone_page.click("button:text('Change password')")
    assert "too common" in phone_page.locator("[role=alert]").inner_text()
    phone_page.fill("#id_current_password", old)
    phone_page.fill("#id_new_password", new)
    phone_page.click("button:text('Change password')")
    phone_page.wait_for_url("**/")
    assert "password is changed" in phone_page.content()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_privileged_demo_user_logs_in_with_the_helper(browser_page, live_app):
    log_in(browser_page, "monitor", live_app.password)
    browser_page.wait_for_url("**/")
    assert browser_page.locator("h1").inner_text() == "Monitor (GCP unit)"
