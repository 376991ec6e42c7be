"""In Chromium at phone width: the trial manager sees progress toward the interim and its forecast; the DSMB
statistician takes a freeze, runs the interim and downloads the closed report; the trial manager gets the
open report only."""

import hashlib
import json

import pytest

from .conftest import log_in
from .strict_csp import visit_under_strict_csp

pytestmark = pytest.mark.browser


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"


def test_trial_manager_sees_progress_and_forecast_on_a_phone(phone_page, live_app):
    page = phone_page
    log_in(page, "trial_manager", live_app.password)
    page.wait_for_url("**/")
    page.click("header >> text=Progress")
    page.wait_for_url("**/reports/progress/")
    progress = page.locator("#progress").inner_text()
    assert "of 200 for the interim" in progress
    forecast = page.locator("#forecast").inner_text()
    assert "95 % interval" in forecast and "Gamma" in forecast
    rows = page.locator("#sites tbody tr")
    assert rows.count() == 6  # every site, those without participants too
    # the sites add up to the trial's total (40 from the demo, and any the other browser tests randomised)
    randomised = int(progress.split("Randomised: ")[1].split(".")[0])
    assert randomised >= 40
    assert sum(int(rows.nth(i).locator("td").nth(1).inner_text()) for i in range(6)) == randomised
    # recruitment against the protocol's plan, and per site the data timeliness and open queries
    assert page.locator("#against-plan svg polyline.actual").count() == 1
    assert page.locator("#against-plan svg polyline.planned").count() == 1
    assert "dashed: planned" in page.locator("#against-plan").inner_text()
    head = page.locator("#sites thead").inner_text()
    assert "Days from visit to entry" in head and "Open queries" in head
    assert rows.nth(0).locator("td.timeliness").inner_text() != ""
    months = page.locator("#recruitment tbody tr")
    assert int(months.nth(months.count() - 1).locator("td").nth(8).inner_text()) == randomised  # cumulative
    _fits(page)
    visit_under_strict_csp(page, ["/reports/progress/", "/reports/interim/", "/reports/recommendations/"])


def test_dsmb_statistician_runs_and_downloads_the_interim_report(phone_page, live_app, chromium):
    page = phone_page
    log_in(page, "dsmb_statistician", live_app.password)
    page.wait_for_url("**/")
    page.click("header >> text=Interim")
    page.wait_for_url("**/reports/interim/")
    page.click("text=Take a freeze of the data now")
    page.wait_for_url("**/reports/interim/")
    assert "Freeze" in page.locator(".messages").inner_text()
    page.click("text=Run the interim")
    page.wait_for_url("**/reports/interim/", timeout=120_000)
    assert "participants analysed" in page.locator(".messages").inner_text()
    _fits(page)
    visit_under_strict_csp(page, ["/reports/progress/", "/reports/recommendations/", "/reports/interim/"])  # ends here
    with page.expect_download() as info:
        page.click("#runs a.closed:text('report.html')")
    path = info.value.path()
    html = open(path, encoding="utf-8").read()
    assert "closed report" in html and "Conditional power under the design effect" in html
    with page.expect_download() as info:
        page.click("#runs a.closed:text('manifest.json')")
    manifest = json.load(open(info.value.path()))
    assert manifest["files"]["report.html"] == hashlib.sha256(open(path, "rb").read()).hexdigest()
    # the download was logged: the audit trail (as the auditor) lists it
    auditor = chromium.new_context(base_url=live_app.url).new_page()
    log_in(auditor, "auditor", live_app.password)
    auditor.wait_for_url("**/")
    auditor.goto("/audit/?object_type=reports.reportdownload")
    assert "reports.reportdownload" in auditor.content()
    auditor.context.close()
    # the trial manager gets the open report, never the closed one
    manager = chromium.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844}).new_page()
    log_in(manager, "trial_manager", live_app.password)
    manager.wait_for_url("**/")
    manager.goto("/reports/interim/")
    assert manager.locator("#runs a.closed").count() == 0
    with manager.expect_download() as info:
        manager.click("#runs a:text('report.html')")
    text = open(info.value.path(), encoding="utf-8").read()
    assert "open report (pooled)" in text and "Observed z" not in text
    manager.context.close()
