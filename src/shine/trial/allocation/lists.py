"""Concealed randomisation lists as plain Python (no Django): generation, manifest, import checks, QC.

Stratified by site; within a site, permuted blocks whose size is drawn uniformly from the protocol's block
sizes (default 2/4/6), each block half active, half control in a random order. The random source is
``random.Random(seed)`` with a 128-bit seed drawn from :mod:`secrets` and recorded with the list, so the
list can be regenerated and checked; the manifest's SHA-256 pins its exact content. Messages are in the
active language (:mod:`shine.i18n`; the catalogue is the allocation app's).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field

from shine.i18n import _

ALGORITHM = "shine-pbr-1: random.Random(seed); per site in protocol order: block size = choice(block_sizes), " \
            "block = shuffle(half active + half control), whole blocks until the length is reached"
ALGORITHM_ID = ALGORITHM.split(":")[0]  # "shine-pbr-1"
HEADER = ("site", "position", "number", "block", "block_size", "arm")
NUMBER_STRIDE = 10_000  # randomisation number = (site's index in the protocol + 1) * 10 000 + position


@dataclass(frozen=True)
class Entry:
    site: str
    position: int
    number: int
    block: int
    block_size: int
    arm: str


def new_seed() -> int:
    return secrets.randbits(128)


def generate(*, seed: int, sites: tuple[str, ...], length: int, block_sizes: tuple[int, ...],
             arms: tuple[str, str], site_order: tuple[str, ...] | None = None) -> list[Entry]:
    """At least ``length`` entries per site, ending at a block boundary (whole blocks only)."""
    if length < 1 or length >= NUMBER_STRIDE:
        raise ValueError(_("the length must lie between 1 and %(max)s per site; got %(length)s")
                         % {"max": NUMBER_STRIDE - 1, "length": length})
    if not block_sizes or any(b <= 0 or b % 2 for b in block_sizes):
        raise ValueError(_("block sizes must be positive even numbers; got %(sizes)s") % {"sizes": block_sizes})
    order = site_order or sites
    rng = random.Random(seed)
    out: list[Entry] = []
    for code in order:
        if code not in sites:
            continue
        base = (order.index(code) + 1) * NUMBER_STRIDE
        position, block = 0, 0
        while position < length:
            size = rng.choice(block_sizes)
            block += 1
            content = [arms[0]] * (size // 2) + [arms[1]] * (size // 2)
            rng.shuffle(content)
            for arm in content:
                position += 1
                out.append(Entry(code, position, base + position, block, size, arm))
    return out


def algorithm_in_words(algorithm: str) -> tuple[str, str]:
    """A list's recorded algorithm as (its identifier, what it does in the active language); an algorithm this
    version does not know is shown as recorded."""
    if algorithm == ALGORITHM:
        return ALGORITHM_ID, _("for each site in the protocol's order, permuted blocks whose size is drawn from the "
                               "block sizes, each block half active and half control in random order, whole "
                               "blocks until the length is reached (Python's random.Random from the seed)")
    return algorithm, ""


def manifest(entries: list[Entry]) -> str:
    """The list as canonical CSV text (sorted by site and position); its SHA-256 is the list's fingerprint."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for e in sorted(entries, key=lambda e: (e.site, e.position)):
        w.writerow([e.site, e.position, e.number, e.block, e.block_size, e.arm])
    return buf.getvalue()


def sha256(entries: list[Entry]) -> str:
    return hashlib.sha256(manifest(entries).encode("utf-8")).hexdigest()


def parse(text: str, *, sites: tuple[str, ...], arms: tuple[str, str], block_sizes: tuple[int, ...]) -> list[Entry]:
    """Read an imported list (CSV with :data:`HEADER`) and check it; ValueError lists every problem."""
    try:
        return _parse(text, sites=sites, arms=arms, block_sizes=block_sizes)
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit (128 kB)
        raise ValueError(_("the list is not readable CSV: %(error)s") % {"error": exc}) from None


