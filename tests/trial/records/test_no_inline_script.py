"""The data-capture and enrolment templates carry no inline script, event-handler attribute or style
attribute, so a Content-Security-Policy without 'unsafe-inline' can be switched on without breaking them."""

import re
from pathlib import Path

import pytest

import shine.trial.enrollment
import shine.trial.records

TEMPLATES = sorted(p for pkg in (shine.trial.records, shine.trial.enrollment)
                   for p in (Path(pkg.__file__).parent / "templates").rglob("*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"href\s*=\s*[\"']?\s*javascript:", re.I)


def test_templates_are_found():
    assert len(TEMPLATES) >= 20


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_template_has_nothing_inline(path):
    text = path.read_text()
    for rule, what in ((INLINE_SCRIPT, "inline <script>"), (HANDLER, "on…= handler"),
                       (STYLE_ATTRIBUTE, "style= attribute"), (JAVASCRIPT_URL, "javascript: link")):
        found = rule.search(text)
        assert found is None, f"{path.name}: {what}: {found.group(0)[:80]}"


def test_the_rules_catch_what_they_are_for():
    assert INLINE_SCRIPT.search('<script>alert(1)</script>')
    assert not INLINE_SCRIPT.search('<script src="/static/x.js" defer></script>')
    assert HANDLER.search('<button onclick="x()">') and STYLE_ATTRIBUTE.search('<td style="width:1px">')
    assert not HANDLER.search('<input name="only">')
