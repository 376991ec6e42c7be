"""The enrolment pages in Danish for a Danish user (or browser), in English otherwise: the screening form, the
consent pages and the refusals, which name the field in words of the reader's language. Exports, the audit
trail and the command line's English stay as they were."""

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from shine.trial.audit import services as audit
from shine.trial.audit.models import AuditEvent
from shine.trial.audit.services import Actor
from shine.trial.enrollment import services
from shine.trial.enrollment.models import Screening
from shine.trial.errors import Refused

from .factories import enrolled, screening
from .test_screening import form_data


@pytest.fixture(autouse=True)
def _english_afterwards():
    yield
    translation.activate("en")


@pytest.fixture
def danish(users, client_for):
    """The Danish nurse's client: her own language setting says Danish (the browser says nothing)."""
    users["nurse_hgh"] = audit.update(users["nurse_hgh"], actor=Actor.system("tests"), reason="speaks Danish",
                                      language="da")
    return client_for("nurse_hgh")


def typed_da(t: dt.datetime) -> str:
    return timezone.localtime(t).strftime("%d.%m.%Y %H:%M")


def test_the_screening_form_in_danish_and_in_english(danish, client_for):
    page = danish.get("/screening/new/").content.decode()
    for words in ("Screen en patient", "Alder (år)", "Indlagt på intensivafsnit", "Vurdér og log",
                  "Ingen af eksklusionskriterierne er opfyldt", "ukendt", "kvinde", "Center"):
        assert words in page, words
    assert "Assess and log" not in page and "Age (years)" not in page
    english = client_for("investigator_hgh").get("/screening/new/").content.decode()
    assert "Screen a patient" in english and "Age (years)" in english and "Assess and log" in english
    assert "Vurdér" not in english