def _parse(text: str, *, sites: tuple[str, ...], arms: tuple[str, str], block_sizes: tuple[int, ...]) -> list[Entry]:
    problems: list[str] = []
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != HEADER:
        raise ValueError(_("the header must be %(header)s; got %(got)s")
                         % {"header": ",".join(HEADER), "got": ",".join(reader.fieldnames or ())})
    entries = []
    for n, row in enumerate(reader, start=2):
        try:
            e = Entry(row["site"].strip().upper(), int(row["position"]), int(row["number"]), int(row["block"]),
                      int(row["block_size"]), row["arm"].strip())
        except (TypeError, ValueError):
            problems.append(_("line %(line)s: position, number, block and block_size must be whole numbers")
                            % {"line": n})
            continue
        if e.site not in sites:
            problems.append(_("line %(line)s: unknown site %(site)s") % {"line": n, "site": repr(e.site)})
        if e.arm not in arms:
            problems.append(_("line %(line)s: arm must be one of %(arms)s") % {"line": n, "arms": ", ".join(arms)})
        if e.block_size not in block_sizes:
            problems.append(_("line %(line)s: block size %(size)s is not one of the protocol's %(sizes)s")
                            % {"line": n, "size": e.block_size, "sizes": block_sizes})
        entries.append(e)
    if not entries and not problems:
        problems.append(_("the list is empty"))
    numbers = Counter(e.number for e in entries)
    problems += [_("randomisation number %(number)s appears %(times)s times") % {"number": k, "times": v}
                 for k, v in numbers.items() if v > 1]
    for code in sorted({e.site for e in entries}):
        rows = sorted((e for e in entries if e.site == code), key=lambda e: e.position)
        if [e.position for e in rows] != list(range(1, len(rows) + 1)):
            problems.append(_("site %(site)s: positions must run 1, 2, 3, … without gaps or repeats") % {"site": code})
        blocks: dict[int, list[Entry]] = {}
        for e in rows:
            blocks.setdefault(e.block, []).append(e)
        for b, members in blocks.items():
            sizes = {m.block_size for m in members}
            count = Counter(m.arm for m in members)
            if len(sizes) != 1 or len(members) != members[0].block_size:
                problems.append(_("site %(site)s block %(block)s: has %(entries)s entries but block size %(size)s")
                                % {"site": code, "block": b, "entries": len(members), "size": sorted(sizes)})
            elif count[arms[0]] != count[arms[1]]:
                problems.append(_("site %(site)s block %(block)s: unbalanced (%(first)s vs %(second)s)")
                                % {"site": code, "block": b, "first": count[arms[0]], "second": count[arms[1]]})
    if problems:
        more = [_("… %(count)s more") % {"count": len(problems) - 50}] if len(problems) > 50 else []
        raise ValueError("; ".join(problems[:50] + more))
    return entries


@dataclass(frozen=True)
class SiteQC:
    site: str
    entries: int
    active: int
    control: int
    blocks: int
    block_sizes: dict[int, int]
    max_running_imbalance: int
    unbalanced_blocks: int


@dataclass(frozen=True)
class QCReport:
    """Balance per site, block sizes used, and whether every block is balanced."""

    sites: tuple[SiteQC, ...]
    sha256: str
    ok: bool
    problems: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        lines = [_("%(site)s: %(entries)s entries, %(active)s/%(control)s, %(blocks)s blocks %(sizes)s, max running "
                   "imbalance %(imbalance)s")
                 % {"site": s.site, "entries": s.entries, "active": s.active, "control": s.control,
                    "blocks": s.blocks, "sizes": dict(sorted(s.block_sizes.items())),
                    "imbalance": s.max_running_imbalance} for s in self.sites]
        verdict = _("OK") if self.ok else _("PROBLEMS: %(problems)s") % {"problems": "; ".join(self.problems)}
        lines.append(f"{verdict} sha256 {self.sha256}")
        return "\n".join(lines)


def qc(entries: list[Entry], arms: tuple[str, str]) -> QCReport:
    out, problems = [], []
    for code in sorted({e.site for e in entries}):
        rows = sorted((e for e in entries if e.site == code), key=lambda e: e.position)
        running, worst = 0, 0
        blocks: dict[int, list[Entry]] = {}
        for e in rows:
            running += 1 if e.arm == arms[0] else -1
            worst = max(worst, abs(running))
            blocks.setdefault(e.block, []).append(e)
        unbalanced = sum(1 for m in blocks.values()
                         if sum(1 for x in m if x.arm == arms[0]) * 2 != len(m) or len(m) != m[0].block_size)
        sizes = Counter(m[0].block_size for m in blocks.values())
        active = sum(1 for e in rows if e.arm == arms[0])
        out.append(SiteQC(code, len(rows), active, len(rows) - active, len(blocks), dict(sizes), worst, unbalanced))
        if unbalanced:
            problems.append(_("%(site)s: %(count)s unbalanced blocks") % {"site": code, "count": unbalanced})
    return QCReport(tuple(out), sha256(entries), not problems, tuple(problems))
