"""The case report forms in Danish: a Danish user (their own setting, or the browser's language) reads the daily
form, its refusals and warnings in Danish, numbers with a decimal comma; "1,4" is read as 1.4; what is stored
(the values, the warnings with the record) does not depend on the language; the English pages say what they
said."""

import datetime as dt
import inspect
import json
import re

import pytest
from django.test import Client
from django.utils import timezone, translation

from shine.trial.audit import services as audit
from shine.trial.records import edit_checks, services
from shine.trial.records.models import DailyRecord
from tests.trial.conftest import SYSTEM

from .factories import SOFA_DAY

NEW = "/participants/{}/daily/new/"


def form(**over) -> dict:
    body = {k: ("" if v is None else v) for k, v in SOFA_DAY.items()}
    body.update(study_day=1, respiratory_support="true", mechanical_ventilation="true", action="save")
    body.update(over)
    return body


@pytest.fixture
def danish(client_for):
    c = client_for("nurse_hgh")
    c.defaults["HTTP_ACCEPT_LANGUAGE"] = "da"
    return c


def test_the_daily_form_is_in_danish(participant, danish):
    r = danish.get(NEW.format(participant.number) + "?day=1")
    page = r.content.decode()
    assert r.status_code == 200
    for text in ("Daglig registrering for", "Trombocytter (10⁹/L)", "Blodgas: hvis ingen værdi", "ikke udført",
                 "ikke relevant", "Forhåndsvis SOFA", ">Gem<", "Decimalkomma eller punktum", "Tilføj note",
                 "Diurese (mL/24 t)", "Invasiv respiratorbehandling"):
        assert text in page, text
    for english in ("Preview SOFA", "Daily ICU record", "if no value", "not done", "Add note"):
        assert english not in page, english
    # the scripts' words come in the page's language, in a JSON block (no text in the static files)
    words = json.loads(re.search(r'<script id="form-words" type="application/json">(.*?)</script>', page).group(1))
    assert words["cannot_compute"] == "kan ikke beregnes" and "{time}" in words["session_idle"]
    assert words["components"]["renal"] == "nyrer"


def test_the_users_own_language_setting_gives_danish(participant, client_for, trial):
    audit.update(trial["nurse_hgh"], actor=SYSTEM, reason="test", language="da")
    page = client_for("nurse_hgh").get(NEW.format(participant.number)).content.decode()
    assert "Forhåndsvis SOFA" in page and "Preview SOFA" not in page


def test_a_decimal_comma_is_read(participant, danish):
    r = danish.post(NEW.format(participant.number), form(bilirubin="1,4", pao2="20,5"))
    assert r.status_code == 302, r.content.decode()[:2000]
    record = DailyRecord.objects.get(participant=participant, study_day=1)
    assert record.bilirubin_entered == 1.4 and record.pao2_entered == 20.5
    records = danish.get(f"/participants/{participant.number}/records/").content.decode()
    assert f"Gemt: dag 1 for {participant.number}." in records and "Daglige registreringer" in records
    # shown back with a comma for the Danish user
    page = danish.get(f"/participants/{participant.number}/daily/1/").content.decode()
    assert 'value="1,4"' in page and 'value="20,5"' in page


def test_a_refusal_names_the_field_in_danish_with_a_decimal_comma(participant, danish):
    r = danish.post(NEW.format(participant.number), form(creatinine="40"))
    page = r.content.decode()
    assert r.status_code == 400 and 'data-field="creatinine"' in page
    assert "kreatinin 40 mg/dL er umulig (den skal ligge mellem 0,1 og 34 mg/dL = 3000 µmol/L)" in page
    assert "Ikke gemt: 1 problem" in page and not DailyRecord.objects.exists()
    r = danish.post(NEW.format(participant.number), form(platelets="2500"))
    assert "trombocytter skal ligge mellem 0 og 2000 10⁹/L; fik 2500" in r.content.decode()
    r = danish.post(NEW.format(participant.number), form(bilirubin="1.4,5"))
    assert "bilirubin: &#x27;1.4,5&#x27; er tvetydig" in r.content.decode()


