"""Safety reporting in Danish: the bedside SAE form, its refusals, the case page, the PDF and the mails follow the
reader's language; the case output (JSON, E2B-shaped XML) and the API do not depend on it."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.safety import services
from shine.trial.safety.models import Case
from shine.trial.safety.remind import remind
from tests.trial.allocation.test_blind_leak import readable

from .conftest import sae
from .test_pages_api import page_values


def _danish(users, name: str) -> Client:
    user = audit.update(users[name], actor=Actor.system("tests"), reason="language", language="da")
    c = Client()
    c.force_login(user)
    return c


def test_a_danish_nurse_sees_the_sae_form_in_danish(trial, participant):
    c = _danish(trial, "nurse_hgh")
    page = c.get("/safety/new/").content.decode()
    for words in ("Rapportér en utilsigtet hændelse", "Hændelse (ordret betegnelse)", "Alvorlig?",
                  "Alvorlighedskriterier", "resulterer i død", "er livstruende", "Sværhedsgrad", "Udfald",
                  "Handling med infusionen", "infusionen stoppet", "i bedring", "ingen af dem", "svær blødning",
                  "Gem rapport", "ja", "nej"):
        assert words in page, words
    for english in ("Report an adverse event", "Serious?", "results in death", "Save report", "Outcome"):
        assert english not in page, english
    # the browser's language alone does the same (a user with no language setting)
    browser = Client(HTTP_ACCEPT_LANGUAGE="da")
    browser.force_login(trial["investigator_hgh"])
    assert "Hændelse (ordret betegnelse)" in browser.get("/safety/new/").content.decode()


def test_a_refusal_names_the_field_in_danish(trial, participant):
    c = _danish(trial, "nurse_hgh")
    r = c.post("/safety/new/", page_values(participant, term=""))
    assert r.status_code == 400
    assert "hændelse (ordret betegnelse) skal udfyldes" in r.content.decode()
    r = c.post("/safety/new/", page_values(participant, serious=""))
    assert r.status_code == 400 and "alvorlig: svar ja eller nej" in r.content.decode()
    r = c.post("/safety/new/", page_values(participant, life_threatening=""))
    assert r.status_code == 400 and "en alvorlig hændelse kræver mindst ét alvorlighedskriterium" \
        in r.content.decode()
    # a time in a refusal is written the Danish way
    before = timezone.localtime(participant.randomised_at - dt.timedelta(hours=1))
    r = c.post("/safety/new/", page_values(participant, onset_at=before.strftime("%Y-%m-%dT%H:%M")))
    body = r.content.decode()
    assert r.status_code == 400 and "debut må ikke ligge før randomiseringen" in body
    assert timezone.localtime(participant.randomised_at).strftime("%d.%m.%Y %H:%M") in body
    assert not Case.objects.exists()
    # in English (as the API answers, whatever the user's language) the same refusal
    with translation.override("en"), pytest.raises(services.Refused, match=r"^event \(verbatim term\) is required$"):
        services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant, term=""))


def test_the_case_page_and_the_pdf_are_in_danish(trial, participant, rsi):
    case = services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    page = _danish(trial, "nurse_hgh").get(f"/safety/cases/{case.number}/").content.decode()
    for words in (f"Sag {case.number}", "Debut", "ja: hospitalsindlæggelse", "svær", "i bedring", "infusionen stoppet",
                  "svær blødning", "relateret", "SAE-rapport til sponsor", "Tilføj opfølgning", "Frister"):
        assert words in page, words
    r = _danish(trial, "monitor").get(f"/safety/cases/{case.number}/case.pdf")
    assert r.status_code == 200
    text = readable(r.content)
    for label in ("3. Kodet deltager", "4. Indberetter", "7. Debut", "12. ", "investigator: relateret",
                  "19. Sagsversion", "ikke vurderet", case.number):
        assert label in text, label
    for english in ("Coded subject", "Reporter", "Case version", "not assessed"):
        assert english not in text, english


def test_the_case_output_is_the_same_in_every_language(trial, participant, rsi):
    case = services.report_event(user=trial["nurse_hgh"], participant=participant,
                                 values=sae(participant, meddra_version="27.1", meddra_code="10017955"))
    services.assess(user=trial["pharmacovigilance"], case=case, expected=True)
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.force_login(trial["monitor"])
    danish = _danish(trial, "monitor")
    for what in ("case.xml", "case.json"):
        a = english.get(f"/safety/cases/{case.number}/{what}")
        b = danish.get(f"/safety/cases/{case.number}/{what}")
        assert a.status_code == b.status_code == 200
        assert a.content == b.content, what
    assert b"trial drug (blinded)" in b.content


def test_mails_to_pharmacovigilance_are_in_the_default_language(trial, participant, settings,
                                                               django_capture_on_commit_callbacks):
    with translation.override("da"), django_capture_on_commit_callbacks(execute=True):
        services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    assert len(mail.outbox) == 1
    assert "New serious adverse event report" in mail.outbox[0].body
    settings.LANGUAGE_CODE = "da"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    body = mail.outbox[0].body
    assert "Ny rapport om en alvorlig utilsigtet hændelse" in body and "Kriterier: hospitalsindlæggelse" in body
    assert "Investigators vurdering af årsagssammenhæng: relateret" in body
    # a death on the records forms with no fatal SAE: the reminder of its 24-hour clock
    from shine.trial.records import services as records
    from tests.trial.records.factories import baseline_values

    nurse = trial["nurse_hgh"]
    records.save_baseline(user=nurse, participant=participant, values=baseline_values(participant))
    died = timezone.now() - dt.timedelta(hours=1)
    records.record_death(user=nurse, participant=participant, died_at=died)
    mail.outbox.clear()
    with translation.override("en"):
        assert remind().summary() == "safety remind: 1 clock(s) due or overdue, 1 newly mailed"
    reminder = mail.outbox[0]
    assert reminder.subject == "SHINE: 1 sikkerhedsfrist forfalder" and "Forfaldne eller forsinkede" in reminder.body
    assert "dødsfald registreret uden en SAE-rapport med dødeligt udfald" in reminder.body and "løber" in reminder.body
    assert timezone.localtime(died + dt.timedelta(hours=24)).strftime("%d.%m.%Y %H:%M") in reminder.body
