"""In Chromium on a phone (390 x 844): a nurse records a serious adverse event at the bedside, counted in
taps and seconds; pharmacovigilance assesses it as unexpected, which opens the SUSAR decision for that
participant only; the nurse's view of the case stays blinded."""

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pytest

from .conftest import log_in
from .strict_csp import visit_under_strict_csp

pytestmark = pytest.mark.browser


def test_nurse_records_an_sae_on_a_phone_and_pharmacovigilance_assesses_it(phone_page, chromium, live_app,
                                                                           record_property):
    page = phone_page
    log_in(page, "nurse", live_app.password)
    page.wait_for_url("**/")
    page.goto("/participants/")
    number = sorted(set(re.findall(r"HGH-\d{4}", page.content())))[0]
    page.goto("/")
    taps = 0

    def tap(action, *args):
        nonlocal taps
        taps += 1
        return action(*args)

    start = time.monotonic()
    tap(page.click, "header >> text=Report safety")
    page.wait_for_url("**/safety/")
    tap(page.click, "text=Report an adverse event")
    page.wait_for_url("**/safety/new/")
    onset = (dt.datetime.now(ZoneInfo("Europe/Copenhagen")) - dt.timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    tap(page.fill, "#id_participant", number)
    tap(page.fill, "#id_term", "sudden severe hypotension after the infusion started")
    tap(page.fill, "#id_onset_at", onset)          # site-aware time is prefilled with now
    tap(page.check, "#id_serious_0")               # yes
    tap(page.check, "#id_life_threatening")
    tap(page.check, "#id_severity_2")              # severe
    tap(page.select_option, "#id_outcome", "recovering")
    tap(page.select_option, "#id_action", "stopped")
    tap(page.select_option, "#id_prespecified", "severe_hypotension")
    tap(page.check, "#id_related_0")               # yes
    tap(page.click, "main button[type=submit]")
    page.wait_for_load_state()
    errors = page.locator("p.error").all_inner_texts()
    assert not errors, errors
    page.wait_for_url("**/safety/cases/*/")
    seconds = time.monotonic() - start
    case = re.search(r"/safety/cases/([A-Z]+-\d+-E\d+)/", page.url).group(1)
    assert "sudden severe hypotension" in page.content()
    # fits the phone: no sideways scrolling of the page
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    record_property("sae_entry_taps", taps)
    record_property("sae_entry_seconds", round(seconds, 2))
    print(f"bedside SAE entry: {taps} taps, {seconds:.1f} s (scripted, Chromium at 390x844)")
    assert seconds < 120

    pv_context = chromium.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844},
                                      is_mobile=True, has_touch=True)
    pv = pv_context.new_page()
    log_in(pv, "pharmacovigilance", live_app.password)
    pv.wait_for_url("**/")
    pv.goto("/safety/")
    assert case in pv.content() and "assess version 1" in pv.content()
    pv.click(f"a[href='/safety/cases/{case}/']")
    pv.check("#id_expected_1")                     # not expected
    pv.click("text=Save assessment")
    pv.wait_for_url(f"**/safety/cases/{case}/")
    text = pv.content()
    assert "SUSAR to report" in text or "not reportable (placebo)" in text
    # every safety page renders under a policy without 'unsafe-inline'
    visit_under_strict_csp(pv, ["/safety/", f"/safety/cases/{case}/", "/safety/rsi/", "/safety/annual/"])
    pv_context.close()

    page.reload()
    text = page.content()
    assert "assessed by pharmacovigilance" in text
    assert "SUSAR to report" not in text and "placebo" not in text.lower()
    visit_under_strict_csp(page, ["/safety/", "/safety/new/", f"/safety/cases/{case}/",
                                  f"/safety/cases/{case}/follow-up/"])
