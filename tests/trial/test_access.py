"""Every role × every page and endpoint: allowed (200), forbidden (403) or not found (404, other sites)."""

import pytest

from .conftest import PERSONAS

SITE_BOUND = {"investigator_hgh", "nurse_hgh"}
AUDIT_READERS = {"monitor", "auditor", "admin"}


def expected(persona: str, page: str) -> int:
    # written out independently of shine.trial.accounts.roles on purpose
    if page in ("home", "sites", "site_own", "api_me", "api_sites", "api_site_own"):
        return 200
    if page in ("site_other", "api_site_other"):
        return 404 if persona in SITE_BOUND else 200
    if page in ("audit", "api_audit"):
        return 200 if persona in AUDIT_READERS else 403
    raise AssertionError(page)


PAGES = {
    "home": "/", "sites": "/sites/", "site_own": "/sites/HGH/", "site_other": "/sites/RH/", "audit": "/audit/",
}
ENDPOINTS = {
    "api_me": "/api/v1/me", "api_sites": "/api/v1/sites", "api_site_own": "/api/v1/sites/HGH",
    "api_site_other": "/api/v1/sites/RH", "api_audit": "/api/v1/audit",
}
MATRIX = [(p, page) for p in PERSONAS if p != "nurse_rh" for page in (*PAGES, *ENDPOINTS)]


@pytest.mark.parametrize(("persona", "page"), MATRIX)
def test_access_matrix(persona, page, client_for, api_for):
    if page in PAGES:
        response = client_for(persona).get(PAGES[page])
    else:
        response = api_for(persona).get(ENDPOINTS[page])
        assert response["Content-Type"].startswith("application/json")
    assert response.status_code == expected(persona, page), response.content[:300]


@pytest.mark.parametrize("url", PAGES.values())
def test_pages_need_login(url, client, sites):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("url", ENDPOINTS.values())
def test_endpoints_need_a_token(url, client, sites):
    response = client.get(url)
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_home_page_fits_the_role(client_for):
    nurse = client_for("nurse_hgh").get("/").content.decode()
    monitor = client_for("monitor").get("/").content.decode()
    assert "Research nurse" in nurse and "Herlev Hospital" in nurse and "Rigshospitalet" not in nurse
    assert "Monitor" in monitor and "All sites" in monitor and "Rigshospitalet" in monitor
    assert 'href="/audit/"' in monitor and 'href="/audit/"' not in nurse


def test_other_sites_records_are_not_listed(client_for, api_for):
    assert [s["code"] for s in api_for("nurse_rh").get("/api/v1/sites").json()] == ["RH"]
    assert api_for("nurse_rh").get("/api/v1/me").json()["sites"] == [{"code": "RH", "name": "Rigshospitalet"}]
    assert len(api_for("monitor").get("/api/v1/sites").json()) == 6


def test_openapi_schema_lists_the_endpoints(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/me", "/api/v1/audit", "/api/v1/sites"} <= set(schema["paths"])
