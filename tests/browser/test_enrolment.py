"""In Chromium, at 390 px and at desktop width: a nurse screens a patient, records the scientific guardian's
consent, randomises and gets the pack number and pump rate; the next day records the next of kin's consent."""

import datetime as dt
import os
import re
from zoneinfo import ZoneInfo

import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser

def local(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M")


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], page.url


@pytest.mark.parametrize("page_fixture", ["phone_page", "browser_page"])
def test_screen_consent_randomise_then_next_of_kin(request, page_fixture, live_app):
    page = request.getfixturevalue(page_fixture)
    # the night before: shock diagnosed 2 h before the screening, guardian consent 20 min after it; times are typed
    # on the server's clock (TIME_ZONE)
    now = dt.datetime.now(ZoneInfo(os.environ.get("TIME_ZONE", "Europe/Copenhagen"))).replace(second=0, microsecond=0)
    night = now - dt.timedelta(days=1)
    log_in(page, "nurse", live_app.password)
    page.wait_for_url("**/")
    page.click("header >> text=Screening log")
    page.click("text=Screen a patient")
    page.wait_for_url("**/screening/new/")
    fits(page)
    page.fill("#id_screened_at", local(night))
    page.fill("#id_shock_diagnosed_at", local(night - dt.timedelta(hours=2)))
    page.fill("#id_age", "71")
    page.select_option("#id_sex", "M")
    page.fill("#id_lactate_mmol_l", "3.8")
    page.fill("#id_stm_ng_ml", "14.5")
    for name in ("in_icu", "infection", "vasopressor"):
        page.check(f"input[name={name}][value=true]")
    assert page.locator("#id_pregnant").is_hidden()  # a man: the question cannot apply
    page.check("#id_none_of_the_exclusions")  # one tap for every exclusion answered no
    assert page.locator("input[name=hypersensitivity][value=false]").is_checked()
    page.click("button:text('Assess and log')")
    page.wait_for_url(re.compile(r".*/screening/\d+/$"))
    assert page.locator("#assessment h2").inner_text() == "Eligible"
    fits(page)

    page.click("text=Record scientific guardian consent")
    page.fill("#id_consenter_name", "Dr Anna Holm")
    page.fill("#id_second_consenter_name", "Dr Bo Lind")
    page.fill("#id_occurred_at", local(night + dt.timedelta(minutes=20)))
    page.fill("#id_form_version", "SG v3.0")
    page.click("button:text('Record consent and enrol')")
    page.wait_for_url(re.compile(r".*/participants/HGH-\d{4}/$"))
    number = page.locator("h1").inner_text()
    assert "guardian consent; awaiting next of kin and patient" in page.locator("#consent-status").inner_text()
    fits(page)

    page.click("a.button:text('Randomise')")
    page.fill("#id_weight_kg", "70")
    page.check("input[name=weight_estimated][value=true]")
    page.click("button:text('Randomise')")
    page.wait_for_selector("#pack-number")
    assert re.fullmatch(r"PK-\d{6}", page.locator("#pack-number").inner_text())
    assert page.locator("#pump-rate").inner_text() == "2.10 mL/h"
    assert page.locator("#planned-volume").inner_text() == "151.2 mL"
    text = page.content().lower()
    assert "iloprost" not in text and "placebo" not in text
    fits(page)

    # the next day: the next of kin co-signs
    page.click("text=Participant page")
    page.click("text=Record consent event")
    page.select_option("#id_kind", "next_of_kin_consent")
    page.fill("#id_consenter_name", "Eva Jensen")
    page.fill("#id_occurred_at", local(now))
    page.fill("#id_form_version", "NOK v2.0")
    page.click("button:text('Record')")
    page.wait_for_url(f"**/participants/{number}/")
    assert page.locator("#consent-status").inner_text() == "next-of-kin consent; awaiting patient"
    rows = page.locator("#consent-events tbody tr")
    assert rows.count() == 2 and "Eva Jensen" in rows.nth(1).inner_text()
    assert "Dr Anna Holm and Dr Bo Lind" in rows.nth(0).inner_text()
    fits(page)
