"""In Chromium at phone width: the nurse opens a daily form for which the laboratory system has sent values (the
demo's FHIR Bundle), sees the worst value of each input with its source, puts them into the form, and saves:
the record holds the laboratory's values only after that save."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import pytest
from playwright.sync_api import expect

from .conftest import log_in

pytestmark = pytest.mark.browser


def _db(live_app):
    return sqlite3.connect(live_app.var_dir / "shine.sqlite3")


def _demo_day(live_app) -> tuple[str, int, dt.datetime]:
    """The participant and day of the demo's laboratory values; when another test has saved that day meanwhile,
    the demo loader imports its Bundle again, for the day the schedule asks for now."""
    db = _db(live_app)
    try:
        number, pid, day, randomised = db.execute(
            "select p.number, p.id, l.study_day, p.randomised_at from records_labobservation l "
            "join enrollment_participant p on p.id = l.participant_id order by l.id limit 1").fetchone()
        taken = {d for (d,) in db.execute("select study_day from records_dailyrecord where participant_id = ?",
                                          (pid,))}
    finally:
        db.close()
    randomised_at = dt.datetime.fromisoformat(str(randomised)).replace(tzinfo=dt.UTC)
    if day not in taken:
        return number, day, randomised_at
    # the demo loader's own choice, made now: the latest HGH day the schedule still asks for (alive, in the ICU)
    out = live_app.shine("shell", "-c", "from shine.trial.accounts.models import User\n"
                         "from shine.trial.records.lab_demo import load_demo_labs\n"
                         "print(load_demo_labs(nurse=User.objects.get(username='nurse'))[0])").stdout
    found = re.search(r"for (HGH-\d+), day (\d+)", out)
    assert found, f"no HGH participant with an open day for the laboratory values: {out}"
    db = _db(live_app)
    try:
        (randomised,) = db.execute("select randomised_at from enrollment_participant where number = ?",
                                   (found.group(1),)).fetchone()
    finally:
        db.close()
    return found.group(1), int(found.group(2)), dt.datetime.fromisoformat(str(randomised)).replace(tzinfo=dt.UTC)


def test_the_nurse_sees_the_laboratory_values_with_their_source_and_confirms_them(phone_page, live_app):
    page = phone_page
    number, day, _ = _demo_day(live_app)
    log_in(page, "nurse", live_app.password)
    page.wait_for_url("**/")
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
    db = _db(live_app)
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
    db = _db(live_app)
    try:
        saved = db.execute("select r.platelets, r.creatinine, r.urine_output from records_dailyrecord r join "
                           "enrollment_participant p on p.id = r.participant_id where p.number = ? and "
                           "r.study_day = ?", (number, day)).fetchone()
    finally:
        db.close()
    assert saved == (96.0, 182.0, 390.0)
