"""Audited writes per second (write + audit event + hash chain) against plain single-row inserts.

The plain insert is the same row through the same ORM call in its own transaction, without the audit.

Same data, same database, same process; 1 and 8 concurrent writers; on SQLite and, when available,
PostgreSQL. Goal: on PostgreSQL with 8 writers the audited write keeps at least 1/3 of the plain rate.

    .venv/bin/python bench/audit_write.py [--writes 400] [--postgres-url postgres://…]

Without --postgres-url it starts the throw-away cluster of .ci/postgres.sh when PostgreSQL is installed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3


def run_one(database_url: str, writes: int) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SHINE_VAR_DIR", tempfile.mkdtemp(prefix="shine-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "shine.web.settings"
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections, transaction

    from shine.trial.accounts.models import Site
    from shine.trial.audit import services as audit

    call_command("migrate", verbosity=0)
    vendor = connection.vendor
    actor = audit.Actor(username="bench", role="system")

    def plain(tag, i):
        # the same row through the same ORM in its own transaction, with no audit event
        with transaction.atomic(), audit.audited_writes():
            Site.objects.create(code=f"{tag}{i}", name=f"site {tag}{i}")

    def audited(tag, i):
        audit.create(Site, actor=actor, code=f"{tag}{i}", name=f"site {tag}{i}")

    def rate(fn, writers, tag):
        per = writes // writers
        barrier = threading.Barrier(writers + 1)
        errors = []

        def work(w):
            barrier.wait()
            try:
                for i in range(per):
                    fn(f"{tag}{writers}{w}x", i)
            except Exception as exc:
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        if errors:
            raise errors[0]
        return per * writers / elapsed

    print(f"{vendor}: {writes} writes per measurement")
    for writers in (1, 8):
        # alternate the two, three rounds each, and take medians: the machine's disk is shared
        p_rates, a_rates = [], []
        for r in range(ROUNDS):
            p_rates.append(rate(plain, writers, f"p{r}"))
            a_rates.append(rate(audited, writers, f"a{r}"))
        p, a = statistics.median(p_rates), statistics.median(a_rates)
        print(f"  {writers} writer(s): plain insert {p:8.0f}/s   audited write {a:8.0f}/s   ratio {a / p:.2f}"
              f"   (medians of {ROUNDS} alternating rounds)")
    from shine.trial.audit.verify import verify
    result = verify()  # the plain rows have no history by design; the chain itself must be whole
    print(f"  chain after the run: {result.events} events, "
          f"{'unbroken' if result.first_broken_event is None else result.first_broken_event}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writes", type=int, default=400)
    ap.add_argument("--postgres-url")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        run_one(args.one, args.writes)
        return 0
    urls = [f"sqlite:///{tempfile.mkdtemp(prefix='shine-bench-')}/bench.sqlite3"]
    pg = args.postgres_url
    if not pg and any(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        # a durable cluster (fsync on), unlike the test cluster, so commits cost what they cost in production
        env = {**os.environ, "PGDIR": "/tmp/shine-bench-pg", "PGPORT": "55433", "PG_FSYNC": "on"}
        pg = subprocess.run(["bash", str(ROOT / ".ci/postgres.sh"), "start"], capture_output=True, text=True,
                            check=True, env=env).stdout.strip()
        pg = pg.rsplit("/", 1)[0] + "/shine_bench"
        subprocess.run(["bash", "-c",
                        f"psql '{pg.rsplit('/', 1)[0]}/postgres' -qc 'DROP DATABASE IF EXISTS shine_bench'"
                        f" && psql '{pg.rsplit('/', 1)[0]}/postgres' -qc 'CREATE DATABASE shine_bench'"], check=True)
    if pg:
        urls.append(pg)
    else:
        print("PostgreSQL not available: SQLite only")
    for url in urls:  # each database in a fresh process so Django is set up once per database
        subprocess.run([sys.executable, __file__, "--one", url, "--writes", str(args.writes)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
