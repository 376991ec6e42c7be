"""Daily-record saves through the HTTP API with 20 concurrent clients, against a bare authenticated endpoint
that inserts one row: the same `shine serve` (gunicorn) on PostgreSQL, the same run.

Each client is a nurse's program entering one participant's daily ICU records (POST
/api/v1/participants/{id}/daily-records, bearer token): scoped lookup, row lock, unit conversion, edit checks,
SOFA, audited insert with its hash-chained event. The baseline (POST /api/v1/bench/insert, registered only
when SHINE_BENCH=1) authenticates the same token and inserts one row in one transaction. Goal: ratio ≥ 0.4.

    .venv/bin/python bench/crf_save.py [--clients 20] [--saves 40] [--rounds 4] [--workers 4] [--threads 8]

Both endpoints run on the same server with the same settings, after a warm-up of both (on the 2-CPU machine
2×3, 2×4, 2×8 and 4×8 workers × threads gave the same ratio within the noise; 4×8 the most of both). The
saves are split into ``--rounds`` rounds, each a bare phase and a daily phase in alternating order (bare
first, then daily first, …), so that drift on a shared machine falls on both; the figures are the medians
over the rounds. PGDIR and PGPORT in the environment move the cluster.

Starts its own PostgreSQL cluster with .ci/postgres.sh (PGDIR=/tmp/shine-bench-crf-pg, PGPORT=55491, fsync on).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from drill_cluster import fresh_cluster, remove_cluster

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def setup(n: int, days_ago: int) -> None:
    """In a child process: n HGH participants randomised ``days_ago`` days ago with their baseline; print
    the nurse's API token and the participant numbers as JSON."""
    import datetime as dt

    import django
    django.setup()
    from django.db import connection
    from django.utils import timezone

    from shine.demo.randomisation import setup_randomisation
    from shine.trial.accounts.models import User
    from shine.trial.accounts.services import create_token
    from shine.trial.allocation import services as allocation
    from shine.trial.audit.services import Actor
    from shine.trial.enrollment import services as enrolment
    from shine.trial.records import services

    nurse, pharmacist = User.objects.get(username="nurse"), User.objects.get(username="pharmacist")
    setup_randomisation(pharmacist=pharmacist, packs_per_arm_per_site=n + 2)
    numbers = []
    for i in range(n):
        R = timezone.now() - dt.timedelta(days=days_ago)
        screened = R - dt.timedelta(hours=1)
        s, _ = enrolment.screen(user=nurse, site_code="HGH", screened_at=screened, age=70, sex="M", in_icu=True,
                                infection=True, vasopressor=True, lactate_mmol_l=4.0, stm_ng_ml=15.0,
                                shock_diagnosed_at=screened - dt.timedelta(hours=3), pregnant=False,
                                withdrawal_from_active_therapy=False, hypersensitivity=False,
                                life_threatening_bleeding=False, severe_heart_failure=False,
                                acute_coronary_syndrome=False, previously_included=False,
                                consent_unobtainable=False, other_prostacyclin_trial=False)
        p = enrolment.enrol(s, user=nurse, consenter_name="Dr A", second_consenter_name="Dr B",
                            occurred_at=screened + dt.timedelta(minutes=10), form_version="1")
        allocation.randomise(p, user=nurse, weight_kg=75, weight_estimated=False, request_id=f"bench-{i}",
                             clock=lambda: R)
        p.refresh_from_db()
        services.save_baseline(user=nurse, participant=p, values={
            "age": 70, "sex": "M", "weight_kg": 75.0, "weight_estimated": False, "site_of_infection": "pulmonary",
            "icu_admitted_at": R - dt.timedelta(hours=4), "pao2": 150, "pao2_unit": "mmHg", "fio2": 0.5,
            "platelets": 150, "bilirubin": 25, "map_mmhg": 60, "norepinephrine": 0.2, "gcs": 12, "creatinine": 180,
            "urine_output": 800})
        numbers.append(p.number)
    with connection.cursor() as c:
        c.execute("CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, at timestamptz NOT NULL "
                  "DEFAULT now(), username text NOT NULL, payload text NOT NULL)")
    token = create_token(nurse, actor=Actor.system("bench"), name="bench")
    print(json.dumps({"token": token, "participants": numbers}))


DAY = {"pao2": 11.5, "pao2_unit": "kPa", "fio2": 45, "fio2_unit": "percent", "respiratory_support": True,
       "platelets": 95, "bilirubin": 1.8, "bilirubin_unit": "mg/dL", "map_mmhg": 66, "norepinephrine": 0.12,
       "gcs": None, "creatinine": 2.1, "creatinine_unit": "mg/dL", "urine_output": 800,
       "mechanical_ventilation": True, "rrt": False}


