"""The reports and safety templates carry no inline script, event-handler attribute or style attribute, so a
Content-Security-Policy without 'unsafe-inline' can be enforced on their pages (the browser tests load them
under such a policy)."""

import re
from pathlib import Path

import pytest

import shine.trial.reports
import shine.trial.safety

TEMPLATES = sorted(p for pkg in (shine.trial.reports, shine.trial.safety)
                   for p in (Path(pkg.__file__).parent / "templates").rglob("*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)


def test_templates_are_found():
    assert len(TEMPLATES) >= 9


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_template_has_nothing_inline(path):
    text = path.read_text()
    for rule, what in ((INLINE_SCRIPT, "inline <script>"), (HANDLER, "on…= handler"),
                       (STYLE_ATTRIBUTE, "style= attribute"), (STYLE_ELEMENT, "<style> element")):
        found = rule.search(text)
        assert found is None, f"{path.name}: {what}: {found.group(0)[:80]}"


def test_the_rules_catch_what_they_are_for():
    assert STYLE_ATTRIBUTE.search('<td style="min-width:6rem">') and STYLE_ELEMENT.search("<style>td{}</style>")
    assert INLINE_SCRIPT.search("<script>x()</script>") and not INLINE_SCRIPT.search('<script src="/s.js"></script>')
    assert HANDLER.search('<a onclick="x()">') and not HANDLER.search('<input name="one">')
