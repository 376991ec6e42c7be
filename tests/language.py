"""How tests tell a page's language: the words a person reads on it (text, and the attributes read aloud), and
the words of the other language among them. English is recognised by words no Danish sentence holds and by
the whole English sentence of a catalogue entry; Danish by its letters and words no English sentence holds.
Proper names (sites, the trial) and the tests' own typed data are left out first."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import polib
from django.utils import translation

from shine.protocol import load as load_protocol
from shine.web.catalogues import CATALOGUES

# English words that are no Danish word (so a Danish page never needs them)
ENGLISH_ONLY = frozenset("""
the and of is are was were been has have had with this that these those from will would should must not
which what when where who whom whose your you yes save saved cancel submit back next enter entered required
participant participants day days date time hours minutes week month year value values comment comments
history open closed query queries sign signed signature lock locked unlock unlocked report reports export
exports new add edit change changed changes delete remove show hide all none any more less only after
before since until about there their here out up down on or if an it as page found error refused forbidden
consent guardian kin randomise randomised randomisation allocation pack pump rate daily record records
sample samples blood death died adverse event events serious verified verify verification monitoring visit
visits deviation deviations trial study drug weight unknown missing done restored unsaved please check
site sites user users password username sent due overdue late still yet again also other another each
every first last number numbers name names reason reasons level why how can cannot could may might
""".split())
DANISH_ONLY = frozenset("""
og ikke skal deltager deltagere samtykke gem annuller forsøgsværge pårørende dag dage dato tidspunkt
begrundelse kommentar værdi værdier mangler ukendt udført åben lukket underskrift låst eksport rapport
forespørgsel forespørgsler hændelse alvorlig blodprøve opfølgning død vægt adgangskode brugernavn
""".split())
DANISH_LETTERS = re.compile(r"[æøåÆØÅ]")
WORD = re.compile(r"[^\W\d_][\w'-]*|\w+")  # a word; user names like nurse_hgh stay whole (data, not text)
ISO_DATE_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}\b(?!:\d)")  # a Danish page writes 01.12.2026 03:12
READ_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
SKIPPED = ("script", "style", "code", "kbd", "samp")  # not read as sentences: code, and what is typed as shown


class PageWords(HTMLParser):
    """The text a person reads on a page: text outside script and style, and the attributes read aloud."""

    def __init__(self):
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self._skip += 1
        a = dict(attrs)
        self.chunks += [a[k] for k in READ_ATTRIBUTES if a.get(k)]
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.chunks.append(a["value"])

    def handle_endtag(self, tag):
        if tag in SKIPPED and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.chunks.append(" ".join(data.split()))


def read(html: str) -> list[str]:
    parser = PageWords()
    parser.feed(html)
    return parser.chunks


def english_sentences() -> frozenset[str]:
    """The catalogues' English sentences that have a different Danish one (so seeing them means untranslated)."""
    out = set()
    for catalogue in CATALOGUES:
        po = catalogue.po("da")
        if po.exists():
            out |= {e.msgid for e in polib.pofile(str(po)) if e.msgstr and e.msgstr != e.msgid and " " in e.msgid}
    return frozenset(out)


def proper_names(world_text: tuple[str, ...]) -> tuple[str, ...]:
    """Names and the trial's own data, in either language: the sites, the trial, what the test data typed."""
    protocol = load_protocol()
    return tuple(sorted({*(s.name for s in protocol.sites), protocol.name, *world_text}, key=len, reverse=True))


def foreign_words(chunks: list[str], language: str, names: tuple[str, ...], sentences: frozenset[str]) -> list[str]:
    found = []
    for chunk in chunks:
        text = chunk
        for name in names:
            text = text.replace(name, " ")
        words = {w.lower() for w in WORD.findall(text)}
        if language == "da":
            bad = words & ENGLISH_ONLY
            if bad or text.strip() in sentences or ISO_DATE_TIME.search(text):
                found.append(f"{chunk!r} ({', '.join(sorted(bad)) or 'English sentence or ISO date'})")
        else:
            bad = words & DANISH_ONLY
            if bad or DANISH_LETTERS.search(text):
                found.append(f"{chunk!r} ({', '.join(sorted(bad)) or 'Danish letters'})")
    return found


def danish(english: str) -> str:
    """The catalogue's Danish for an English text of the pages; the test fails where there is none."""
    with translation.override("da"):
        text = translation.gettext(english)
    assert text != english, f"no Danish for {english!r}"
    return text