def test_the_browser_language_is_enough(client_for):
    page = client_for("nurse_hgh").get("/screening/new/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "Screen en patient" in page and "Vurdér og log" in page


def test_a_danish_typed_time_is_accepted(danish):
    when = timezone.now() - dt.timedelta(minutes=30)
    data = form_data()
    data["screened_at"] = typed_da(when)
    data["shock_diagnosed_at"] = typed_da(when - dt.timedelta(hours=2))
    r = danish.post("/screening/new/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    s = Screening.objects.get()
    assert timezone.localtime(s.screened_at).strftime("%d.%m.%Y %H:%M") == typed_da(when)
    page = danish.get(r["Location"]).content.decode()
    assert "Egnet" in page and "Registrér samtykke fra forsøgsværge" in page
    assert timezone.localtime(s.screened_at).strftime("%d.%m.%Y %H:%M") in page  # the Danish date format


def test_a_future_time_is_refused_in_the_readers_language(danish, client_for):
    data = form_data(screened_at=typed_da(timezone.now() + dt.timedelta(hours=2)))
    r = danish.post("/screening/new/", data)
    assert r.status_code == 400
    page = r.content.decode()
    assert "Screeningstidspunkt: screeningstidspunktet må ikke ligge i fremtiden" in page
    assert "must not be in the future" not in page
    data = form_data(screened_at=(timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    r = client_for("investigator_hgh").post("/screening/new/", data)
    assert r.status_code == 400
    assert "Screened at: the screening time must not be in the future" in r.content.decode()
    assert not Screening.objects.exists()


def test_the_service_refusal_in_english_by_default(users):
    with pytest.raises(Refused, match="the screening time must not be in the future") as e:
        services.screen(user=users["nurse_hgh"], site_code="HGH", screened_at=timezone.now() + dt.timedelta(hours=1))
    assert e.value.field == "screened_at"
    with translation.override("da"), pytest.raises(Refused, match="screeningstidspunktet må ikke ligge i fremtiden"):
        services.screen(user=users["nurse_hgh"], site_code="HGH", screened_at=timezone.now() + dt.timedelta(hours=1))


def test_guardian_consent_in_danish(danish, users):
    s = screening(users["nurse_hgh"])
    page = danish.get(f"/screening/{s.pk}/enrol/").content.decode()
    assert "Samtykke fra forsøgsværge" in page and "Forsøgsværge: første læge" in page
    assert "Registrér samtykke og inkludér" in page
    data = {"consenter_name": "Dr Anna Holm", "second_consenter_name": "dr. anna holm",
            "occurred_at": typed_da(timezone.now()), "form_version": "SG v3.0"}
    r = danish.post(f"/screening/{s.pk}/enrol/", data)
    assert r.status_code == 400
    assert "den anden læge skal være en anden person end Dr Anna Holm" in r.content.decode()
    data["second_consenter_name"] = "Dr Bo Lind"
    r = danish.post(f"/screening/{s.pk}/enrol/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    page = danish.get(r["Location"]).content.decode()
    assert "forsøgsværgesamtykke; afventer nærmeste pårørende og patient" in page
    assert "Samtykkehændelser" in page and "samtykke fra forsøgsværge" in page and "Dr Anna Holm og Dr Bo Lind" in page


def test_the_consent_page_and_its_refusal_in_danish_and_english(danish, users, client_for):
    p = enrolled(users["nurse_hgh"])
    page = danish.get(f"/participants/{p.number}/consent/").content.decode()
    for words in (f"Samtykkehændelse · {p.number}", "samtykke fra nærmeste pårørende", "afslag fra patienten",
                  "Personens navn", "Version af samtykkeerklæringen", "Registrér"):
        assert words in page, words
    data = {"kind": "next_of_kin_consent", "occurred_at": typed_da(timezone.now()), "form_version": "NOK v2.0"}
    r = danish.post(f"/participants/{p.number}/consent/", data)
    assert r.status_code == 400
    assert "Personens navn: personens navn skal udfyldes" in r.content.decode()
    r = client_for("investigator_hgh").post(f"/participants/{p.number}/consent/", {
        **data, "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    assert r.status_code == 400 and "Name of the person: the name of the person is required" in r.content.decode()
    # a refusal must say what happens to the data: the question in Danish
    r = danish.post(f"/participants/{p.number}/consent/", {**data, "kind": "next_of_kin_refusal",
                                                           "consenter_name": "Eva Jensen"})
    assert r.status_code == 400 and "om de data, der er indsamlet indtil nu, må bruges" in r.content.decode()
    r = danish.post(f"/participants/{p.number}/consent/", {**data, "consenter_name": "Eva Jensen"})
    assert r.status_code == 302
    page = danish.get(f"/participants/{p.number}/").content.decode()
    assert "samtykke fra nærmeste pårørende; afventer patient" in page
    # the audit trail keeps its English, whoever's language
    assert AuditEvent.objects.filter(reason="consent: next-of-kin consent").exists()
    english = client_for("investigator_hgh").get(f"/participants/{p.number}/").content.decode()
    assert "next-of-kin consent; awaiting patient" in english and "Consent events" in english


def test_the_screening_log_in_danish_and_its_csv_unchanged(danish, users, client_for):
    nurse = users["nurse_hgh"]
    screening(nurse, age=17, in_icu=False)
    screening(nurse, lactate_mmol_l=None)
    waiting = screening(nurse)
    services.record_not_randomised(waiting, user=nurse, reason_code="no_guardian")
    page = danish.get("/screening/").content.decode()
    for words in ("Screeningslog", "Hent CSV", "ikke opfyldt:", "endnu ukendt: Laktat (mmol/L) efter væske",
                  "ingen forsøgsværge til rådighed i tide", "CONSORT: inklusion", "ikke egnet"):
        assert words in page, words
    r = danish.get("/screening/?format=csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert list(rows[0]) == ["screening", "site", "screened_at", "outcome", "reasons", "participant"]
    assert [row["reasons"] for row in rows] == ["not met: adult; not met: in the ICU",
                                                "not known yet: Lactate (mmol/L) after fluids",
                                                "no scientific guardian available in time"]
    assert [row["outcome"] for row in rows] == ["not eligible", "not yet assessable", "eligible, not randomised"]
    assert rows[0]["screened_at"][4] == "-"  # ISO, not the Danish 01.12.2026
    english = client_for("investigator_hgh").get("/screening/").content.decode()
    assert "Screening log" in english and "not met: adult" in english


def test_the_worklist_command_in_danish(users, capsys):
    enrolled(users["nurse_hgh"])
    with translation.override("da"):
        call_command("enrolment", "worklist")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].endswith("venter på nærmeste pårørende og patient")
    assert lines[-1].startswith("1 deltager venter på samtykke; ældste HGH-")
    call_command("enrolment", "worklist")
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("1 participant waiting for consent")


def test_an_impossible_fact_is_refused_on_its_field_in_danish_too(danish):
    r = danish.post("/screening/new/", form_data(lactate_mmol_l="45"))
    assert r.status_code == 400
    page = r.content.decode()
    field = page[page.index('<label for="id_lactate_mmol_l">'):]
    field = field[:field.index("</div>")]
    assert 'class="error"' in field and "Laktat (mmol/L) efter væske: " in field and "30" in field, field
    assert not Screening.objects.exists()
