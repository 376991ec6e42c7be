"""The blinding secret, read in one place for the platform and for ``shine analyse --blinded``.

The A/B labels of a blinded data set are an HMAC of the allocation under this secret
(:func:`shine.analysis.dataset.arm_code_map`), so a blinded export of the platform and an unblinded export
recoded by ``shine analyse --blinded`` label each participant the same way only when both read the same
secret. Both read it here: ``$SHINE_BLINDING_KEY``; outside production, else the demo's key file
``blinding_key`` in the var folder (``$SHINE_VAR_DIR``, default ``./var``), which the platform makes on its
first start. In production (``SHINE_ENV=production``) only the variable counts; the platform refuses to start
without it (``shine.web.settings``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

ENV = "SHINE_BLINDING_KEY"
DEMO_FILE = "blinding_key"
MIN_LENGTH = 32


def var_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The platform's var folder (the same default as the platform's settings)."""
    env = os.environ if environ is None else environ
    return Path(env.get("SHINE_VAR_DIR") or Path.cwd() / "var").resolve()


def secret(environ: Mapping[str, str] | None = None, *, folder: Path | None = None,
           create: bool = False) -> str | None:
    """The blinding secret (None when there is none). ``folder``: the var folder (default :func:`var_dir`);
    ``create``: make the demo's key file when it is missing (the platform's first start outside production)."""
    env = os.environ if environ is None else environ
    value = env.get(ENV, "")
    if value or env.get("SHINE_ENV", "") == "production":
        return value or None
    path = (folder or var_dir(env)) / DEMO_FILE
    if not path.exists():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(MIN_LENGTH))
        path.chmod(0o600)
    return path.read_text().strip()
