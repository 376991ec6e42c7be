"""In Chromium at 390 x 844 with a Danish browser, the nurse's whole path in Danish: screen a patient, record the
scientific guardian's consent, randomise (pack number and pump rate with a decimal comma), save the first
daily record, report a serious adverse event. Every page of the path says lang="da" and holds no English
(tests/language.py); the buttons and links are found by what they are, not by their words."""

import datetime as dt
import os
import re
from zoneinfo import ZoneInfo

import pytest

from tests.language import danish, english_sentences, foreign_words, proper_names, read

from .conftest import log_in

pytestmark = pytest.mark.browser

# what the test itself types (names and free text are data, not the page's words)
TYPED = ("Dr Anna Holm", "Dr Bo Lind", "SG v3.0")


def in_danish(page) -> None:
    if folder := os.environ.get("SHINE_SCREENSHOTS"):  # to look at the pages: one full-page PNG each
        page.screenshot(path=f"{folder}/{len(os.listdir(folder)):02d}.png", full_page=True)
    assert page.get_attribute("html", "lang") == "da", page.url
    english = foreign_words(read(page.content()), "da", proper_names(TYPED), english_sentences())
    assert not english, f"{page.url}: {english[:10]}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.url


def test_the_nurse_path_runs_in_danish_on_a_phone(danish_phone):
    page = danish_phone
    now = dt.datetime.now(ZoneInfo(os.environ.get("TIME_ZONE", "Europe/Copenhagen"))).replace(second=0, microsecond=0)
    iso = "%Y-%m-%dT%H:%M"  # a datetime-local input's value whatever the language it shows
    in_danish(page)

    page.click("header a[href='/screening/']")
    page.click("main a[href='/screening/new/']")
    page.wait_for_url("**/screening/new/")
    in_danish(page)
    page.fill("#id_shock_diagnosed_at", (now - dt.timedelta(hours=2)).strftime(iso))
    page.fill("#id_age", "67")
    page.select_option("#id_sex", "M")
    page.fill("#id_lactate_mmol_l", "4,1")
    page.fill("#id_stm_ng_ml", "14,5")
    for name in ("in_icu", "infection", "vasopressor"):
        page.check(f"input[name={name}][value=true]")
    page.check("#id_none_of_the_exclusions")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/screening/\d+/$"))
    assert page.locator("#assessment h2").inner_text() == danish("Eligible")
    assert "4,1" in page.content()  # the lactate shown with a decimal comma
    in_danish(page)

    page.click("main a[href$='/enrol/']")
    in_danish(page)
    page.fill("#id_consenter_name", "Dr Anna Holm")
    page.fill("#id_second_consenter_name", "Dr Anna Holm")  # the same physician twice: refused, in Danish
    page.fill("#id_form_version", "SG v3.0")
    page.click("main button[type=submit]")
    assert page.locator(".errorlist, p.error").count() >= 1
    in_danish(page)
    page.fill("#id_second_consenter_name", "Dr Bo Lind")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/participants/[A-Z]+-\d{4}/$"))
    number = page.locator("h1").inner_text().split()[0]
    in_danish(page)

    page.click(f"main a[href='/participants/{number}/randomise/']")
    in_danish(page)
    page.fill("#id_weight_kg", "72,5")
    page.check("input[name=weight_estimated][value=true]")
    page.click("main button[type=submit]")
    page.wait_for_selector("#pack-number")
    assert page.locator("#pump-rate").inner_text() == "2,18 mL/h"  # 72.5 kg at 1 ng/kg/min, a decimal comma
    in_danish(page)

    page.goto(f"/participants/{number}/baseline/")
    in_danish(page)
    page.select_option("#id_site_of_infection", "pulmonary")
    page.fill("#id_icu_admitted_at", (now - dt.timedelta(hours=5)).strftime(iso))
    for name, value in (("pao2", "9,5"), ("fio2", "60"), ("platelets", "140"), ("bilirubin", "18"),
                        ("map_mmhg", "63"), ("norepinephrine", "0,25"), ("gcs", "14"), ("creatinine", "130"),
                        ("urine_output", "600")):
        page.fill(f"#id_{name}", value)
    page.check("#id_respiratory_support_0")
    page.click("#save-button")
    page.wait_for_url(f"**/participants/{number}/records/")
    in_danish(page)

    page.goto(f"/participants/{number}/daily/new/?day=1")
    in_danish(page)
    page.click("#save-button")  # blank: nothing saved, the summary says so in Danish
    assert page.locator("#error-summary").is_visible()
    in_danish(page)
    for name, value in (("pao2", "10,2"), ("fio2", "50"), ("platelets", "120"), ("bilirubin", "22"),
                        ("map_mmhg", "66"), ("norepinephrine", "0,18"), ("creatinine", "150"),
                        ("urine_output", "800")):
        page.fill(f"#id_{name}", value)
    page.check("#id_respiratory_support_0")
    page.check("#id_mechanical_ventilation_0")
    page.check("#id_vasopressor_0")
    page.check("#id_rrt_1")
    page.select_option("#id_code_gcs", "not_done")
    page.click("#save-button")
    page.wait_for_url(f"**/participants/{number}/records/")
    assert f"{number}." in page.locator(".messages").inner_text()  # "Gemt: dag 1 for HGH-0041."
    in_danish(page)

    page.click("header a[href='/safety/']")
    page.click("main a[href='/safety/new/']")
    page.wait_for_url("**/safety/new/")
    in_danish(page)
    page.fill("#id_participant", number)
    page.fill("#id_term", "pludselig svær hypotension")
    # onset: just now, after the randomisation minutes ago (the next whole minute; a ward clock may run ahead)
    onset = dt.datetime.now(now.tzinfo).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    page.fill("#id_onset_at", onset.strftime(iso))
    page.fill("#id_aware_at", onset.strftime(iso))
    page.check("#id_serious_0")
    page.check("#id_life_threatening")
    page.check("#id_severity_2")
    page.select_option("#id_outcome", "recovering")
    page.select_option("#id_action", "stopped")
    page.select_option("#id_prespecified", "severe_hypotension")
    page.check("#id_related_0")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert not page.locator(".errorlist, p.error").all_inner_texts(), page.locator("main").inner_text()[:1500]
    page.wait_for_url("**/safety/cases/*/")
    assert "pludselig svær hypotension" in page.content()
    in_danish(page)


def test_a_nurse_with_danish_set_reads_danish_in_an_english_browser(chromium, live_app):
    context = chromium.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844}, locale="en-GB")
    page = context.new_page()
    page.goto("/login/")
    assert page.get_attribute("html", "lang") == "en"  # before the login: the browser's language
    log_in(page, "nurse_rh", live_app.password)  # the demo set Danish on her account
    page.wait_for_url("**/")
    in_danish(page)
    context.close()
