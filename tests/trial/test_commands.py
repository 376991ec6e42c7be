"""The shine command as an operator uses it: clear errors, no traceback, nothing written on bad input."""

import os
import subprocess
import sys

import pytest

from shine.trial.accounts.models import User
from shine.trial.audit.models import AuditEvent


def shine(*args, env_extra=None, tmp_path=None):
    env = {**os.environ, "SHINE_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
           **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "shine.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    result = shine("demo", tmp_path=tmp)
    assert result.returncode == 0, result.stderr
    return tmp, result.stdout


def test_demo_prints_one_user_per_role_with_passwords(demo_db):
    _, out = demo_db
    for role in ("investigator", "nurse", "pharmacist", "trial_manager", "data_manager", "monitor", "statistician",
                 "dsmb_statistician", "auditor", "admin"):
        assert f" {role} " in out
    assert "septic-shock-demo" in out
    # one demo nurse reads Danish whatever her browser says (the others follow the browser)
    assert [line.split()[0] for line in out.splitlines() if line.rstrip().endswith("Dansk")] == ["nurse_rh"]


def test_users_create_prints_a_token_last(demo_db):
    tmp, _ = demo_db
    result = shine("users", "create", "ana", "--role", "nurse", "--site", "HGH", "--token", tmp_path=tmp)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("shine_")
    verify = shine("audit", "verify", tmp_path=tmp)
    assert verify.returncode == 0 and "OK" in verify.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "surgeon"], "unknown role 'surgeon'"),
    (["--role", "nurse", "--site", "XYZ"], "unknown site code XYZ"),
    (["--role", "nurse"], "give at least one --site"),
    (["--role", "nurse", "--site", "RH", "--password", "short"], "password"),
])
def test_bad_user_arguments_are_refused_without_traceback(demo_db, args, message):
    tmp, _ = demo_db
    result = shine("users", "create", "bob", *args, tmp_path=tmp)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    listed = shine("shell", "-c", "from shine.trial.accounts.models import User;"
                   "print(User.objects.filter(username='bob').count())", tmp_path=tmp)
    assert listed.stdout.strip().splitlines()[-1] == "0"


def test_audit_verify_fails_with_exit_1_naming_the_record(demo_db):
    tmp, _ = demo_db
    import sqlite3
    con = sqlite3.connect(tmp / "db.sqlite3")
    con.execute("UPDATE accounts_site SET name = 'Tampered' WHERE code = 'RH'")
    con.commit()
    site_id = con.execute("SELECT id FROM accounts_site WHERE code='RH'").fetchone()[0]
    con.close()
    result = shine("audit", "verify", tmp_path=tmp)
    assert result.returncode == 1
    assert f"accounts.site {site_id}: name='Tampered'" in result.stderr


def test_serve_refuses_a_bad_port(tmp_path):
    result = shine("serve", "--port", "70000", tmp_path=tmp_path)
    assert result.returncode != 0 and "--port" in result.stderr and "Traceback" not in result.stderr


def test_cli_users_create_writes_nothing_when_refused(users):
    from django.core.management import call_command
    from django.core.management.base import CommandError
    before = AuditEvent.objects.count(), User.objects.count()
    with pytest.raises(CommandError, match="unknown site code"):
        call_command("users", "create", "carl", "--role", "nurse", "--site", "HGH", "--site", "NOPE")
    assert (AuditEvent.objects.count(), User.objects.count()) == before


def test_role_and_site_changes_are_audited_with_their_reason(users):
    import io
    import json

    from django.core.management import call_command
    call_command("users", "set-role", "nurse_hgh", "investigator", "--reason", "appointed sub-investigator",
                 stdout=io.StringIO())
    ev = AuditEvent.objects.order_by("-id").first()
    assert json.loads(ev.changes) == {"role": ["nurse", "investigator"]}
    assert ev.reason == "appointed sub-investigator"
    call_command("users", "set-sites", "nurse_hgh", "--site", "RH", "--reason", "moved to Rigshospitalet",
                 stdout=io.StringIO())
    site_events = AuditEvent.objects.filter(object_type="accounts.membership").order_by("-id")[:2]
    assert {e.action for e in site_events} == {"create", "delete"}
    assert all(e.reason == "moved to Rigshospitalet" for e in site_events)
    assert list(User.objects.get(username="nurse_hgh").memberships.values_list("site__code", flat=True)) == ["RH"]


def test_deactivated_user_cannot_log_in(users, client):
    import io

    from django.core.management import call_command
    call_command("users", "deactivate", "nurse_rh", "--reason", "left the trial", stdout=io.StringIO())
    from .conftest import PASSWORD
    response = client.post("/login/", {"username": "nurse_rh", "password": PASSWORD})
    assert response.status_code == 400


@pytest.mark.parametrize("args", [
    ["set-role", "nobody", "nurse", "--reason", "x"],
    ["set-role", "nurse_hgh", "surgeon", "--reason", "x"],
    ["set-role", "nurse_hgh", "investigator", "--reason", " "],
    ["set-sites", "nurse_hgh", "--reason", "x"],
    ["set-sites", "nurse_hgh", "--site", "XX", "--reason", "x"],
])
def test_bad_user_changes_are_refused_and_nothing_is_written(users, args):
    from django.core.management import call_command
    from django.core.management.base import CommandError
    before = AuditEvent.objects.count()
    with pytest.raises(CommandError):
        call_command("users", *args)
    assert AuditEvent.objects.count() == before
