"""The throw-away PostgreSQL cluster of the drills and benchmarks that need one of their own (.ci/postgres.sh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_SH = str(ROOT / ".ci/postgres.sh")


def fresh_cluster(pgdir: str, port: str, fsync: str = "on") -> tuple[str, dict]:
    """A new, empty cluster (PGDIR and PGPORT from the environment win over the defaults given): its
    DATABASE_URL and the environment that stops it again (:func:`remove_cluster`)."""
    env_pg = {**os.environ, "PGDIR": os.environ.get("PGDIR", pgdir), "PGPORT": os.environ.get("PGPORT", port),
              "PG_FSYNC": fsync}
    remove_cluster(env_pg)
    url = subprocess.run(["bash", POSTGRES_SH, "start"], env=env_pg, check=True, capture_output=True,
                         text=True).stdout.strip().splitlines()[-1]
    return url, env_pg


def remove_cluster(env_pg: dict) -> None:
    subprocess.run(["bash", POSTGRES_SH, "stop"], env=env_pg, check=False)
    subprocess.run(["rm", "-rf", env_pg["PGDIR"]], check=False)
