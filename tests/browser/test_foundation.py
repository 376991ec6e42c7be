"""In Chromium: a nurse logs in and sees their home page; an auditor filters the audit trail."""

import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("page_fixture", ["browser_page", "phone_page"])
def test_nurse_logs_in_and_sees_the_home_page(request, page_fixture, live_app):
    page = request.getfixturevalue(page_fixture)
    log_in(page, "nurse", live_app.password)
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Research nurse"
    assert "Herlev Hospital" in page.content()
    assert "Audit trail" not in page.locator("header").inner_text()
    # nothing overflows the phone's width
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]


def test_wrong_password_is_shown_on_the_form(browser_page, live_app):
    log_in(browser_page, "nurse", "not-the-password")
    assert browser_page.locator("[role=alert]").inner_text() == "wrong username or password"


def test_auditor_filters_the_audit_trail(browser_page, live_app):
    live_app.shine("users", "create", "filtered_user", "--role", "monitor")
    log_in(browser_page, "auditor", live_app.password)
    browser_page.wait_for_url("**/")
    browser_page.click("text=Audit trail")
    browser_page.wait_for_url("**/audit/")
    browser_page.fill("#id_actor", "system:users")
    browser_page.fill("#id_object_type", "accounts.user")
    browser_page.click("button:text('Filter')")
    browser_page.wait_for_url("**/audit/?*")
    rows = browser_page.locator("table.audit tbody tr")
    assert rows.count() == 1
    assert "filtered_user" in rows.first.inner_text()
    browser_page.fill("#id_date_from", "2030-01-02")
    browser_page.fill("#id_date_to", "2030-01-01")
    browser_page.click("button:text('Filter')")
    assert "must be on or after" in browser_page.locator("[role=alert]").inner_text()
