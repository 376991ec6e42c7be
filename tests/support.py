"""Shared test helpers.

Tests that need a component which may be missing here (R, PostgreSQL, Chromium) call :func:`need`: on a
developer's machine they skip with a clear reason; in CI (``CI=true``) a missing component fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

# the sites of the test personas with randomisation (tests/trial/conftest.py): lists and packs at these two only
# keep the fixtures that set up a trial cheap (each slot and pack is an audited write)
TEST_SITES = ("HGH", "RH")

IN_CI = os.environ.get("CI", "").lower() == "true"


def need(available: bool, what: str) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but missing")
    pytest.skip(f"{what} is not available here")


def rscript(code: str, *, timeout: float = 600) -> str:
    """Run R code with Rscript and return its standard output (skips or fails when R is absent)."""
    exe = shutil.which("Rscript")
    need(exe is not None, "R (Rscript, Debian r-base-core with r-cran-rpact)")
    proc = subprocess.run([exe, "--vanilla", "-e", code], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"Rscript failed:\n{proc.stderr}")
    return proc.stdout


def require_postgres(connection) -> None:
    """Skip unless the test database is PostgreSQL; with SHINE_REQUIRE_POSTGRES=1 (CI's PostgreSQL pass), fail."""
    if connection.vendor == "postgresql":
        return
    if os.environ.get("SHINE_REQUIRE_POSTGRES") == "1":
        pytest.fail("this test needs PostgreSQL (DATABASE_URL) and SHINE_REQUIRE_POSTGRES=1 is set")
    pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… (CI does)")


def _arm_words() -> frozenset[str]:
    from shine import protocol

    p = protocol.load()
    return frozenset({"iloprost", "placebo", *(a.lower() for a in p.arms), p.intervention.drug.lower()})


# what no page, file or response a blinded role receives may contain: the arms' names and the drug's
ARM_WORDS = _arm_words()
ARM_WORDS_RE = re.compile("|".join(sorted(ARM_WORDS)).encode(), re.IGNORECASE)  # the same, on bytes
