"""In Chromium at phone width: the nurse opens a daily form for which the laboratory system has sent values (the
demo's FHIR Bundle), sees the worst value of each input with its source, puts them into the form, and saves:
the record holds the laboratory's values only after that save."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab_app(tmp_path_factory):
    """A demo server of its own: the other browser tests save daily forms on the shared one, and the demo's
    laboratory values are for one open day, which must still be open here."""
    from .conftest import serve_demo

    with serve_demo(tmp_path_factory.mktemp("labs")) as app:
        yield app


def _db(app):
    return sqlite3.connect(app.var_dir / "shine.sqlite3")


def _demo_day(app) -> tuple[str, int]:
    """The participant and day of the demo's laboratory values."""
    db = _db(app)
    try:
        return db.execute("select p.number, l.study_day from records_labobservation l join enrollment_participant p "
                          "on p.id = l.participant_id order by l.id limit 1").fetchone()
    finally:
        db.close()


@pytest.fixture
def page(chromium, lab_app):
    from .conftest import nurse_on_a_phone

    with nurse_on_a_phone(chromium, lab_app, "en-GB") as page:
        yield page


def test_the_nurse_sees_the_laboratory_values_with_their_source_and_confirms_them(page, lab_app):
    number, day = _demo_day(lab_app)
    page.goto(f"/participants/{number}/daily/new/?day={day}")
    panel = page.locator("#lab-proposal")
    expect(panel).to_be_visible()
    expect(panel.locator("li[data-input=platelets]")).to_contain_text("Platelets: 96 10⁹/L")
    expect(panel.locator("li[data-input=platelets]")).to_contain_text(f"Observation {number}-{day}-plt-b version 1")
    expect(panel.locator("li[data-input=creatinine]")).to_contain_text("NPU18016")
    expect(panel).to_contain_text("urn:shine:demo:lab-hgh")
    expect(panel.locator("li[data-input=lactate]")).to_contain_text("for information")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone
    expect(page.locator("#id_platelets")).to_have_value("")  # nothing in the form until the nurse asks
    page.click("#use-lab-values")
    expect(page.locator("#lab-proposal-used")).to_be_visible()
    expect(page.locator("#id_platelets")).to_have_value("96")
    expect(page.locator("#id_creatinine")).to_have_value("182")
    expect(page.locator("#id_pao2_unit")).to_have_value("mmHg")
    expect(page.locator("#id_urine_output")).to_have_value("390")
    db = _db(lab_app)
    try:
        before = db.execute("select count(*) from records_dailyrecord r join enrollment_participant p on "
                            "p.id = r.participant_id where p.number = ? and r.study_day = ?", (number, day)).fetchone()
    finally:
        db.close()
    assert before == (0,)  # shown, not saved
    with page.expect_navigation():
        page.click("#save-button")
    errors = page.locator(".error, .errorlist").all_inner_texts()
    assert page.url.endswith(f"/participants/{number}/records/"), f"not saved: {errors}"
    expect(page.locator("body")).to_contain_text(f"Saved: day {day} of {number}.")
    db = _db(lab_app)
    try:
        saved = db.execute("select r.platelets, r.creatinine, r.urine_output from records_dailyrecord r join "
                           "enrollment_participant p on p.id = r.participant_id where p.number = ? and "
                           "r.study_day = ?", (number, day)).fetchone()
    finally:
        db.close()
    assert saved == (96.0, 182.0, 390.0)
