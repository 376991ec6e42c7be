"""The audit trail: append-only in the database, hash-chained, replayable, safe under concurrent writers."""

import json
import threading

import pytest
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, connections, transaction

from shine.trial.accounts.models import Site, User
from shine.trial.audit import services as audit
from shine.trial.audit.models import AuditEvent, AuditSeal, UnauditedWrite
from shine.trial.audit.verify import verify
from tests.support import require_postgres

from .conftest import SYSTEM


def run_verify() -> tuple[int, str]:
    """`shine audit verify` as a user runs it: exit status and everything it printed."""
    import io
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue() + err.getvalue()


def test_every_write_is_an_event_and_the_trail_verifies(users):
    code, text = run_verify()
    assert code == 0, text
    assert "OK" in text
    first = AuditSeal.objects.order_by("seq").first()
    assert first.seq == 1 and first.prev_hash == "0" * 64
    assert AuditSeal.objects.count() == AuditEvent.objects.count()
    creates = AuditEvent.objects.filter(action="create", object_type="accounts.user")
    assert creates.count() == len(users)
    changes = json.loads(creates.first().changes)
    assert "password" not in changes and changes["role"][0] is None


def test_event_records_actor_role_time_values_and_reason(users):
    nurse = users["nurse_hgh"]
    actor = audit.Actor.of(users["admin"], request_id="req-12345678")
    audit.update(nurse, actor=actor, reason="promoted", role="investigator")
    ev = AuditEvent.objects.order_by("-id").first()
    assert (ev.actor, ev.role, ev.action, ev.object_type, ev.object_id) == (
        "admin", "admin", "update", "accounts.user", str(nurse.pk))
    assert json.loads(ev.changes) == {"role": ["nurse", "investigator"]}
    assert ev.reason == "promoted" and ev.request_id == "req-12345678" and ev.app_version
    assert ev.at.tzinfo is not None


def test_a_change_needs_a_reason_and_nothing_is_written_without_one(users):
    nurse = users["nurse_hgh"]
    before = AuditEvent.objects.count()
    with pytest.raises(audit.ReasonRequired, match="reason"):
        audit.update(nurse, actor=SYSTEM, reason="  ", role="investigator")
    nurse.refresh_from_db()
    assert nurse.role == "nurse" and AuditEvent.objects.count() == before


def test_an_unchanged_value_writes_no_event(users):
    before = AuditEvent.objects.count()
    audit.update(users["nurse_hgh"], actor=SYSTEM, reason="", role="nurse")
    assert AuditEvent.objects.count() == before


def test_writes_outside_the_audit_services_are_refused(users, sites):
    site = sites["RH"]
    site.name = "changed"
    with pytest.raises(UnauditedWrite):
        site.save()
    with pytest.raises(UnauditedWrite):
        Site.objects.filter(code="RH").update(name="changed")
    with pytest.raises(UnauditedWrite):
        Site.objects.filter(code="RH").delete()
    with pytest.raises(UnauditedWrite):
        Site.objects.bulk_create([Site(code="XX", name="x")])


@pytest.mark.parametrize("sql", ["UPDATE audit_auditevent SET reason = 'x'", "DELETE FROM audit_auditevent",
                                 "UPDATE audit_auditseal SET hash = 'x'", "DELETE FROM audit_auditseal"])
def test_database_refuses_update_and_delete_of_audit_events(users, sql):
    verify()  # seals the events
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


def drop_append_only_triggers():
    with connection.cursor() as cursor:
        for table in ("audit_auditevent", "audit_auditseal"):
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER {table}_no_update ON {table}")
            else:
                cursor.execute(f"DROP TRIGGER {table}_no_update")
                cursor.execute(f"DROP TRIGGER {table}_no_delete")


def test_a_data_row_changed_in_sql_is_named_by_verify(users):
    nurse = users["nurse_hgh"]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET role = 'admin' WHERE id = %s", [nurse.pk])
    code, text = run_verify()
    assert code == 1
    assert f"accounts.user {nurse.pk}: role='admin' but history says 'nurse'" in text
    assert "BROKEN CHAIN" not in text


