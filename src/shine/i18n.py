"""Translation for the pure core (clinical, analysis, design, exchange) without Django: ``_`` marks a
message for the catalogue in shine/locale and translates it into the active language. Under Django the
active language is the request's (shine.web.apps installs Django's gettext); a command line run without
Django reads the same compiled catalogue with the standard library, in the language LANGUAGE or LANG name.

``gettext_noop`` marks a text for the catalogue without translating it (module-level tables whose text is
translated where it is shown, with ``_``); ``pgettext`` translates a word in a context ("field", "unit") so a
short word cannot collide with another catalogue's; ``ngettext`` picks the singular or plural by the count, as
the language's plural rule says; ``decimal`` writes a number the way the active language
does (a decimal comma in Danish)."""

from __future__ import annotations

import gettext as _stdlib
import os
from collections.abc import Callable
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "django"  # the catalogue Django's makemessages writes and its gettext reads
LANGUAGES = ("da", "en")  # as the web settings' LANGUAGES; English is the source language
DECIMAL_COMMA = ("da",)  # languages that write 1,5 rather than 1.5


def environment_language() -> str:
    """The language LANGUAGE or LANG names ("da_DK.UTF-8" → "da"), if it is one of :data:`LANGUAGES`; else
    English."""
    for value in (os.environ.get("LANGUAGE", "") or os.environ.get("LANG", "")).split(":"):
        code = value.split(".")[0].split("@")[0].split("_")[0].split("-")[0].lower()
        if code in LANGUAGES:
            return code
        if code:
            break
    return "en"


def _from_environment() -> _stdlib.NullTranslations:
    return _stdlib.translation(DOMAIN, LOCALE_DIR, languages=[environment_language()], fallback=True)


_translate: Callable[[str], str] | None = None
_ptranslate: Callable[[str, str], str] | None = None
_ntranslate: Callable[[str, str, int], str] | None = None
_language: Callable[[], str | None] = environment_language


def install(translate: Callable[[str], str], ptranslate: Callable[[str, str], str] | None = None,
            language: Callable[[], str | None] | None = None,
            ntranslate: Callable[[str, str, int], str] | None = None) -> None:
    """Route every ``_`` through ``translate`` (Django's gettext, from the web app's ready()), ``pgettext``
    through ``ptranslate``, ``ngettext`` through ``ntranslate`` and :func:`decimal` by ``language`` (Django's
    get_language)."""
    global _translate, _ptranslate, _ntranslate, _language
    _translate = translate
    if ptranslate is not None:
        _ptranslate = ptranslate
    if ntranslate is not None:
        _ntranslate = ntranslate
    if language is not None:
        _language = language


def _load() -> None:
    global _translate, _ptranslate, _ntranslate
    catalogue = _from_environment()
    _translate = _translate or catalogue.gettext
    _ptranslate = _ptranslate or catalogue.pgettext
    _ntranslate = _ntranslate or catalogue.ngettext


def _(message: str) -> str:
    if _translate is None:
        _load()
    return _translate(message)


def pgettext(context: str, message: str) -> str:
    if _ptranslate is None:
        _load()
    return _ptranslate(context, message)


def ngettext(singular: str, plural: str, count: int) -> str:
    if _ntranslate is None:
        _load()
    return _ntranslate(singular, plural, count)


def gettext_noop(message: str) -> str:
    return message


def language() -> str:
    """The active language's code ("da", "en")."""
    return (_language() or "en").split("-")[0].lower()


def decimal(x, spec: str = "g") -> str:
    """``x`` formatted with ``spec`` (as ``format(x, spec)``; ``"r"``: its repr), with a decimal comma in the
    languages that write one. Anything but a number (a string typed, None) is written as ``spec`` gives it."""
    text = repr(x) if spec == "r" else format(x, spec)
    if language() in DECIMAL_COMMA and _is_number(x):
        text = text.replace(".", ",")
    return text


def _is_number(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, float)):
        return True
    return type(x).__module__ == "numpy" and hasattr(x, "dtype") and x.dtype.kind in "iuf"
