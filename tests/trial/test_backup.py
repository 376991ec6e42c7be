"""Backup and restore drill, as an operator runs them: on the embedded SQLite file and on PostgreSQL."""

import json
import os
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.support import require_postgres

SHINE = str(Path(sys.executable).with_name("shine"))


def shine(env, *args, ok=True):
    done = subprocess.run([SHINE, *args], env=env, capture_output=True, text=True, timeout=600)
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def trial_database(env):
    shine(env, "migrate")
    shine(env, "users", "create", "nurse1", "--role", "nurse", "--site", "HGH")
    shine(env, "users", "create", "monitor1", "--role", "monitor")


def test_sqlite_backup_restores_with_every_row_and_the_chain(tmp_path):
    env = {**os.environ, "SHINE_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}"}
    env.pop("SHINE_ENV", None)
    trial_database(env)
    out = shine(env, "backup", "create", "--out", str(tmp_path / "b" / "shine.sqlite3")).stdout
    assert "recovery point: audit seal #" in out
    drill = shine(env, "backup", "drill", str(tmp_path / "b" / "shine.sqlite3"),
                  "--into", f"sqlite:///{tmp_path / 'scratch.sqlite3'}").stdout
    assert "restore drill OK" in drill and "audit verify passes" in drill

    # a backup altered after the fact fails the drill, naming what differs
    with sqlite3.connect(tmp_path / "b" / "shine.sqlite3") as db:
        db.execute("DROP TRIGGER audit_auditevent_no_delete")
        db.execute("DELETE FROM audit_auditevent WHERE id = (SELECT max(id) FROM audit_auditevent)")
    failed = shine(env, "backup", "drill", str(tmp_path / "b" / "shine.sqlite3"),
                   "--into", f"sqlite:///{tmp_path / 'scratch2.sqlite3'}", ok=False)
    assert failed.returncode != 0 and "restore drill FAILED" in failed.stderr
    assert "table audit_auditevent:" in failed.stderr


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_backup_restores_into_a_scratch_database(tmp_path):
    require_postgres(connection)
    s = connection.settings_dict
    base = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}"
    live, scratch = f"shine_live_{secrets.token_hex(3)}", f"shine_scratch_{secrets.token_hex(3)}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        for name in (live, scratch):
            admin.execute(f"CREATE DATABASE {name}")
    try:
        env = {**os.environ, "SHINE_VAR_DIR": str(tmp_path / "var"), "DATABASE_URL": f"{base}/{live}"}
        env.pop("SHINE_ENV", None)
        trial_database(env)
        shine(env, "backup", "create", "--out", str(tmp_path / "shine.dump"))
        state = json.loads((tmp_path / "shine.dump.state.json").read_text())
        assert state["tables"]["accounts_site"] == 6 and state["audit_head"][0] > 6
        drill = shine(env, "backup", "drill", str(tmp_path / "shine.dump"), "--into", f"{base}/{scratch}").stdout
        assert "restore drill OK" in drill and f"recovery point audit seal #{state['audit_head'][0]}" in drill
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            for name in (live, scratch):
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
