"""Crash drill: clients write through the JSON API while gunicorn workers are SIGKILLed every few seconds and
one PostgreSQL backend is terminated; afterwards nothing a client was told is saved may be missing.

    .venv/bin/python bench/crash_drill.py [--seconds 60] [--clients 4] [--workers 3] [--threads 4] [--kill-every 3]

Starts its own throw-away cluster with .ci/postgres.sh (PGDIR=/tmp/shine-crash-pg, PGPORT=55470, fsync on) and
refuses to run (exit status 2) unless `SHOW fsync`, `synchronous_commit` and `full_page_writes` all say on. Then
`shine migrate`, `shine demo` (no simulated participants, no interim), a nurse with an API token per client
(`shine users create … --token`), `shine serve` (gunicorn). Each client thread mixes the nurse's writes: daily
records of its own participants (randomised 62 days ago), screen → enrol → randomise a new participant (a retry
after a broken connection reuses the request id, as a client must), and serious adverse events, which mail
pharmacovigilance after the commit (file-based mail into the drill's folder). Every write answered 2xx is logged
with the ids it returned. Afterwards, in a fresh process: every acknowledged write is in the database with those
ids (lost must be 0); no randomisation number, slot or pack is used twice and each acknowledged randomisation
kept its number and pack; every row written has its audit event and every case its first version; `shine audit
verify` passes; every mail names a committed case version.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from drill_cluster import fresh_cluster, remove_cluster

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")
PER_CLIENT = 4  # participants each client enters daily records for (60 days each)

DAY = {"pao2": 11.5, "pao2_unit": "kPa", "fio2": 45, "fio2_unit": "percent", "respiratory_support": True,
       "platelets": 95, "bilirubin": 1.8, "bilirubin_unit": "mg/dL", "map_mmhg": 66, "norepinephrine": 0.12,
       "gcs": None, "creatinine": 2.1, "creatinine_unit": "mg/dL", "urine_output": 800,
       "mechanical_ventilation": True, "rrt": False}
ELIGIBLE = dict(age=69, sex="M", in_icu=True, infection=True, vasopressor=True, lactate_mmol_l=4.1, stm_ng_ml=14.0,
                withdrawal_from_active_therapy=False, hypersensitivity=False, life_threatening_bleeding=False,
                severe_heart_failure=False, acute_coronary_syndrome=False, previously_included=False,
                consent_unobtainable=False, other_prostacyclin_trial=False)


def randomised_with_baseline(nurse, *, randomised_at: dt.datetime, request_id: str):
    """An eligible HGH patient screened, enrolled and randomised at ``randomised_at``, with a baseline."""
    from shine.trial.allocation import services as allocation
    from shine.trial.enrollment import services as enrolment
    from shine.trial.records import services

    R = randomised_at
    screened = R - dt.timedelta(hours=1)
    s, _ = enrolment.screen(user=nurse, site_code="HGH", screened_at=screened, pregnant=False,
                            shock_diagnosed_at=screened - dt.timedelta(hours=3), **ELIGIBLE)
    p = enrolment.enrol(s, user=nurse, consenter_name="Dr A", second_consenter_name="Dr B",
                        occurred_at=screened + dt.timedelta(minutes=10), form_version="1")
    allocation.randomise(p, user=nurse, weight_kg=75, weight_estimated=False, request_id=request_id,
                         clock=lambda: R)
    p.refresh_from_db()
    services.save_baseline(user=nurse, participant=p, values={
        "age": 70, "sex": "M", "weight_kg": 75.0, "weight_estimated": False, "site_of_infection": "pulmonary",
        "icu_admitted_at": R - dt.timedelta(hours=4), "pao2": 150, "pao2_unit": "mmHg", "fio2": 0.5,
        "platelets": 150, "bilirubin": 25, "map_mmhg": 60, "norepinephrine": 0.2, "gcs": 12, "creatinine": 180,
        "urine_output": 800})
    return p


def setup(clients: int) -> None:
    """In a child process: packs at every site and PER_CLIENT HGH participants per client randomised 62 days ago with
    a baseline; prints the site codes and the participants' numbers as JSON."""
    import django
    django.setup()
    from django.utils import timezone

    from shine.demo.randomisation import setup_randomisation
    from shine.trial.accounts.models import Site, User

    nurse, pharmacist = User.objects.get(username="nurse"), User.objects.get(username="pharmacist")
    # the demo's list has 60 numbers per site: the clients randomise at every site so as not to run out
    setup_randomisation(pharmacist=pharmacist, packs_per_arm_per_site=30)
    numbers = []
    for i in range(clients * PER_CLIENT):
        p = randomised_with_baseline(nurse, randomised_at=timezone.now() - dt.timedelta(days=62),
                                     request_id=f"drill-{i}")
        numbers.append(p.number)
    print(json.dumps({"sites": list(Site.objects.order_by("code").values_list("code", flat=True)),
                      "participants": numbers}))


