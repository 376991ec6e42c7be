"""Who may open the enrolment and allocation pages and endpoints (written out apart from roles.py)."""

import pytest

from tests.trial.conftest import PERSONAS

from .factories import randomised

SITE_STAFF = {"investigator_hgh", "nurse_hgh"}
READERS = SITE_STAFF | {"nurse_rh", "trial_manager", "data_manager", "monitor"}  # may view participants
UNBLINDED = {"pharmacist", "dsmb_statistician"}


def expected(persona: str, page: str) -> int:
    if page in ("screening", "participants", "worklist", "api_participants", "api_screenings"):
        return 200 if persona in READERS else 403
    if page in ("screening_new",):
        return 200 if persona in SITE_STAFF | {"nurse_rh"} else 403
    if page in ("participant", "api_participant"):
        return 200 if persona in READERS - {"nurse_rh"} else 404 if persona == "nurse_rh" else 403
    if page in ("consent", "randomise"):
        return 200 if persona in SITE_STAFF else 404 if persona == "nurse_rh" else 403
    if page == "unblind":
        return 200 if persona == "investigator_hgh" else 404 if persona == "nurse_rh" else 403
    if page in ("allocation", "packs", "api_allocations"):
        return 200 if persona in UNBLINDED else 403
    if page == "unblindings":
        return 200 if persona in {"dsmb_statistician", "trial_manager"} else 403
    raise AssertionError(page)


PAGES = {"screening": "/screening/", "screening_new": "/screening/new/", "participants": "/participants/",
         "worklist": "/participants/worklist/", "participant": "/participants/HGH-0001/",
         "consent": "/participants/HGH-0001/consent/", "randomise": "/participants/HGH-0002/randomise/",
         "unblind": "/participants/HGH-0001/unblind/", "allocation": "/allocation/", "packs": "/allocation/packs/",
         "unblindings": "/unblindings/"}
ENDPOINTS = {"api_participants": "/api/v1/participants", "api_screenings": "/api/v1/screenings",
             "api_participant": "/api/v1/participants/HGH-0001", "api_allocations": "/api/v1/allocation/allocations"}


@pytest.fixture
def two_participants(trial):
    from .factories import enrolled

    randomised(trial["nurse_hgh"])
    enrolled(trial["nurse_hgh"])
    return trial


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_access(two_participants, persona, client_for, api_for):
    c, api = client_for(persona), api_for(persona)
    for page, url in PAGES.items():
        assert c.get(url).status_code == expected(persona, page), (persona, page)
    for page, url in ENDPOINTS.items():
        assert api.get(url).status_code == expected(persona, page), (persona, page)


def test_navigation_links_follow_the_role(two_participants, client_for):
    nurse = client_for("nurse_hgh").get("/").content.decode()
    assert 'href="/participants/"' in nurse and 'href="/screening/"' in nurse and 'href="/allocation/"' not in nurse
    pharmacist = client_for("pharmacist").get("/").content.decode()
    assert 'href="/allocation/"' in pharmacist and 'href="/participants/"' not in pharmacist
    assert 'href="/unblindings/"' in client_for("dsmb_statistician").get("/").content.decode()


def test_openapi_lists_the_enrolment_endpoints(client):
    paths = set(client.get("/api/v1/openapi.json").json()["paths"])
    assert {"/api/v1/screenings", "/api/v1/participants/{participant_id}/consents",
            "/api/v1/participants/{participant_id}/randomise", "/api/v1/participants/{participant_id}/unblind",
            "/api/v1/participants/{participant_id}", "/api/v1/participants"} <= paths
