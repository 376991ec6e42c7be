"""The monitoring pages in Danish for a Danish monitor or data manager (their language setting or the browser's),
refusals that name the field in Danish words, and the English pages unchanged."""

import pytest
from django.utils import translation

from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.errors import Refused
from shine.trial.monitoring import database_lock, services
from shine.trial.monitoring.models import Query

pytestmark = pytest.mark.django_db


def _query(trial, day1):
    return services.raise_query(user=trial["monitor"], participant=day1.participant, form="daily", object_id=day1.pk,
                                field="platelets", text="Trombocytter 90 på dag 1? Kilden siger 60.")


def _danish(user):
    """The user's own language setting: Danish."""
    audit.update(user, actor=Actor.system("tests"), reason="language", language="da")


def test_query_page_in_danish_for_a_danish_monitor(trial, day1, client_for):
    q = _query(trial, day1)
    _danish(trial["monitor"])
    page = client_for("monitor").get(f"/monitoring/queries/{q.number}/").content.decode()
    assert 'lang="da"' in page
    for words in ("Tråd", "åben", "oprettet af en person", "dag 1 · trombocytter", "åbn skemaet", "Besked",
                  "Annuller", "oprettet"):
        assert words in page, words
    for english in ("Thread", "raised by a person", "open the form", "Message"):
        assert english not in page, english
    listing = client_for("monitor").get("/monitoring/queries/").content.decode()
    for words in ("Forespørgsler", "Forespørgsel", "Deltager", "Dage åben", "Filtrér", "kandidat, åben eller besvaret"):
        assert words in listing, words


def test_sdv_worklist_in_danish_by_the_browser(trial, day1, client_for):
    page = client_for("monitor").get("/monitoring/sdv/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    for words in ("Kildedataverifikation", "Ingen SDV-plan endnu", "alle centre", "Deltager", "Skal verificeres",
                  "Verificér igen", "Central monitorering", "Monitoreringsbesøg"):
        assert words in page, words
    assert "Source data verification" not in page and "all sites" not in page
    p = day1.participant
    one = client_for("monitor").get(f"/participants/{p.number}/sdv/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    for words in ("Daglig registrering: dag 1", "ikke påkrævet", "Opret en forespørgsel", "SDV-arbejdsliste"):
        assert words in one, words
    lock = client_for("data_manager").get("/monitoring/database-lock/", HTTP_ACCEPT_LANGUAGE="da").content.decode()
    for words in ("Databaselås", "Tjekliste før låsning", "der er ikke gemt nogen SDV-plan",
                  "casebogen er ikke underskrevet", "Lås databasen", "Aldrig låst."):
        assert words in lock, words


def test_a_refusal_names_the_field_in_danish(trial, day1, client_for):
    q = _query(trial, day1)
    with translation.override("da"):
        with pytest.raises(Refused, match="besked skal udfyldes"):
            services.transition(user=trial["monitor"], query=q, action="cancel", text="  ")
        with pytest.raises(Refused, match="begrundelse skal udfyldes"):
            database_lock.lock_database(user=trial["data_manager"], reason="")
    _danish(trial["monitor"])
    r = client_for("monitor").post(f"/participants/{day1.participant.number}/queries/",
                                   {"record": f"daily:{day1.pk}", "field": "nonsense", "text": "?"})
    assert r.status_code == 400
    assert "felt skal være et af registreringens felter" in r.content.decode()


def test_english_pages_unchanged(trial, day1, client_for):
    q = _query(trial, day1)
    page = client_for("monitor").get(f"/monitoring/queries/{q.number}/").content.decode()
    for words in ("Thread", "raised by a person", "day 1 · platelets", "open the form", "Message", "Cancel",
                  "1 day open" if "1 day open" in page else "0 days open"):
        assert words in page, words
    assert "Tråd" not in page
    page = client_for("monitor").get("/monitoring/sdv/").content.decode()
    assert "Source data verification" in page and "all sites" in page and "Kildedataverifikation" not in page
    with pytest.raises(Refused, match="message is required"):
        services.transition(user=trial["monitor"], query=q, action="cancel", text="")
    # the API stays English even for a Danish user
    _danish(trial["monitor"])
    assert "Tråd" not in client_for("monitor").get("/api/v1/monitoring/queries").content.decode()


def test_the_edit_checks_own_messages_in_danish(trial, day1, client_for):
    services.run_checks(findings=[(day1.participant, "daily", day1.pk, "platelets 90 is low")])
    q = Query.objects.get(origin="system")
    _danish(trial["monitor"])
    page = client_for("monitor").get(f"/monitoring/queries/{q.number}/").content.decode()
    assert "Datatjek: platelets 90 is low. Kontrollér værdien mod kilden" in page and "datatjek" in page
    english = client_for("data_manager").get(f"/monitoring/queries/{q.number}/").content.decode()
    assert "Edit check: platelets 90 is low. Please check the value" in english
