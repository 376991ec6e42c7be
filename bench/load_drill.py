"""Load drill: 20 simulated users doing the nurse's and the monitor's mixed tasks through the JSON API for a
bounded time, against `shine serve` (gunicorn) and PostgreSQL on loopback; p50/p95 per task and error rate.

    .venv/bin/python bench/load_drill.py [--seconds 60] [--nurses 14] [--monitors 6] [--think 0.25]
                                         [--workers 4] [--threads 8]

Each user is a thread with its own keep-alive connection (stdlib http.client) and its own API token, picking
its next task at random by weight, with ``--think`` seconds between tasks. Nurses (site HGH) look at the
worklist, a participant, the schedule and the daily records, save daily records, and make the bare
authenticated insert (POST /api/v1/bench/insert, registered only when SHINE_BENCH=1: token check, one row in
one transaction); monitors look at SDV progress, casebooks, per-participant SDV, the participant list and the
queries, and raise queries. The bare insert runs in the same mix as the daily-record save, so both are
measured under the same load at the same time; the ratio bare/daily of the medians says what fraction of the
baseline's speed the save keeps (issue goal ≥ 0.4).

Starts its own cluster with .ci/postgres.sh (PGDIR=/tmp/shine-load-pg, PGPORT=55472, fsync on).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
sys.path.insert(0, str(ROOT / "bench"))
from crash_drill import DAY, randomised_with_baseline  # noqa: E402  (the same patient and daily values)
from drill_cluster import fresh_cluster, remove_cluster  # noqa: E402

PER_NURSE = 2  # participants each nurse enters daily records for (60 days each)


def setup(nurses: int, monitors: int) -> None:
    """In a child process: the users with tokens, their participants randomised 62 days ago with a baseline
    and the first day's record, the baseline's table; prints tokens and participant numbers as JSON."""
    import django
    django.setup()
    from django.db import connection
    from django.utils import timezone

    from shine.demo.randomisation import setup_randomisation
    from shine.trial.accounts.models import User
    from shine.trial.accounts.services import create_token, create_user
    from shine.trial.audit.services import Actor
    from shine.trial.records import services

    actor = Actor.system("load-drill")
    pharmacist = User.objects.get(username="pharmacist")
    setup_randomisation(pharmacist=pharmacist, length_per_site=200, packs_per_arm_per_site=nurses * PER_NURSE + 2,
                        sites=("HGH",))
    out = {"nurses": [], "monitors": []}
    for k in range(nurses):
        nurse, _ = create_user(actor=actor, username=f"load-nurse-{k}", role="nurse", sites=["HGH"])
        numbers = []
        for i in range(PER_NURSE):
            p = randomised_with_baseline(nurse, randomised_at=timezone.now() - dt.timedelta(days=62),
                                         request_id=f"load-{k}-{i}")
            services.create_daily_record(user=nurse, participant=p, study_day=1, values=dict(DAY))
            numbers.append(p.number)
        out["nurses"].append({"token": create_token(nurse, actor=actor, name="load"), "participants": numbers})
    for k in range(monitors):
        monitor, _ = create_user(actor=actor, username=f"load-monitor-{k}", role="monitor", sites=["HGH"])
        out["monitors"].append({"token": create_token(monitor, actor=actor, name="load")})
    with connection.cursor() as c:
        c.execute("CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, at timestamptz NOT NULL "
                  "DEFAULT now(), username text NOT NULL, payload text NOT NULL)")
    print(json.dumps(out))


class User(threading.Thread):
    def __init__(self, name: str, port: int, token: str, tasks: list, stop: threading.Event, think: float,
                 seed: int):
        super().__init__(daemon=True)
        self.name_, self.port, self.token, self.tasks, self.stop, self.think = name, port, token, tasks, stop, think
        self.rng = random.Random(seed)
        self.samples: list[tuple[str, float, bool]] = []  # (task, seconds, ok)
        self.first_error: str | None = None
        self.conn: http.client.HTTPConnection | None = None
        self.last_used = 0.0

    def request(self, method: str, path: str, body: dict | None) -> tuple[int, bytes]:
        # gunicorn closes a keep-alive connection idle for 2 s (its --keep-alive default): a new one, as a pooling
        # client would open, rather than a request sent into a closing socket
        if self.conn is not None and time.monotonic() - self.last_used > 1.5:
            self.conn.close()
            self.conn = None
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body), "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
            payload = r.read()
            self.last_used = time.monotonic()
            return r.status, payload
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise

    def run(self) -> None:
        names = [t[0] for t in self.tasks]
        weights = [t[1] for t in self.tasks]
        while not self.stop.is_set():
            i = self.rng.choices(range(len(self.tasks)), weights=weights)[0]
            call = self.tasks[i][2](self)
            if call is None:
                continue
            t0 = time.perf_counter()
            try:
                status, payload = self.request(*call)
                ok = 200 <= status < 300
                what = f"HTTP {status}: {payload[:200]!r}"
            except (OSError, http.client.HTTPException) as e:
                ok, what = False, repr(e)
            self.samples.append((names[i], time.perf_counter() - t0, ok))
            if not ok and self.first_error is None:
                self.first_error = f"{self.name_} {names[i]} {call[1]}: {what}"
            if self.think:
                time.sleep(self.rng.uniform(0, 2 * self.think))


def nurse_tasks(participants: list[str]) -> list:
    state = {"i": 0, "day": 1}

    def p(u):
        return u.rng.choice(participants)

    def save(u):
        if state["day"] >= 60:
            state["i"], state["day"] = state["i"] + 1, 1
        if state["i"] >= len(participants):
            return None
        state["day"] += 1
        return ("POST", f"/api/v1/participants/{participants[state['i']]}/daily-records",
                {**DAY, "study_day": state["day"]})

    return [
        ("nurse: worklist", 2, lambda u: ("GET", "/api/v1/records/worklist", None)),
        ("nurse: participant", 2, lambda u: ("GET", f"/api/v1/participants/{p(u)}", None)),
        ("nurse: schedule", 1, lambda u: ("GET", f"/api/v1/participants/{p(u)}/schedule", None)),
        ("nurse: daily records", 1, lambda u: ("GET", f"/api/v1/participants/{p(u)}/daily-records", None)),
        ("nurse: daily-record save", 3, save),
        ("baseline: bare insert", 3, lambda u: ("POST", "/api/v1/bench/insert", {"user": u.name_})),
    ]


def monitor_tasks(participants: list[str]) -> list:
    def p(u):
        return u.rng.choice(participants)

    return [
        ("monitor: SDV progress", 1, lambda u: ("GET", "/api/v1/monitoring/sdv/progress", None)),
        ("monitor: casebook", 2, lambda u: ("GET", f"/api/v1/participants/{p(u)}/casebook", None)),
        ("monitor: participant SDV", 2, lambda u: ("GET", f"/api/v1/participants/{p(u)}/sdv", None)),
        ("monitor: participants", 1, lambda u: ("GET", "/api/v1/participants", None)),
        ("monitor: queries", 1, lambda u: ("GET", "/api/v1/monitoring/queries", None)),
        ("monitor: raise query", 1, lambda u: ("POST", "/api/v1/monitoring/queries", {
            "participant_id": p(u), "text": "Please confirm the lactate against the source."})),
    ]


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--nurses", type=int, default=14)
    ap.add_argument("--monitors", type=int, default=6)
    ap.add_argument("--think", type=float, default=0.25, help="mean seconds between a user's tasks")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.setup:
        setup(args.nurses, args.monitors)
        return 0
    if args.seconds <= 0 or args.nurses < 1 or args.monitors < 0 or args.think < 0:
        ap.error("--seconds must be positive, --nurses ≥ 1, --monitors and --think ≥ 0")

    url, env_pg = fresh_cluster("/tmp/shine-load-pg", "55472")
    var = tempfile.mkdtemp(prefix="shine-load-")
    env = {**os.environ, "DATABASE_URL": url, "SHINE_VAR_DIR": var, "SHINE_BENCH": "1", "SHINE_DEMO_PARTICIPANTS": "0",
           "SHINE_DEMO_INTERIM": "0", "DJANGO_SETTINGS_MODULE": "shine.web.settings", "DB_CONN_MAX_AGE": "60"}
    for k in ("SHINE_ENV", "SHINE_REQUIRE_POSTGRES"):
        env.pop(k, None)
    server = None
    try:
        for cmd in (["migrate"], ["demo"]):
            subprocess.run([PY, "-m", "shine.cli", *cmd], env=env, check=True, capture_output=True)
        info = json.loads(subprocess.run([PY, __file__, "--setup", "--nurses", str(args.nurses), "--monitors",
                                          str(args.monitors)], env=env, check=True, stdout=subprocess.PIPE,
                                         text=True).stdout.strip().splitlines()[-1])
        port = int(env_pg["PGPORT"]) - 55472 + 18472
        server = subprocess.Popen([PY, "-m", "shine.cli", "serve", "--port", str(port), "--workers", str(args.workers),
                                   "--threads", str(args.threads)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/version", timeout=5)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("shine serve did not start")
                time.sleep(0.3)
        everyone = [n for u in info["nurses"] for n in u["participants"]]
        stop = threading.Event()
        users = [User(f"nurse-{k}", port, u["token"], nurse_tasks(u["participants"]), stop, args.think, k)
                 for k, u in enumerate(info["nurses"])]
        users += [User(f"monitor-{k}", port, u["token"], monitor_tasks(everyone), stop, args.think, 1000 + k)
                  for k, u in enumerate(info["monitors"])]
        # warm-up: every task once per user, outside the figures (imports, connections, first queries)
        for u in users:
            for _, _, make in u.tasks:
                call = make(u)
                if call is not None:
                    try:
                        u.request(*call)
                    except (OSError, http.client.HTTPException):
                        pass
        t0 = time.monotonic()
        for u in users:
            u.start()
        time.sleep(args.seconds)
        stop.set()
        for u in users:
            u.join(timeout=90)
        elapsed = time.monotonic() - t0

        by_task: dict[str, list[float]] = {}
        errors: dict[str, int] = {}
        for u in users:
            for task, seconds, ok in u.samples:
                by_task.setdefault(task, []).append(seconds)
                errors[task] = errors.get(task, 0) + (not ok)
        total = sum(len(v) for v in by_task.values())
        print(f"load_drill: {args.nurses} nurses + {args.monitors} monitors for {elapsed:.0f} s (think "
              f"{args.think:g} s mean), gunicorn {args.workers} workers × {args.threads} threads, PostgreSQL "
              f"(fsync on) on loopback, {os.cpu_count()} CPUs; {total} requests, {total / elapsed:.1f} req/s, "
              f"errors {sum(errors.values())} ({100 * sum(errors.values()) / max(total, 1):.2f} %)")
        for task in sorted(by_task):
            lat = by_task[task]
            print(f"  {task:26s} n {len(lat):5d}   p50 {pct(lat, 50):7.1f} ms   p95 {pct(lat, 95):7.1f} ms   "
                  f"errors {errors[task]}")
        daily, bare = by_task.get("nurse: daily-record save", []), by_task.get("baseline: bare insert", [])
        if daily and bare:
            print(f"  daily-record save vs bare authenticated insert (bare/daily, 1.0 = as fast): "
                  f"p50 {pct(bare, 50) / pct(daily, 50):.2f}, p95 {pct(bare, 95) / pct(daily, 95):.2f} (goal ≥ 0.4)")
        for u in users:
            if u.first_error:
                print(f"  first error of {u.first_error}", file=sys.stderr)
        return 0 if sum(errors.values()) == 0 else 1
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        remove_cluster(env_pg)
        subprocess.run(["rm", "-rf", var], check=False)


if __name__ == "__main__":
    sys.exit(main())
