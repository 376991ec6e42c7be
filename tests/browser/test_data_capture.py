"""In Chromium: a nurse enters a daily ICU record in kPa and mg/dL, sees the SOFA computed before saving,
saves, and the worklist no longer lists that day. On a phone the form fits the screen."""

import re

import pytest

from shine.clinical import units
from shine.clinical.sofa import sofa

from .conftest import log_in

pytestmark = pytest.mark.browser

VALUES = {"pao2": "12", "fio2": "40", "platelets": "80", "bilirubin": "2.5", "map_mmhg": "65",
          "norepinephrine": "0.2", "creatinine": "2.0", "urine_output": "700"}


def expected_modified() -> int:
    pf = units.pf_ratio(12, 40, pao2_unit="kPa", fio2_unit="percent")
    return sofa(pao2_fio2=pf, respiratory_support=True, platelets=80,
                bilirubin=units.to_platform_unit("bilirubin", 2.5, "mg/dL"), map_mmhg=65, norepinephrine=0.2,
                creatinine=units.to_platform_unit("creatinine", 2.0, "mg/dL"), urine_output=700).modified


def test_nurse_enters_daily_record_with_units_and_sees_sofa_before_saving(browser_page, live_app):
    page = browser_page
    log_in(page, "nurse", live_app.password)
    page.wait_for_url("**/")
    page.click("header >> text=Worklist")
    page.wait_for_url("**/worklist/")
    link = page.locator("#worklist a[href*='/daily/new/']").first
    label = link.inner_text()
    href = link.get_attribute("href")
    participant = re.search(r"/participants/([A-Z]+-\d+)/", href).group(1)
    link.click()
    page.wait_for_url("**/daily/new/**")
    page.select_option("#id_pao2_unit", "kPa")
    page.select_option("#id_fio2_unit", "percent")
    page.select_option("#id_bilirubin_unit", "mg/dL")
    page.select_option("#id_creatinine_unit", "mg/dL")
    page.check("#id_respiratory_support_0")  # yes
    page.check("#id_mechanical_ventilation_0")
    page.check("#id_vasopressor_0")
    page.check("#id_rrt_1")  # no
    page.select_option("#id_code_gcs", "not_done")
    for name, value in VALUES.items():
        page.fill(f"#id_{name}", value)
    want = expected_modified()
    # computed as the nurse types (the preview endpoint), before anything is saved
    page.wait_for_function(f"document.getElementById('sofa-modified').textContent.includes('{want}/20')")
    assert "P/F (mmHg)" in page.locator("#sofa-components").inner_text()
    # and by the Preview button (works without JavaScript too)
    page.click("#preview-button")
    page.wait_for_load_state()
    assert f"Modified SOFA {want}/20" in page.locator("#sofa-modified").inner_text()
    assert page.locator("#id_bilirubin_unit").input_value() == "mg/dL"
    page.click("#save-button")
    page.wait_for_url(f"**/participants/{participant}/records/")
    day = re.search(r"day (\d+)", label).group(1)
    rows = page.locator("#daily-records tbody tr")
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())]
    saved = [c for c in cells if c[0].strip() == day]
    assert saved and saved[0][10].strip() == str(want), cells
    page.goto("/worklist/")
    remaining = [a.inner_text() for a in page.locator(f"#worklist tr:has(a:text('{participant}')) td:nth-child(2) a").all()]
    assert label not in remaining


def test_daily_form_fits_a_phone(phone_page, live_app):
    log_in(phone_page, "nurse", live_app.password)
    phone_page.wait_for_url("**/")
    phone_page.goto("/worklist/")
    href = phone_page.locator("#worklist a[href*='/participants/']").first.get_attribute("href")
    phone_page.goto(href)
    assert phone_page.locator("#timeline").is_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= phone_page.viewport_size["width"]
