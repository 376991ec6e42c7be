"""Every page, as every role sees it, in each language: with Danish chosen no English is left (outside proper
names, codes and the trial's own data), and with English chosen no Danish; the refusals and error pages too.

The walk is the garbage test's (tests/trial/pages.py): every named page, filled from one small trial, GET as
each persona; every page with a form is also posted empty and with an impossible number, so its refusals are
read as well. A page's words are its text and the attributes people read (placeholder, title, aria-label,
alt, button values); how the two languages are told apart is tests/language.py."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.language import english_sentences, foreign_words, proper_names, read
from tests.trial.conftest import PERSONAS
from tests.trial.pages import FIELD, POST_ONLY, form_pages, url_for

# the walk's own data, typed in English by tests.trial.pages.world; it is data, not the pages' words
WORLD_TEXT = ("bleeding", "consent forms complete", "HGH-G1")


def walk(client: Client, world: dict) -> dict[str, list[str]]:
    """url (and what was done) -> the words read there."""
    pages: dict[str, list[str]] = {}
    for name, pattern in form_pages():
        url = url_for(name, pattern, world)
        response = client.get(url)
        assert response.status_code < 500, f"GET {url}: {response.status_code}"
        if response.get("Content-Type", "").startswith("text/html"):
            html = response.content.decode()
            pages[f"GET {url} ({response.status_code})"] = read(html)
            fields = POST_ONLY.get(name) or (sorted(set(FIELD.findall(html)) - {"csrfmiddlewaretoken"})
                                             if 'method="post"' in html.lower() else [])
            if fields and response.status_code == 200:
                for what, junk in (("empty", ""), ("impossible number", "-1e9")):
                    posted = client.post(url, {f: junk for f in fields})
                    assert posted.status_code < 500, f"POST {url} {what}: {posted.status_code}"
                    if posted.get("Content-Type", "").startswith("text/html") and posted.status_code != 302:
                        pages[f"POST {url} {what} ({posted.status_code})"] = read(posted.content.decode())
    for url in ("/no/such/page/", "/login/"):
        response = client.get(url)
        pages[f"GET {url} ({response.status_code})"] = read(response.content.decode())
    return pages


@pytest.mark.parametrize("language", ["da", "en"])
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_every_page_speaks_the_chosen_language(persona, language, world, users):
    client = Client(headers={"Accept-Language": language})
    client.force_login(users[persona])
    names, sentences = proper_names(WORLD_TEXT), english_sentences()
    pages = walk(client, world)
    assert len(pages) >= 40
    problems = {where: bad for where, words in pages.items()
                if (bad := foreign_words(words, language, names, sentences))}
    report = "\n".join(f"{where}: {'; '.join(bad[:8])}" for where, bad in sorted(problems.items()))
    assert not problems, f"{persona} in {language}: {len(problems)} pages with words of the other language\n{report}"


@pytest.mark.parametrize("language", ["da", "en"])
def test_the_login_page_speaks_the_chosen_language_before_anyone_logs_in(language, db):
    words = read(Client(headers={"Accept-Language": language}).get("/login/").content.decode())
    assert words and not foreign_words(words, language, proper_names(()), english_sentences())


def test_the_detector_finds_what_it_is_for():
    names, sentences = proper_names(WORLD_TEXT), frozenset({"Participant number"})
    assert foreign_words(["Gem"], "da", names, sentences) == []
    assert foreign_words(["Save the record"], "da", names, sentences)
    assert foreign_words(["Participant number"], "da", names, sentences)
    assert foreign_words(["Tidspunkt 2026-12-01 03:12"], "da", names, sentences)
    assert foreign_words(["Tidspunkt 01.12.2026 03:12", "Zealand University Hospital Køge"], "da", names,
                         sentences) == []
    assert foreign_words(["Gem ændringer"], "en", names, sentences)
    assert foreign_words(["Save", "Nordsjællands Hospital Hillerød"], "en", names, sentences) == []
    assert read("<p>Kolonner: <code>site,position</code></p>") == ["Kolonner:"]
    assert read('<p>Hej <script>var x="the"</script><input type="submit" value="Gem" placeholder="dd.mm.åååå">'
                '</p>') == ["Hej", "dd.mm.åååå", "Gem"]
