"""Translation for the pure core (clinical, analysis, design, exchange) without Django: ``_`` marks a
message for the catalogue in shine/locale and translates it into the active language. Under Django the
active language is the request's (shine.web.apps installs Django's gettext); a command line run without
Django reads the same compiled catalogue with the standard library, in the language LANGUAGE or LANG name."""

from __future__ import annotations

import gettext as _stdlib
import os
from collections.abc import Callable
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "django"  # the catalogue Django's makemessages writes and its gettext reads


def _from_environment() -> Callable[[str], str]:
    wanted = [v.split(".")[0].split("_")[0] for v in (os.environ.get("LANGUAGE", "") or
                                                       os.environ.get("LANG", "")).split(":") if v]
    return _stdlib.translation(DOMAIN, LOCALE_DIR, languages=wanted or ["en"], fallback=True).gettext


_translate: Callable[[str], str] | None = None


def install(translate: Callable[[str], str]) -> None:
    """Route every ``_`` through ``translate`` (Django's gettext, from the web app's ready())."""
    global _translate
    _translate = translate


def _(message: str) -> str:
    global _translate
    if _translate is None:
        _translate = _from_environment()
    return _translate(message)
