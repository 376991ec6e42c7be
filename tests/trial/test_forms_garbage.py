"""Every form page of the site, posted with garbage in every field: never a 500, nothing half-saved.

The pages are found from the URL patterns; each page's own form fields are read from its HTML (GET first), then
posted with one kind of garbage in all of them at once: overlong text, NUL bytes, impossible dates, 1e308,
negative numbers, NaN, nothing. A refusal re-renders the form (200 or 4xx) and writes no audit event. A page
with a filter form (method GET) also gets the garbage in its query string."""

from __future__ import annotations

import pytest

from tests.trial.pages import FIELD, OWNER, POST_ONLY, data_events, form_pages, url_for

GARBAGE = {
    "overlong": "x" * 100_000,
    "nul": "ab\x00cd",
    "impossible date": "9999-99-99",
    "impossible date-time": "9999-99-99T99:99",
    "huge number": "1e308",
    "negative": "-1",
    "nan": "NaN",
    "empty": "",
}


@pytest.mark.parametrize("name", [n for n, _ in form_pages()])
def test_garbage_in_every_field_of_a_form_is_refused_without_a_500(name, world, client_for):
    pattern = dict(form_pages())[name]
    url = url_for(name, pattern, world)
    client = client_for(OWNER.get(name, "nurse_hgh"))
    page = client.get(url)
    assert page.status_code < 500, f"GET {url}: {page.status_code}"
    html = page.content.decode() if page.status_code == 200 else ""
    if name in POST_ONLY:
        fields = POST_ONLY[name]
    elif 'method="post"' in html.lower():
        fields = sorted(set(FIELD.findall(html)) - {"csrfmiddlewaretoken"})
    else:
        pytest.skip(f"{url}: no form to post for this persona ({page.status_code})")
    for kind, junk in GARBAGE.items():
        if 'method="get"' in html.lower():  # a filter form: the same garbage in its query
            response = client.get(url, {f: junk for f in fields})
            assert response.status_code < 500, f"GET {url} with {kind} garbage: {response.status_code}"
        before = data_events()
        response = client.post(url, {f: junk for f in fields})
        assert response.status_code < 500, f"POST {url} with {kind} garbage: {response.status_code}"
        if response.status_code != 302:
            assert data_events() == before, f"POST {url} with {kind} garbage was refused but wrote"