def phase(port: int, token: str, requests_for, clients: int) -> tuple[float, list[float], int]:
    """Run every client's requests concurrently; (throughput per s, latencies in s, errors)."""
    barrier = threading.Barrier(clients + 1)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def work(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        barrier.wait()
        for path, body in requests_for(k):
            t0 = time.perf_counter()
            conn.request("POST", path, body=json.dumps(body), headers=headers)
            r = conn.getresponse()
            r.read()
            latencies[k].append(time.perf_counter() - t0)
            if r.status not in (200, 201):
                errors[k] += 1
                if errors[k] == 1:
                    print(f"  client {k}: HTTP {r.status} on {path}", file=sys.stderr)
        conn.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    flat = [x for lat in latencies for x in lat]
    return len(flat) / elapsed, flat, sum(errors)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--saves", type=int, default=40, help="daily records per client (≤ 60)")
    ap.add_argument("--rounds", type=int, default=4, help="alternating rounds the saves are split into")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.setup:
        setup(args.clients, 62)
        return 0
    if not 1 <= args.saves <= 60:
        ap.error("--saves must lie between 1 and 60")
    if not 1 <= args.rounds <= args.saves:
        ap.error("--rounds must lie between 1 and --saves")
    url, env_pg = fresh_cluster("/tmp/shine-bench-crf-pg", "55491")
    var = tempfile.mkdtemp(prefix="shine-bench-crf-")
    env = {**os.environ, "DATABASE_URL": url, "SHINE_VAR_DIR": var, "SHINE_BENCH": "1", "SHINE_DEMO_PARTICIPANTS": "0",
           "DJANGO_SETTINGS_MODULE": "shine.web.settings", "DB_CONN_MAX_AGE": "60"}
    server = None
    try:
        subprocess.run([PY, "-m", "shine.cli", "demo"], env=env, check=True, capture_output=True)
        out = subprocess.run([PY, __file__, "--setup", "--clients", str(args.clients)], env=env, check=True,
                             capture_output=True, text=True).stdout
        info = json.loads(out.strip().splitlines()[-1])
        port = 18000 + os.getpid() % 1000
        server = subprocess.Popen([PY, "-m", "shine.cli", "serve", "--port", str(port), "--workers", str(args.workers),
                                   "--threads", str(args.threads)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/version", timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.3)
        token, people = info["token"], info["participants"]
        bare = lambda k: [("/api/v1/bench/insert", {"client": k, "i": i}) for i in range(args.saves)]  # noqa: E731

        def daily(days):
            return lambda k: [(f"/api/v1/participants/{people[k]}/daily-records", {**DAY, "study_day": d})
                              for d in days]

        # warm-up of both endpoints in every worker and thread: connections, imports, first queries (the
        # daily records of days 61 and 62, which the measured saves never use)
        phase(port, token, lambda k: bare(k)[:3], args.clients)
        phase(port, token, daily([61, 62]), args.clients)

        cuts = [round(r * args.saves / args.rounds) for r in range(args.rounds + 1)]
        rounds = []  # (bare throughput, daily throughput)
        bare_lat, daily_lat, errors = [], [], 0
        for r in range(args.rounds):
            lo, hi = cuts[r], cuts[r + 1]
            run_bare = lambda: phase(port, token, lambda k: bare(k)[lo:hi], args.clients)  # noqa: E731
            run_daily = lambda: phase(port, token, daily(range(1 + lo, 1 + hi)), args.clients)  # noqa: E731
            if r % 2 == 0:
                b, d = run_bare(), run_daily()
            else:
                d, b = run_daily(), run_bare()
            rounds.append((b[0], d[0]))
            bare_lat += b[1]
            daily_lat += d[1]
            errors += b[2] + d[2]
        bare_tp = statistics.median(b for b, _ in rounds)
        daily_tp = statistics.median(d for _, d in rounds)
        ratio = statistics.median(d / b for b, d in rounds)
        print(f"crf_save: {args.clients} concurrent clients, gunicorn {args.workers} workers × {args.threads} threads, "
              f"PostgreSQL (fsync on), {os.cpu_count()} CPUs; {len(daily_lat)} daily-record saves, "
              f"{len(bare_lat)} bare inserts in {args.rounds} alternating rounds (medians over the rounds)")
        for label, tp, lat in (("bare insert  ", bare_tp, bare_lat), ("daily record ", daily_tp, daily_lat)):
            print(f"  {label}: {tp:7.1f} req/s   p50 {pct(lat, 50):6.1f} ms   p95 {pct(lat, 95):6.1f} ms")
        print(f"  ratio daily/bare throughput: {ratio:.2f} (goal ≥ 0.4; per round: "
              f"{', '.join(f'{d / b:.2f}' for b, d in rounds)}); errors: {errors}")
        return 0 if errors == 0 else 1
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        remove_cluster(env_pg)
        subprocess.run(["rm", "-rf", var], check=False)


if __name__ == "__main__":
    sys.exit(main())
