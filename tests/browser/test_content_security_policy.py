"""In Chromium, under the policy the server itself sends (no 'unsafe-inline'): pages with scripts still work
and the browser refuses nothing (a refusal is reported on the console)."""

import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser


def watch_refusals(page) -> list[str]:
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: refused.append(str(e)))
    return refused


def test_the_screening_form_script_runs_under_the_policy(phone_page, live_app):
    page = phone_page
    refused = watch_refusals(page)
    log_in(page, "nurse", live_app.password)
    page.wait_for_url("**/")
    response = page.goto("/screening/new/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    page.select_option("#id_sex", "M")
    assert page.locator("#id_pregnant").is_hidden()  # the form's script ran
    page.goto("/participants/")
    assert not refused, refused


def test_the_api_documentation_loads_under_the_policy(browser_page, live_app):
    page = browser_page
    refused = watch_refusals(page)
    log_in(page, "monitor", live_app.password)  # a privileged role: the helper gives the code too
    page.wait_for_url("**/")
    page.goto("/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=20000)
    assert "SHINE trial API" in page.locator(".swagger-ui .info").inner_text()
    assert not refused, refused