def check(acks_path: str, mail_dir: str) -> None:
    """In a fresh child process after the server is gone: compare the acknowledged writes with the database."""
    import django
    django.setup()
    from django.db.models import Count

    from shine.trial.allocation.models import Allocation, PackEvent
    from shine.trial.audit.models import AuditEvent
    from shine.trial.audit.services import object_type
    from shine.trial.enrollment.models import Participant, Screening
    from shine.trial.records.models import DailyRecord
    from shine.trial.safety.models import Case, CaseVersion

    acks = json.loads(Path(acks_path).read_text())
    lost = []
    for a in acks:
        kind = a["kind"]
        if kind == "daily":
            ok = DailyRecord.objects.filter(participant__number=a["participant"], study_day=a["day"]).exists()
        elif kind == "screening":
            ok = Screening.objects.filter(pk=a["id"]).exists()
        elif kind == "participant":
            ok = Participant.objects.filter(number=a["participant"]).exists()
        elif kind == "randomised":
            ok = Allocation.objects.filter(participant__number=a["participant"], pack__number=a["pack"],
                                           randomisation_number=a["number"]).exists()
        elif kind == "sae":
            ok = CaseVersion.objects.filter(case__number=a["case"], version=1).exists()
        else:
            raise ValueError(kind)
        if not ok:
            lost.append(a)
    dup = {f: Allocation.objects.values(f).annotate(n=Count("id")).filter(n__gt=1).count()
           for f in ("randomisation_number", "slot", "pack", "participant")}
    # a pack handed out twice would show as two assignment events of the same pack
    assigned = PackEvent.objects.filter(participant__isnull=False).values("pack").annotate(
        n=Count("participant", distinct=True)).filter(n__gt=1).count()
    retried = {}
    for a in acks:
        if a["kind"] == "randomised":
            retried.setdefault(a["participant"], set()).add((a["number"], a["pack"]))
    changed_on_retry = sum(len(v) > 1 for v in retried.values())
    half = {}
    for model in (Screening, Participant, Allocation, DailyRecord, Case, CaseVersion):
        have = set(AuditEvent.objects.filter(object_type=object_type(model), action="create")
                   .values_list("object_id", flat=True))
        half[model.__name__] = sum(str(pk) not in have for pk in model.objects.values_list("pk", flat=True))
    half["Case without version 1"] = Case.objects.exclude(versions__version=1).count()
    mails, bad_mail, mailed = 0, [], set()
    for f in sorted(Path(mail_dir).glob("*.log")) if Path(mail_dir).is_dir() else []:
        for m in re.finditer(r"Case: (\S+) version (\d+)", f.read_text(errors="replace")):
            mails += 1
            mailed.add((m[1], int(m[2])))
            if not CaseVersion.objects.filter(case__number=m[1], version=int(m[2]), serious=True).exists():
                bad_mail.append(m[0])
    serious = set(CaseVersion.objects.filter(serious=True).values_list("case__number", "version"))
    by_kind = {}
    for a in acks:
        by_kind[a["kind"]] = by_kind.get(a["kind"], 0) + 1
    print(json.dumps({"acknowledged": len(acks), "by_kind": by_kind, "lost": lost, "duplicates": dup,
                      "packs_assigned_twice": assigned, "changed_on_retry": changed_on_retry,
                      "without_audit_event": half, "mails": mails, "mails_without_commit": bad_mail,
                      "serious_versions": len(serious), "committed_without_mail": len(serious - mailed),
                      "rows": {"daily_records": DailyRecord.objects.count(), "allocations": Allocation.objects.count(),
                               "cases": Case.objects.count()}}))


