"""Tampering as an attacker with database access would do it, and how `shine audit verify` names it.

Each case goes around the application (raw SQL, append-only triggers dropped as a database owner could):
a tail cut off with its seal, a seal left dangling, a chain forged anew, CPR ciphertexts swapped between
participants. The anchor file (written after each commit, outside the database) is what exposes the first
and the third; the others the database alone shows.
"""

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from shine.trial.audit import anchor
from shine.trial.audit import services as audit
from shine.trial.audit.models import AuditEvent, AuditSeal
from shine.trial.audit.verify import verify
from shine.trial.enrollment import selectors as enrolment_selectors
from tests.trial.enrollment.factories import enrolled

from .conftest import SYSTEM
from .test_audit import drop_append_only_triggers, run_verify


@pytest.fixture
def anchored(users, settings, tmp_path):
    """A trail whose head is anchored in a file, as `shine audit anchor` (cron) leaves it."""
    settings.SHINE_AUDIT_ANCHOR_FILE = tmp_path / "anchor.jsonl"
    call_command("audit", "anchor")
    return settings.SHINE_AUDIT_ANCHOR_FILE


def run_verify_anchored(path) -> tuple[int, str]:
    import io
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", "--anchor", str(path), stdout=out, stderr=err)
        return 0, out.getvalue() + err.getvalue()
    except SystemExit as exc:
        return exc.code, out.getvalue() + err.getvalue()


def test_each_commit_anchors_the_new_head_outside_the_database(users, settings, tmp_path,
                                                              django_capture_on_commit_callbacks):
    settings.SHINE_AUDIT_ANCHOR_FILE = tmp_path / "anchor.jsonl"
    with django_capture_on_commit_callbacks(execute=True):
        audit.update(users["nurse_rh"], actor=SYSTEM, reason="name added", full_name="Nurse R")
    head = AuditSeal.objects.order_by("-seq").first()
    lines = anchor.read(settings.SHINE_AUDIT_ANCHOR_FILE)
    assert (lines[-1].seq, lines[-1].hash) == (head.seq, head.hash)
    code, text = run_verify_anchored(settings.SHINE_AUDIT_ANCHOR_FILE)
    assert code == 0 and f"{len(lines)} anchors" in text, text


def test_a_rolled_back_write_is_never_anchored(users, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.SHINE_AUDIT_ANCHOR_FILE = tmp_path / "anchor.jsonl"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                audit.update(users["nurse_rh"], actor=SYSTEM, reason="name added", full_name="Nurse R")
                raise RuntimeError("the write fails after its event")
        except RuntimeError:
            pass
    assert callbacks == [] and not settings.SHINE_AUDIT_ANCHOR_FILE.exists()


def test_the_tail_cut_off_with_its_seal_is_caught_by_the_anchor(users, settings, tmp_path):
    with transaction.atomic():
        audit.record(actor=audit.Actor.of(users["nurse_hgh"]), action="login", object_type="accounts.login",
                     object_id="nurse_hgh")
    settings.SHINE_AUDIT_ANCHOR_FILE = anchored = tmp_path / "anchor.jsonl"
    call_command("audit", "anchor")
    last = AuditSeal.objects.order_by("-seq").first()
    assert last.event.action == "login"
    drop_append_only_triggers()
    with connection.cursor() as cursor:  # a login event and its seal, the newest of the trail, removed
        cursor.execute("DELETE FROM audit_auditseal WHERE seq = %s", [last.seq])
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [last.event_id])
    assert verify().ok  # the database alone cannot tell a trail cut at its end
    code, text = run_verify_anchored(anchored)
    assert code == 1 and f"seal #{last.seq}, anchored on line 1, is missing: the trail was cut short" in text


def test_a_seal_left_dangling_is_an_error(users):
    verify()
    last = AuditSeal.objects.order_by("-seq").first()
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [last.event_id])
    code, text = run_verify()
    assert code == 1
    assert f"seal #{last.seq} (event {last.event_id}): the event it seals is missing (deleted)" in text
    with connection.cursor() as cursor:  # the test database checks deferred foreign keys before its rollback
        cursor.execute("DELETE FROM audit_auditseal WHERE seq = %s", [last.seq])


def test_a_chain_forged_anew_is_caught_by_the_anchor(anchored):
    """Rewrite an early event, recompute its hash, throw every seal away and seal the trail again: a
    consistent chain the database alone accepts, and the anchor does not."""
    target = AuditSeal.objects.order_by("seq")[2]
    ev = AuditEvent.objects.get(pk=target.event_id)
    ev.reason = "forged"
    drop_append_only_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'forged', content_hash = %s WHERE id = %s",
                       [audit.content_hash_of(ev), ev.pk])
        cursor.execute("DELETE FROM audit_auditseal")
    audit.seal_pending()
    assert verify().ok
    head = anchor.read(anchored)[-1]
    code, text = run_verify_anchored(anchored)
    assert code == 1 and f"seal #{head.seq} has a hash other than the one anchored on line 1" in text


def test_an_anchor_file_that_is_not_one_is_refused_with_its_line(users, tmp_path):
    bad = tmp_path / "anchor.jsonl"
    bad.write_text('{"seq": 1, "hash": "' + "0" * 64 + '"}\nnot json\n')
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="line 2 is not an anchor"):
        call_command("audit", "verify", "--anchor", str(bad))


def test_swapped_cpr_numbers_are_named_and_refused_on_decryption(users):
    nurse = users["nurse_hgh"]
    a, b = enrolled(nurse, cpr="0101881234"), enrolled(nurse, cpr="0202775678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, cpr_encrypted FROM enrollment_participant WHERE id IN (%s, %s)", [a.pk, b.pk])
        token = dict(cursor.fetchall())
        cursor.execute("UPDATE enrollment_participant SET cpr_encrypted = %s WHERE id = %s", [token[b.pk], a.pk])
        cursor.execute("UPDATE enrollment_participant SET cpr_encrypted = %s WHERE id = %s", [token[a.pk], b.pk])
    a.refresh_from_db()
    assert enrolment_selectors.cpr_for(nurse, a).startswith("(cannot be decrypted")
    code, text = run_verify()
    assert code == 1
    for p in (a, b):
        assert f"enrollment.participant {p.number}: the encrypted CPR number was not encrypted for this " \
               "participant" in text
