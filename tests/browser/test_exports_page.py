"""In Chromium at phone width: the blinded statistician picks a format on the exports page, starts the export,
watches it finish (the page updates itself) and downloads the ZIP; she is never offered the unblinded export;
the pages pass a strict Content-Security-Policy."""

import io
import json
import zipfile

import pytest

from .conftest import log_in
from .strict_csp import visit_under_strict_csp

pytestmark = pytest.mark.browser


def test_statistician_exports_csv_on_a_phone(phone_page, live_app):
    page = phone_page
    log_in(page, "statistician", live_app.password)
    page.wait_for_url("**/")
    page.click("header >> text=Export")
    page.wait_for_url("**/exports/")
    page.click("#standard-exports")
    page.wait_for_url("**/exports/standard/")
    assert page.locator("input[name=blinded][value=false]").count() == 0
    for box in page.locator("input[name=formats]").all():
        if box.get_attribute("value") != "csv":
            box.uncheck()
    page.click("#export-start")
    page.wait_for_url("**/exports/standard/*/")
    assert "started" in page.locator(".messages").inner_text()
    page.locator("#export-download").wait_for(timeout=120_000)  # the page reloads itself until done
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    with page.expect_download() as info:
        page.click("#export-download")
    bundle = zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read()))
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["blinded"] is True and manifest["formats"] == ["csv"]
    assert "csv/read_shine.R" in bundle.namelist()
    job = page.url.rstrip("/").rsplit("/", 1)[-1]
    visit_under_strict_csp(page, ["/exports/standard/", f"/exports/standard/{job}/"])