class Client(threading.Thread):
    def __init__(self, k: int, base: str, token: str, participants: list[str], site: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.k, self.base, self.token, self.site, self.stop = k, base, token, site, stop
        self.own = participants
        self.randomised = [(p, dt.datetime.now(dt.UTC) - dt.timedelta(days=62)) for p in participants]
        self.day = 0
        self.acks: list[dict] = []
        self.sent = self.failed = self.refused = self.retries = 0
        self.rng = random.Random(k)

    def call(self, method: str, path: str, body: dict) -> tuple[int, dict] | None:
        """(status, body), or None when no answer came back (the worker died, the connection broke)."""
        self.sent += 1
        req = urllib.request.Request(self.base + path, method=method, data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            status = e.code
            try:
                payload = json.loads(e.read() or b"{}")
            except (ValueError, OSError):
                payload = {}
            if status >= 500:
                self.failed += 1
            else:
                self.refused += 1
                if self.refused <= 3:
                    print(f"  client {self.k}: HTTP {status} on {path}: {str(payload)[:200]}", file=sys.stderr)
            return status, payload
        except (OSError, http.client.HTTPException, ValueError):  # reset, cut short mid-body, garbled
            self.failed += 1
            return None

    def daily(self) -> None:
        if self.day >= 60 * len(self.own):
            return
        number, day = self.own[self.day // 60], self.day % 60 + 1
        self.day += 1
        got = self.call("POST", f"/api/v1/participants/{number}/daily-records", {**DAY, "study_day": day})
        if got and got[0] == 201:
            self.acks.append({"kind": "daily", "participant": number, "day": got[1]["study_day"]})

    def randomise(self) -> None:
        now = dt.datetime.now(dt.UTC)
        got = self.call("POST", "/api/v1/screenings", {
            **ELIGIBLE, "shock_diagnosed_at": (now - dt.timedelta(hours=3)).isoformat(), "site": self.site,
            "screened_at": (now - dt.timedelta(minutes=5)).isoformat()})
        if not got or got[0] != 201:
            return
        self.acks.append({"kind": "screening", "id": got[1]["id"]})
        got = self.call("POST", "/api/v1/participants", {
            "screening_id": got[1]["id"], "consenter_name": "Dr A", "second_consenter_name": "Dr B",
            "occurred_at": (now - dt.timedelta(minutes=1)).isoformat(), "form_version": "v1"})
        if not got or got[0] != 201:
            return
        number = got[1]["number"]
        self.acks.append({"kind": "participant", "participant": number})
        request_id = f"drill-{uuid.uuid4()}"
        for attempt in range(5):  # a broken connection leaves the client not knowing: retry, same request id
            got = self.call("POST", f"/api/v1/participants/{number}/randomise",
                            {"weight_kg": 70, "weight_estimated": False, "request_id": request_id})
            if got and got[0] == 200:
                self.acks.append({"kind": "randomised", "participant": number,
                                  "number": got[1]["randomisation_number"], "pack": got[1]["pack_number"]})
                self.randomised.append((number, dt.datetime.fromisoformat(got[1]["randomised_at"])))
                return
            if got and got[0] < 500:
                return
            self.retries += 1
            time.sleep(0.3)

    def sae(self) -> None:
        now = dt.datetime.now(dt.UTC)
        # the onset lies after the randomisation (a participant randomised this very second is left for later)
        number, randomised_at = self.rng.choice([p for p in self.randomised if p[1] < now - dt.timedelta(seconds=3)])
        onset = max(now - dt.timedelta(seconds=30), randomised_at + dt.timedelta(seconds=1))
        got = self.call("POST", "/api/v1/safety/cases", {
            "participant_id": number, "term": "bleeding", "onset_at": onset.isoformat(),
            "aware_at": (now - dt.timedelta(seconds=1)).isoformat(), "serious": True, "hospitalisation": True,
            "severity": "severe", "outcome": "recovering", "action": "stopped", "prespecified": "",
            "related": True})
        if got and got[0] == 201:
            self.acks.append({"kind": "sae", "case": got[1]["case_id"]})

    def run(self) -> None:
        while not self.stop.is_set():
            self.rng.choices([self.daily, self.randomise, self.sae], weights=[6, 2, 2])[0]()


def workers_of(master: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def shine(env: dict, *args: str) -> str:
    done = subprocess.run([PY, "-m", "shine.cli", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"shine {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60, help="how long the clients write under kills")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--kill-every", type=float, default=3, help="seconds between worker kills")
    ap.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--check", nargs=2, metavar=("ACKS", "MAIL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.setup:
        setup(args.clients)
        return 0
    if args.check:
        check(*args.check)
        return 0
    if args.seconds <= 0 or args.clients < 1 or args.workers < 2 or args.kill_every <= 0:
        ap.error("--seconds and --kill-every must be positive, --clients ≥ 1, --workers ≥ 2")

    # PG_FSYNC=off in the environment starts a cluster the drill must refuse (a check of the refusal itself)
    url, env_pg = fresh_cluster("/tmp/shine-crash-pg", "55470", fsync=os.environ.get("PG_FSYNC", "on"))
    var = tempfile.mkdtemp(prefix="shine-crash-")
    env = {**os.environ, "DATABASE_URL": url, "SHINE_VAR_DIR": var, "SHINE_DEMO_PARTICIPANTS": "0",
           "SHINE_DEMO_INTERIM": "0", "DJANGO_SETTINGS_MODULE": "shine.web.settings", "DB_CONN_MAX_AGE": "60",
           "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"}
    for k in ("SHINE_ENV", "SHINE_REQUIRE_POSTGRES"):
        env.pop(k, None)
    server = None
    try:
        import psycopg
        with psycopg.connect(url, autocommit=True) as db:
            shown = {s: db.execute(f"SHOW {s}").fetchone()[0] for s in SETTINGS}
        if any(v != "on" for v in shown.values()):
            print(f"crash_drill: refused: the cluster must be durable, but {shown}", file=sys.stderr)
            return 2
        shine(env, "migrate")
        shine(env, "demo")
        made = subprocess.run([PY, __file__, "--setup", "--clients", str(args.clients)], env=env, check=True,
                              stdout=subprocess.PIPE, text=True).stdout
        made = json.loads(made.strip().splitlines()[-1])
        people = made["participants"]
        sites = [made["sites"][k % len(made["sites"])] for k in range(args.clients)]
        tokens = [shine(env, "users", "create", f"drill-nurse-{k}", "--role", "nurse", "--site", "HGH",
                        "--site", sites[k], "--token").strip().splitlines()[-1].strip() for k in range(args.clients)]
        port = int(env_pg["PGPORT"]) - 55470 + 18470
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([PY, "-m", "shine.cli", "serve", "--port", str(port), "--workers", str(args.workers),
                                   "--threads", str(args.threads)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/version", timeout=5)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("shine serve did not start")
                time.sleep(0.3)

        stop = threading.Event()
        clients = [Client(k, base, tokens[k], people[k * PER_CLIENT:(k + 1) * PER_CLIENT], sites[k], stop)
                   for k in range(args.clients)]
        for c in clients:
            c.start()
        t0, kills, terminated, next_kill = time.monotonic(), 0, None, time.monotonic() + args.kill_every
        rng = random.Random()
        while (now := time.monotonic()) < t0 + args.seconds:
            if now >= next_kill:
                pids = workers_of(server.pid)
                if pids:
                    try:
                        os.kill(rng.choice(pids), signal.SIGKILL)
                        kills += 1
                    except ProcessLookupError:
                        pass
                next_kill = now + args.kill_every
            if terminated is None and now >= t0 + args.seconds / 2:
                with psycopg.connect(url, autocommit=True) as db:
                    row = db.execute("SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                                     "current_database() AND pid <> pg_backend_pid() AND backend_type = "
                                     "'client backend' ORDER BY random() LIMIT 1").fetchone()
                terminated = row[0] if row else None  # none connected this instant: try again shortly
            time.sleep(0.1)
        stop.set()
        for c in clients:
            c.join(timeout=90)
        elapsed = time.monotonic() - t0
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        server = None

        acks = [a for c in clients for a in c.acks]
        acks_path = Path(var) / "acknowledged.json"
        acks_path.write_text(json.dumps(acks))
        out = subprocess.run([PY, __file__, "--check", str(acks_path), str(Path(var) / "mail")], env=env,
                             check=True, stdout=subprocess.PIPE, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        verify = subprocess.run([PY, "-m", "shine.cli", "audit", "verify"], env=env, capture_output=True, text=True)
        verified = verify.returncode == 0
        sent = sum(c.sent for c in clients)
        print(f"crash_drill: {args.clients} clients for {elapsed:.0f} s against gunicorn {args.workers} workers × "
              f"{args.threads} threads, PostgreSQL {', '.join(f'{k}={v}' for k, v in shown.items())}, "
              f"{os.cpu_count()} CPUs")
        print(f"  workers SIGKILLed: {kills} (every {args.kill_every:g} s); PostgreSQL backend terminated: "
              f"{'pid ' + str(terminated) if terminated else 'none found'}")
        print(f"  requests sent: {sent}; no answer or 5xx: {sum(c.failed for c in clients)}; refused 4xx: "
              f"{sum(c.refused for c in clients)}; randomisation retries with the same request id: "
              f"{sum(c.retries for c in clients)}")
        print(f"  acknowledged writes: {r['acknowledged']} {r['by_kind']}")
        print(f"  acknowledged writes lost: {len(r['lost'])}" + (f" {r['lost'][:5]}" if r["lost"] else ""))
        print(f"  duplicates (randomisation number, slot, pack, participant): {r['duplicates']}; packs assigned "
              f"twice: {r['packs_assigned_twice']}; randomisations answered differently on retry: "
              f"{r['changed_on_retry']}")
        print(f"  rows without their audit event: {r['without_audit_event']}")
        print(f"  shine audit verify: {'passed' if verified else 'FAILED'}: {verify.stdout.strip()[-300:]}")
        print(f"  SAE mails: {r['mails']}, naming an uncommitted case version: {len(r['mails_without_commit'])}; "
              f"committed serious versions {r['serious_versions']}, of which without a mail (worker killed between "
              f"commit and send): {r['committed_without_mail']}")
        print(f"  rows now: {r['rows']}")
        bad = (r["lost"] or any(r["duplicates"].values()) or r["packs_assigned_twice"] or r["changed_on_retry"]
               or any(r["without_audit_event"].values()) or r["mails_without_commit"] or not verified)
        print(f"  result: {'FAILED' if bad else 'passed'}")
        return 1 if bad else 0
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        remove_cluster(env_pg)
        subprocess.run(["rm", "-rf", var], check=False)


if __name__ == "__main__":
    sys.exit(main())
