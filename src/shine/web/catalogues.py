"""The translation catalogues: the pure core's (shine/locale) and one per app (<app>/locale), each extracted
by Django's makemessages in its own directory and compiled to the .mo files the pages read. The catalogues'
check (tests/trial/test_catalogues.py) and `shine translations update` both take the list from here."""

from __future__ import annotations

import os
import subprocess  # nosec B404: runs this project's own `shine` command
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SHINE = Path(__file__).resolve().parent.parent
TRANSLATED = ("da",)  # English is the source language: its strings are the msgids
APPS = ("accounts", "allocation", "audit", "enrollment", "monitoring", "records", "reports", "safety")
# makemessages' options, the same for every catalogue: no line numbers (they churn), no obsolete entries
OPTIONS = ("--no-obsolete", "--no-location", "--no-wrap")


@dataclass(frozen=True)
class Catalogue:
    source: Path  # the directory makemessages runs in; its strings go into source/locale
    ignore: tuple[str, ...] = ()  # parts of it that other catalogues extract

    @property
    def name(self) -> str:
        return str(self.source.relative_to(SHINE.parent))

    def po(self, language: str, root: Path = SHINE) -> Path:
        return root / self.source.relative_to(SHINE) / "locale" / language / "LC_MESSAGES" / "django.po"

    def mo(self, language: str, root: Path = SHINE) -> Path:
        return self.po(language, root).with_suffix(".mo")


CATALOGUES = (
    # the pure core's, with what src/shine/trial holds outside the apps (the shared refusals of errors.py)
    Catalogue(SHINE, ignore=("web", "var", *(f"trial/{app}" for app in APPS))),
    Catalogue(SHINE / "web"),
    *(Catalogue(SHINE / "trial" / app) for app in APPS),
)


def _shine(*args: str, cwd: Path) -> None:
    """The ``shine`` command in ``cwd``, its var/ (keys, the database) kept out of the source tree; -P: an
    app's own modules (selectors.py) must not stand in for the standard library's."""
    with tempfile.TemporaryDirectory() as var:
        subprocess.run([sys.executable, "-P", "-m", "shine.cli", *args], cwd=cwd, check=True,  # nosec B603
                       capture_output=True, text=True, env={**os.environ, "SHINE_VAR_DIR": var})


def extract(catalogue: Catalogue, root: Path = SHINE) -> None:
    """makemessages for one catalogue in ``root`` (the package, or a copy of it)."""
    where = root / catalogue.source.relative_to(SHINE)
    (where / "locale").mkdir(exist_ok=True)
    ignore = [a for pattern in catalogue.ignore for a in ("--ignore", pattern)]
    _shine("makemessages", *[f"--locale={lang}" for lang in TRANSLATED], *OPTIONS, *ignore, cwd=where)


def compile_all(root: Path = SHINE) -> None:
    for catalogue in CATALOGUES:
        for language in TRANSLATED:
            po = catalogue.po(language, root)
            if po.exists():
                subprocess.run(["msgfmt", "--check", "-o", str(po.with_suffix(".mo")), str(po)],  # nosec B603 B607
                               check=True, capture_output=True, text=True)
