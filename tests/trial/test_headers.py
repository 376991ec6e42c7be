"""Security headers on every response, and templates a strict Content-Security-Policy cannot break: no inline
script, no event-handler attribute, no style attribute or element, no javascript: link, anywhere."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, get_resolver

import shine

TEMPLATES = sorted(Path(shine.__file__).parent.rglob("templates/**/*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
STYLE = re.compile(r"<[^>]*\sstyle\s*=|<style\b", re.I)
JAVASCRIPT_URL = re.compile(r"(href|src|action)\s*=\s*[\"']?\s*javascript:", re.I)


def check_headers(response, where):
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'", where
    assert directives["style-src"] == "'self'" and directives["frame-ancestors"] == "'none'", where
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
    assert response["X-Frame-Options"] == "DENY", where
    assert response["Referrer-Policy"] == "same-origin", where
    assert response["X-Content-Type-Options"] == "nosniff", where


def plain_pages() -> list[str]:
    """Every page URL that takes no argument."""
    out = []
    for p in get_resolver().url_patterns:
        if isinstance(p, URLPattern) and "<" not in str(p.pattern) and not str(p.pattern).startswith("api/"):
            out.append("/" + str(p.pattern))
    return out


def test_templates_are_found():
    assert len(TEMPLATES) >= 60 and any(p.name == "base.html" for p in TEMPLATES)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_template_has_inline_script_or_style(path):
    text = path.read_text()
    for rule, what in ((INLINE_SCRIPT, "inline <script>"), (HANDLER, "on…= handler"), (STYLE, "inline style"),
                       (JAVASCRIPT_URL, "javascript: link")):
        found = rule.search(text)
        assert found is None, f"{path}: {what}: {found.group(0)[:80]}"


def test_the_template_rules_catch_what_they_are_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/x.js" defer></script>')
    assert HANDLER.search('<button onclick="x()">') and not HANDLER.search('<input name="only">')
    assert STYLE.search('<td style="width:1px">') and STYLE.search("<style>td{}</style>")
    assert JAVASCRIPT_URL.search('<a href="javascript:x()">')


@pytest.mark.parametrize("persona", ["nurse_hgh", "investigator_hgh", "pharmacist", "monitor", "dsmb_statistician",
                                     "data_manager", "pharmacovigilance", "auditor", "admin"])
def test_every_page_has_the_security_headers(users, client_for, persona):
    client = client_for(persona)
    pages = plain_pages()
    assert len(pages) >= 20
    statuses = set()
    for path in pages:
        response = client.get(path)
        statuses.add(response.status_code)
        check_headers(response, f"{persona} {path} → {response.status_code}")
    assert 200 in statuses and 403 in statuses  # refusals carry the headers as well


def test_anonymous_pages_api_and_errors_have_the_headers(users, api_for):
    for response in (Client().get("/login/"), Client().get("/"), Client().get("/no/such/page/"),
                     Client().get("/api/v1/me"), api_for("nurse_hgh").get("/api/v1/participants"),
                     Client().get("/api/v1/docs")):
        check_headers(response, response.request["PATH_INFO"])
