"""The translation catalogues are complete and compiled: makemessages, run afresh over a copy of the code,
finds no string without a Danish translation (nor a fuzzy guess), and every compiled .mo holds what its .po
says. Needs GNU gettext (xgettext, msgmerge, msgfmt), as makemessages does; CI installs it."""

import shutil

import polib
import pytest

from shine.web.catalogues import APPS, CATALOGUES, SHINE, TRANSLATED, extract


def entries(catalogue_file) -> dict:
    return {(e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
            for e in catalogue_file if e.msgid and not e.obsolete}


def test_every_app_and_the_pure_core_have_a_catalogue():
    names = {c.name for c in CATALOGUES}
    assert "shine" in names and "shine/web" in names
    assert {f"shine/trial/{app}" for app in APPS} <= names
    apps_with_pages = {p.parent.name for p in (SHINE / "trial").glob("*/templates")}
    assert apps_with_pages <= set(APPS)


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda c: c.name)
def test_makemessages_finds_no_untranslated_string(catalogue, tmp_path):
    for language in TRANSLATED:
        assert catalogue.po(language).exists(), f"{catalogue.name}: no {language} catalogue"
    copy = tmp_path / "shine"
    shutil.copytree(SHINE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    extract(catalogue, copy)
    for language in TRANSLATED:
        fresh = polib.pofile(str(catalogue.po(language, copy)))
        missing = [e.msgid for e in fresh if e.msgid and not e.obsolete and not e.translated()]
        assert not missing, (f"{catalogue.name} ({language}): {len(missing)} strings without a translation "
                             f"(run `shine translations update` and fill them in): {missing[:20]}")
        committed = entries(polib.pofile(str(catalogue.po(language))))
        assert entries(fresh).keys() == committed.keys(), (
            f"{catalogue.name} ({language}): the committed catalogue is not what the code holds; "
            "run `shine translations update`")


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda c: c.name)
def test_the_compiled_catalogue_is_current(catalogue):
    for language in TRANSLATED:
        po, mo = catalogue.po(language), catalogue.mo(language)
        assert mo.exists(), f"{catalogue.name}: {mo.name} not compiled"
        translated = polib.pofile(str(po)).translated_entries()  # msgfmt leaves out the rest
        assert entries(polib.mofile(str(mo))) == entries(translated), (
            f"{catalogue.name} ({language}): {mo} is stale; run `shine translations compile`")


def test_the_check_fails_on_a_new_untranslated_string(tmp_path):
    """The extraction sees a string added to the code (the test above cannot pass by finding nothing)."""
    copy = tmp_path / "shine"
    shutil.copytree(SHINE / "web", copy / "web", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "web" / "templates" / "new.html").write_text('{% load i18n %}{% translate "A brand-new sentence" %}')
    web = next(c for c in CATALOGUES if c.name == "shine/web")
    extract(web, copy)
    fresh = polib.pofile(str(web.po("da", copy)))
    assert "A brand-new sentence" in {e.msgid for e in fresh.untranslated_entries()}


def test_one_english_text_has_one_translation_across_the_catalogues():
    """Django merges every catalogue into one, and where two give the same text (in the same context) different
    translations the first found wins silently: a noun 'Record' shown as the verb 'Registrér'. A text with two
    meanings gets a context (pgettext) instead."""
    found: dict = {}
    for catalogue in CATALOGUES:
        for language in TRANSLATED:
            for key, translation in entries(polib.pofile(str(catalogue.po(language)))).items():
                found.setdefault((language, *key), {})[catalogue.name] = translation
    conflicts = {key: by for key, by in found.items() if len(set(by.values())) > 1}
    assert not conflicts, "\n".join(f"{k}: {v}" for k, v in conflicts.items())
