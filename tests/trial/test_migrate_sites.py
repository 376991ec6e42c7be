"""`shine migrate` on a fresh database brings the protocol's sites, so a site user can be created at once."""

import os
import subprocess
import sys
from pathlib import Path

SHINE = str(Path(sys.executable).with_name("shine"))


def test_plain_migrate_then_a_site_user(tmp_path):
    env = {**os.environ, "SHINE_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}
    env.pop("SHINE_ENV", None)

    def shine(*args):
        done = subprocess.run([SHINE, *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "Protocol sites: RH, BBH, HGH, NOH, HVH, SUH" in shine("migrate")
    assert "Protocol sites" in shine("migrate")  # idempotent: nothing new, nothing duplicated
    shine("users", "create", "nurse1", "--role", "nurse", "--site", "HGH")
    assert "nurse1" in shine("users", "list")
    assert "OK" in shine("audit", "verify")
