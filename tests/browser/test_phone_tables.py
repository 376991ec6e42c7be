"""Every records and enrolment page with a table or a form, at 390 × 844 in a Danish phone browser: nothing
pushes the page wider than the screen, no table cell lies beyond its right edge (tables stack on a phone),
and every control is a tap target of at least 24 × 24 px (WCAG 2.5.8).
Screenshots land in the test's temporary folder (SHINE_SCREENSHOTS=DIR keeps them elsewhere)."""

import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

# controls a finger must hit; links inside running text are exempt in WCAG 2.5.8 and are not listed
TARGETS = ("main button, main input:not([type=hidden]), main select, main summary, main a.button, "
           "main fieldset.tri label.radio, header.top nav a, header.top button, main table a")

# boxes whose text must stay inside them
SPILLING = "main dt, main dd, main th, main td, main label, main legend, main h1, main h2, main h3, main button"

MEASURE = """({targets, spilling}) => {
  const small = [];
  for (const el of document.querySelectorAll(targets)) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === "hidden") continue;
    if (el.type === "radio" || el.type === "checkbox") {  // the label around it is the target
      if (Math.abs(r.width - r.height) > 1) {  // squeezed by a label that wraps: a box the nurse barely sees
        small.push(`${el.type} "${el.name}" squeezed to ${Math.round(r.width)}x${Math.round(r.height)}`);
        continue;
      }
      const box = el.closest("label");
      if (box) { const b = box.getBoundingClientRect(); if (b.height >= 24 && b.width >= 24) continue; }
    }
    const name = `${el.tagName.toLowerCase()}#${el.id || ""}.${el.className || ""}`;
    const text = (el.textContent || el.name || "").trim().slice(0, 30);
    if (r.width < 24 || r.height < 24) small.push(`${name} "${text}" ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  const off = [];  // table cells beyond the screen's right edge (off the page or off a scrolled box)
  for (const cell of document.querySelectorAll("main td, main tbody th")) {
    const r = cell.getBoundingClientRect();
    const table = cell.closest("table").id || "table";
    if (r.width && r.right > window.innerWidth + 1) off.push(
      `${table}: "${cell.textContent.trim().slice(0, 20)}" ends at ${Math.round(r.right)}`);
  }
  const spill = [];  // a label or heading whose text runs out of its box, over its neighbour (a long Danish word)
  for (const el of document.querySelectorAll(spilling)) {
    const text = el.textContent.trim().slice(0, 30);
    if (el.clientWidth && el.scrollWidth > el.clientWidth + 1) spill.push(
      `${el.tagName.toLowerCase()} "${text}" runs ${el.scrollWidth - el.clientWidth} px out of its box`);
  }
  for (const cell of document.querySelectorAll("main table.stack td[colspan]")) {  // a row's message ("None yet.")
    const label = getComputedStyle(cell, "::before").content;
    if (cell.parentElement.cells.length === 1 && label !== "none" && label !== "normal" && label !== '""')
      spill.push(`td "${cell.textContent.trim().slice(0, 30)}" is a message but is named ${label}`);
  }
  return {width: document.scrollingElement.scrollWidth, small: small, off: off.slice(0, 5), spill: spill};
}"""


def _pages(page) -> list[str]:
    page.goto("/worklist/")
    number = re.search(r"/participants/([A-Z]+-\d+)/", page.locator("#worklist a[href*='/participants/']").first
                       .get_attribute("href")).group(1)
    page.goto(f"/participants/{number}/records/")
    daily = page.locator("#daily-records a[href*='/daily/']").first.get_attribute("href")
    page.goto("/screening/")
    screening = page.locator("#screening-log a[href*='/screening/']").first.get_attribute("href")
    return ["/worklist/", "/participants/", "/participants/worklist/", "/screening/", "/screening/new/",
            screening, f"/participants/{number}/", f"/participants/{number}/records/",
            f"/participants/{number}/baseline/", daily, f"/participants/{number}/daily/new/",
            f"/participants/{number}/infusion/", f"/participants/{number}/samples/new/",
            f"/participants/{number}/icu/", f"/participants/{number}/death/",
            f"/participants/{number}/follow-up/28/", f"/participants/{number}/consent/"]


def problems_on(page, path: str, shots: Path, prefix: str = "") -> list[str]:
    """What does not fit the phone on the page open at ``path``; its full-page screenshot goes to ``shots``."""
    found = page.evaluate(MEASURE, {"targets": TARGETS, "spilling": SPILLING})
    name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
    page.screenshot(path=str(shots / f"{prefix}{name}.png"), full_page=True)
    problems = [f"{path}: page {found['width']} px wide"] if found["width"] > 390 else []
    problems += [f"{path}: {s}" for s in found["small"]]
    problems += [f"{path}: {s}" for s in found["spill"]]
    return problems + [f"{path}: column off the screen: {s}" for s in found["off"]]


def test_records_and_enrolment_pages_fit_a_phone_with_tap_targets_of_24_px(danish_phone, tmp_path):
    page = danish_phone
    shots = Path(os.environ.get("SHINE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    for path in _pages(page):
        response = page.goto(path)
        assert response.status in (200, 409), (path, response.status)  # 409: a form closed for this participant
        problems += problems_on(page, path, shots)
    (shots / "problems.txt").write_text("\n".join(problems))
    assert not problems, "\n".join(problems)


# the demo's users, one per role (the nurse's pages are above, with their participant's forms)
ROLE_USERS = ("investigator", "pharmacist", "trial_manager", "data_manager", "monitor", "statistician",
              "dsmb_statistician", "pharmacovigilance", "auditor", "admin")


@pytest.mark.parametrize("username", ROLE_USERS)
def test_every_page_of_every_role_fits_a_danish_phone(chromium, live_app, username, tmp_path):
    """Each role's own pages (every page without an argument, refusals included) in Danish at 390 px: nothing
    wider than the screen, no table column beyond its edge, tap targets of 24 px."""
    from tests.trial.test_headers import plain_pages

    from .conftest import nurse_on_a_phone

    shots = Path(os.environ.get("SHINE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    problems = []
    with nurse_on_a_phone(chromium, live_app, "da-DK", username=username) as page:
        for path in plain_pages():
            if path in ("/logout/", "/login/code/", "/login/second-factor/"):
                continue
            answer = page.request.get(path)
            if "text/html" not in answer.headers.get("content-type", "") or not answer.body():
                continue  # a download, or an action a form posts to
            page.goto(path)
            problems += problems_on(page, path, shots, prefix=f"{username}-")
    assert not problems, f"{username}:\n" + "\n".join(problems)