def test_a_row_inserted_in_sql_without_history_is_named(users, sites):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO accounts_site (code, name) VALUES ('ZZ', 'Unknown')")
    code, text = run_verify()
    assert code == 1 and "accounts.site" in text and "no create event" in text


def test_an_altered_audit_event_is_named_by_verify(users):
    verify()
    target = AuditSeal.objects.order_by("seq")[3]
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'rewritten' WHERE id = %s", [target.event_id])
    code, text = run_verify()
    assert code == 1
    assert (f"BROKEN CHAIN: seal #{target.seq} (event {target.event_id}): event content does not match its hash"
            in text)


def test_an_event_rehashed_after_tampering_is_still_caught_by_its_seal(users):
    verify()
    target = AuditSeal.objects.order_by("seq")[2]
    ev = AuditEvent.objects.get(pk=target.event_id)
    ev.reason = "rewritten"
    forged = audit.content_hash_of(ev)
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'rewritten', content_hash = %s WHERE id = %s",
                       [forged, ev.pk])
    code, text = run_verify()
    assert code == 1 and f"seal #{target.seq} (event {ev.pk}): seal hash does not match" in text


def test_a_deleted_seal_breaks_the_chain(users):
    verify()
    target = AuditSeal.objects.order_by("seq")[5]
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditseal WHERE id = %s", [target.pk])
    code, text = run_verify()
    assert code == 1 and f"expected seal #{target.seq}" in text and "missing" in text


def test_replay_follows_updates_and_deletes(users, sites):
    site = audit.create(Site, actor=SYSTEM, code="T1", name="Test")
    audit.update(site, actor=SYSTEM, reason="rename", name="Test 2")
    other = audit.create(Site, actor=SYSTEM, code="T2", name="Gone")
    audit.delete(other, actor=SYSTEM, reason="created by mistake")
    result = verify()
    assert result.ok, result.summary()


def test_chain_appends_never_fork_under_concurrent_writers(transactional_db, settings):
    """20 writers at once on PostgreSQL: one unbroken chain holding every event."""
    require_postgres(connection)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    writers, per_writer = 20, 5
    start = threading.Barrier(writers)
    errors = []

    def work(i):
        try:
            start.wait()
            for j in range(per_writer):
                audit.create(Site, actor=audit.Actor(username=f"writer{i}", role="system"),
                             code=f"W{i}-{j}", name=f"writer {i} site {j}")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    before = AuditEvent.objects.count()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert AuditEvent.objects.count() == before + writers * per_writer
    result = verify()
    seqs = list(AuditSeal.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, AuditEvent.objects.count() + 1))
    assert result.ok, result.summary()


def test_the_chain_position_is_unique(users):
    verify()
    last = AuditSeal.objects.order_by("-seq").first()
    event = AuditEvent.objects.create(at=last.event.at, actor="x", role="x", action="x", changes="{}",
                                      app_version="x", content_hash="0" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditSeal.objects.create(seq=last.seq, event=event, prev_hash=last.hash, hash="f" * 64)


def test_seals_follow_the_commit_of_each_write(users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        audit.update(users["nurse_rh"], actor=SYSTEM, reason="name added", full_name="Nurse R")
    ev = AuditEvent.objects.order_by("-id").first()
    assert ev.seal.seq == AuditSeal.objects.count() and len(ev.seal.hash) == 64


def test_createsuperuser_goes_through_the_audit(db, sites):
    User.objects.create_superuser("root", "a-long-enough-password-1")
    ev = AuditEvent.objects.order_by("-id").first()
    assert ev.object_type == "accounts.user" and ev.actor == "system:createuser"
    assert verify().ok


def test_the_audit_page_shows_times_in_utc_as_its_column_says(users, client_for):
    import datetime as dt

    ev = AuditEvent.objects.order_by("-id").first()
    page = client_for("auditor").get("/audit/").content.decode()
    assert "Time (UTC)" in page and ev.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") in page