def test_the_english_page_says_what_it_said(participant, client_for):
    c = client_for("nurse_hgh")
    page = c.get(NEW.format(participant.number) + "?day=1", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in ("Daily ICU record of", "Preview SOFA", "Blood gas: if no value", "not done", "Add note",
                 "Decimal comma or point: 1,4 and 1.4 are the same."):
        assert text in page, text
    r = c.post(NEW.format(participant.number), form(creatinine="40"), HTTP_ACCEPT_LANGUAGE="en")
    assert ("creatinine 40 mg/dL is impossible (it must lie between 0.1 and 34 mg/dL = 3000 µmol/L)"
            in r.content.decode())
    assert "Not saved: 1 problem" in r.content.decode()


def test_warnings_are_stored_in_english_and_shown_in_danish(participant, danish, trial):
    r = danish.post(NEW.format(participant.number), form(platelets="3", action="preview"))
    assert "trombocytter 3 10⁹/L er usædvanligt lav (under 5): kontrollér værdien" in r.content.decode()
    assert danish.post(NEW.format(participant.number), form(platelets="3")).status_code == 302
    record = DailyRecord.objects.get(participant=participant, study_day=1)
    assert record.warnings == "platelets 3 10⁹/L is unusually low (below 5): check the value"
    assert record.needs_review
    shown = "trombocytter 3 10⁹/L er usædvanligt lav (under 5): kontrollér værdien"
    assert f"Advarsler (markeret til gennemgang): {shown}" in danish.get(
        f"/participants/{participant.number}/records/").content.decode()
    assert f"Gemt med advarsler: {shown}" in danish.get(f"/participants/{participant.number}/daily/1/").content.decode()
    assert shown in danish.get("/worklist/").content.decode()


def test_every_warning_of_the_edit_checks_can_be_read_back():
    """The stored (English) warnings are shown in Danish by reading them back against WARNING_MESSAGES: every
    warning the edit checks write is in that list, and one read back is written again in the reader's words."""
    source = inspect.getsource(edit_checks)
    written = {eval("(" + m + ")") for m in re.findall(r'gettext_noop\(((?:"[^"]*"\s*)+)\)', source)}  # noqa: S307
    assert written and written <= set(edit_checks.WARNING_MESSAGES)
    stored = ("weight 80.5 kg differs from the weight used for dosing at randomisation (70 kg); "
              "sample frozen 2.5 h after drawing (more than 2 h): check the times; a note of an older rule")
    with translation.override("da"):
        assert edit_checks.shown_warnings(stored) == (
            "vægt 80,5 kg afviger fra vægten brugt til dosering ved randomisering (70 kg); prøven er frosset ned "
            "2,5 t efter prøvetagning (mere end 2 t): kontrollér tidspunkterne; a note of an older rule")
    with translation.override("en"):
        assert edit_checks.shown_warnings(stored) == stored


def test_numbers_at_clinical_precision_have_a_decimal_comma(participant, danish, trial):
    services.create_daily_record(user=trial["nurse_hgh"], participant=participant, study_day=1,
                                 values={**SOFA_DAY, "vasopressor": True, "rrt": False})
    page = danish.get(f"/participants/{participant.number}/records/").content.decode()
    assert re.search(r'id="mean-sofa">\d+,\d<', page)
    assert "Afledte effektmål indtil nu" in page and "Tidsplan" in page
    # the chart's coordinates stay numbers for the browser
    assert not re.search(r'<rect x="\d+,', page) and not re.search(r' y="\d+,\d', page)


def test_the_worklist_in_danish(participant, danish):
    page = danish.get("/worklist/").content.decode()
    assert "Arbejdsliste" in page and "Worklist" not in page.split("<main")[-1]


def test_the_live_preview_answers_in_the_pages_language(participant, danish, client_for):
    """sofa_form.js posts the form to its own page with the preview header; the answer is the preview API's,
    with the warnings and refusals in the reader's words (the API's own words stay English)."""
    url, header = NEW.format(participant.number), {"HTTP_X_SHINE_PREVIEW": "json"}
    r = danish.post(url, form(platelets="3", study_day=""), **header)
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    body = r.json()
    assert body["warnings"] == ["trombocytter 3 10⁹/L er usædvanligt lav (under 5): kontrollér værdien"]
    assert body["modified"] is not None and "renal" in body["components"]
    r = danish.post(url, form(creatinine="40,0"), **header)
    assert r.status_code == 400 and "mellem 0,1 og 34 mg/dL" in r.json()["errors"][0]["message"]
    english = client_for("nurse_hgh").post(url, form(platelets="3"), HTTP_ACCEPT_LANGUAGE="en", **header).json()
    assert english["warnings"] == ["platelets 3 10⁹/L is unusually low (below 5): check the value"]
    assert not DailyRecord.objects.exists()  # a preview saves nothing
    anonymous = Client()
    assert anonymous.post(url, form(), **header).status_code == 401  # the session ended: nothing kept


def test_the_sample_labels_are_in_the_printers_language(participant, danish, client_for):
    pdf = danish.get(f"/participants/{participant.number}/samples/labels.pdf").getvalue()
    assert b"Taget ____:____   Frosset ____:____" in pdf and b"biobank" in pdf
    english = client_for("nurse_hgh").get(f"/participants/{participant.number}/samples/labels.pdf",
                                          HTTP_ACCEPT_LANGUAGE="en").getvalue()
    assert b"Drawn ____:____   Frozen ____:____" in english and b"Study day" in english


def test_the_shared_time_check_names_the_field_in_danish(participant, danish):
    future = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r = danish.post(f"/participants/{participant.number}/death/", {"died_at": future, "cause": ""})
    assert r.status_code == 400 and "dødstidspunkt" in r.content.decode()
