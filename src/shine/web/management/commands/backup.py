"""shine backup create | drill | state: a backup of the trial database, and a drill that proves it restores.

    shine backup create --out shine.dump                  # pg_dump custom format; SQLite: online backup
    shine backup drill shine.dump --into postgres://…/scratch
        restores into an empty scratch database (pg_restore --single-transaction --exit-on-error), then
        checks there that `shine audit verify` passes and that every table's row count and the audit chain's
        head equal the backup's; prints the recovery point (chain head) and the time the restore took.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import dj_database_url
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from shine.trial.audit.models import AuditSeal
from shine.trial.audit.services import seal_pending


def database_state() -> dict:
    """Row counts of every table of the configured database and the audit chain's head."""
    seal_pending()
    tables = sorted(connection.introspection.table_names())
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    head = AuditSeal.objects.order_by("-seq").values_list("seq", "hash").first()
    return {"tables": counts, "audit_head": list(head) if head else None}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _postgres_url(settings_dict: dict) -> str:
    s = settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


def _run(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise CommandError(_("%(program)s failed: %(output)s") % {"program": Path(args[0]).name, "output": output})
    return done


class Command(BaseCommand):
    help = "Back up the trial database, and drill its restore into a scratch database."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        c = sub.add_parser("create", help="write a backup of the configured database")
        c.add_argument("--out", type=Path, required=True)
        d = sub.add_parser("drill", help="restore a backup into an empty scratch database and check it")
        d.add_argument("backup", type=Path)
        d.add_argument("--into", required=True, help="DATABASE_URL of the scratch database (must be empty)")
        sub.add_parser("state", help="print row counts and the audit chain's head as JSON (used by the drill)")

    def handle(self, *args, action, **opts):
        if action == "state":
            self.stdout.write(json.dumps(database_state(), sort_keys=True))
        elif action == "create":
            self._create(opts["out"])
        else:
            self._drill(opts["backup"], opts["into"])

    def _create(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        seal_pending()
        state = database_state()
        if connection.vendor == "postgresql":
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={out}", _postgres_url(connection.settings_dict)])
        elif connection.vendor == "sqlite":
            with sqlite3.connect(connection.settings_dict["NAME"]) as source, sqlite3.connect(out) as target:
                source.backup(target)  # consistent while the app keeps writing
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        else:
            raise CommandError(_("no backup for database %(vendor)s") % {"vendor": connection.vendor})
        # the state beside the backup: what the drill must find after restoring it
        Path(f"{out}.state.json").write_text(json.dumps(state, sort_keys=True))
        head = state["audit_head"]
        self.stdout.write(f"backup {out}: {out.stat().st_size} bytes, sha256 {_sha256(out)}; recovery point: "
                          f"audit seal #{head[0] if head else 0}")

    def _drill(self, backup: Path, into: str) -> None:
        if not backup.exists():
            raise CommandError(_("no backup at %(path)s") % {"path": backup})
        expected_file = Path(f"{backup}.state.json")
        if not expected_file.exists():
            raise CommandError(_("%(path)s is missing: make backups with `shine backup create`")
                               % {"path": expected_file})
        expected = json.loads(expected_file.read_text())
        target = dj_database_url.parse(into)
        started = time.monotonic()
        if target["ENGINE"].endswith("postgresql"):
            _run(["pg_restore", "--single-transaction", "--exit-on-error", "--no-owner", f"--dbname={into}",
                  str(backup)])
        elif target["ENGINE"].endswith("sqlite3"):
            path = Path(target["NAME"])
            if path.exists() and path.stat().st_size:
                raise CommandError(_("the scratch database %(path)s is not empty") % {"path": path})
            with sqlite3.connect(backup) as source, sqlite3.connect(path) as restored:
                source.backup(restored)
        else:
            raise CommandError(_("no restore for %(engine)s") % {"engine": target["ENGINE"]})
        restore_seconds = time.monotonic() - started
        env = {**os.environ, "DATABASE_URL": into}
        shine = [sys.executable, "-m", "shine.cli"]
        verify = subprocess.run([*shine, "audit", "verify"], capture_output=True, text=True, env=env)
        state = json.loads(_run([*shine, "backup", "state"], env=env).stdout.strip().splitlines()[-1])
        problems = [] if verify.returncode == 0 else [_("audit verify failed: %(output)s")
                                                      % {"output": verify.stderr.strip()[-1000:]}]
        for table in sorted(set(expected["tables"]) | set(state["tables"])):
            want, got = expected["tables"].get(table), state["tables"].get(table)
            if want != got:
                problems.append(_("table %(table)s: %(got)s rows restored, %(want)s backed up")
                                % {"table": table, "got": got, "want": want})
        if state["audit_head"] != expected["audit_head"]:
            problems.append(_("audit chain head %(got)s restored, %(want)s backed up")
                            % {"got": state["audit_head"], "want": expected["audit_head"]})
        if problems:
            raise CommandError(_("restore drill FAILED:\n  %(problems)s") % {"problems": "\n  ".join(problems)})
        head = expected["audit_head"]
        self.stdout.write(f"restore drill OK: {len(state['tables'])} tables, {sum(state['tables'].values())} rows "
                          f"equal; audit verify passes; recovery point audit seal #{head[0] if head else 0}; "
                          f"restored in {restore_seconds:.1f} s")
