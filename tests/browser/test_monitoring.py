"""In Chromium on a phone (390 x 844): a monitor raises a query on a daily value, the site nurse corrects the
value on its form and answers, the monitor closes the query; the monitor verifies the corrected record
against the source, and the site's casebook shows it verified."""

import re

import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser

# an HGH daily record the nurse may still change: consent allows new data, platelets entered, no death
FIND = """
from shine.trial.records.models import DailyRecord
r = (DailyRecord.objects.filter(participant__site__code="HGH", participant__new_data_allowed=True,
     participant__death__isnull=True, platelets__isnull=False, needs_review=False)
     .order_by("participant__randomised_at", "study_day").first())
print(r.participant.number, r.study_day, r.pk, r.platelets)
"""


def test_query_raised_answered_with_a_correction_closed_and_verified_on_a_phone(phone_page, chromium, live_app):
    number, day, pk, platelets = live_app.shine("shell", "-c", FIND).stdout.strip().splitlines()[-1].split()
    monitor = phone_page
    log_in(monitor, "monitor", live_app.password)
    monitor.wait_for_url("**/")
    monitor.click("header >> text=Queries")
    monitor.wait_for_url("**/monitoring/queries/")
    monitor.goto(f"/participants/{number}/queries/")
    monitor.select_option("#id_record", f"daily:{pk}")
    monitor.fill("#id_field", "platelets")
    monitor.fill("#id_text", f"Platelets {platelets} on day {day}: the lab report says otherwise, please check.")
    monitor.click("main button[type=submit]")
    monitor.wait_for_url("**/monitoring/queries/*/")
    query_url = monitor.url
    assert "open" in monitor.locator("h1").inner_text()
    assert monitor.evaluate("document.documentElement.scrollWidth") <= 390

    nurse_context = chromium.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844},
                                         is_mobile=True, has_touch=True)
    nurse = nurse_context.new_page()
    log_in(nurse, "nurse", live_app.password)
    nurse.wait_for_url("**/")
    nurse.click("header >> text=Queries")
    nurse.wait_for_url("**/monitoring/queries/")
    label = re.search(r"/monitoring/queries/(\d+)/", query_url).group(1)
    nurse.click(f"a[href='/monitoring/queries/{label}/']")
    nurse.click("text=open the form")
    nurse.wait_for_url(f"**/participants/{number}/daily/{day}/")
    corrected = str(int(float(platelets)) + 7)
    nurse.fill("#id_platelets", corrected)
    nurse.fill("#id_reason", "query: platelets copied from the wrong lab report")
    nurse.click("#save-button")
    nurse.wait_for_url(f"**/participants/{number}/records/")
    nurse.goto(query_url)
    nurse.fill("#id_text", f"Corrected to {corrected} from the lab report of day {day}.")
    nurse.check("#id_corrected")
    nurse.click("button[value=answer]")
    nurse.wait_for_url(query_url)
    assert "answered" in nurse.locator("h1").inner_text()
    assert "Value corrected (audit event" in nurse.content()
    assert nurse.evaluate("document.documentElement.scrollWidth") <= 390
    nurse_context.close()

    monitor.goto(query_url)
    monitor.fill("#id_text", "Matches the lab report now.")
    monitor.click("button[value=close]")
    monitor.wait_for_url(query_url)
    assert "closed" in monitor.locator("h1").inner_text()

    monitor.goto(f"/participants/{number}/sdv/")
    row = monitor.locator(f"tr:has(a[href='/participants/{number}/daily/{day}/'])")
    assert row.locator(".badge").inner_text() in ("to verify", "re-verify", "not required")
    row.locator("button").click()
    monitor.wait_for_url(f"**/participants/{number}/sdv/")
    row = monitor.locator(f"tr:has(a[href='/participants/{number}/daily/{day}/'])")
    assert row.locator(".badge").inner_text() == "verified"
    assert monitor.evaluate("document.documentElement.scrollWidth") <= 390
