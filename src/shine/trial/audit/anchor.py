"""The chain's head, written where the database cannot rewrite it.

After every commit that adds seals, the new head (seal number and hash) is appended to the anchor file
(``settings.SHINE_AUDIT_ANCHOR_FILE``, one JSON line each, opened append-only) and logged on the
security log (``shine.trial.audit.security``). ``shine audit verify --anchor FILE`` then holds the
database's chain to every line: a trail cut short, a tail deleted, or a chain forged anew from scratch no
longer matches the anchor.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from . import security


def after_commit(*, using: str, seq: int, hash: str) -> None:
    """Anchor the head ``seq``/``hash`` once the transaction that sealed it commits (never a rolled-back one)."""
    transaction.on_commit(lambda: write(seq=seq, hash=hash), using=using)


def write(*, seq: int, hash: str, path: Path | None = None) -> None:
    path = Path(path or settings.SHINE_AUDIT_ANCHOR_FILE)
    line = json.dumps({"seq": seq, "hash": hash, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: one write per line, so lines from several server processes never interleave
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
    except OSError as exc:  # the write stands (it is sealed in the database); the gap in the anchor is logged
        security.event("audit_anchor_failed", level=logging.ERROR, seq=seq, path=str(path), error=exc.strerror)
    security.event("audit_anchor", seq=seq, hash=hash)


@dataclass(frozen=True)
class Anchor:
    line: int
    seq: int
    hash: str


class AnchorFileError(ValueError):
    pass


def read(path: Path) -> list[Anchor]:
    """Every line of an anchor file; a line that is not an anchor is an error (the file is evidence)."""
    out = []
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise AnchorFileError(_("cannot read the anchor file %(path)s: %(error)s")
                              % {"path": path, "error": exc.strerror}) from None
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            seq, digest = item["seq"], item["hash"]
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1 or not isinstance(digest, str) \
                    or len(digest) != 64:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise AnchorFileError(_("%(path)s line %(number)s is not an anchor (expected "
                                    '{"seq": N, "hash": "<64 hex>"})') % {"path": path, "number": number}) from None
        out.append(Anchor(number, seq, digest))
    return out
