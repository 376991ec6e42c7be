"""Every write of monitoring and data management: keyword-only, one transaction, audited (docs/monitoring.md).

Queries move only along the CDISC ODM 2.0 transitions in :data:`TRANSITIONS`; site staff answer, roles that
raise queries open, re-query, close and cancel, and only the edit-check run resolves a system query. Each
transition is an update of the query and a new message of its thread, both in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shine.trial.accounts import second_factor
from shine.trial.accounts.models import User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require, works_at
from shine.trial.audit import services as audit
from shine.trial.audit.models import AuditEvent
from shine.trial.audit.services import Actor
from shine.trial.enrollment.models import Participant
from shine.trial.errors import Refused, entered_text

from . import casebook, labels
from .models import Lock, Query, QueryMessage, SdvPlan, Signature, Verification

TEXT_LIMIT, NOTE_LIMIT = 2000, 400
S = Query.State

# action -> (states it leaves, state it reaches)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "open": (frozenset({S.CANDIDATE}), S.OPEN),
    "cancel": (frozenset({S.CANDIDATE, S.OPEN}), S.CANCELLED),
    "answer": (frozenset({S.OPEN}), S.ANSWERED),
    "requery": (frozenset({S.ANSWERED}), S.OPEN),
    "close": (frozenset({S.ANSWERED}), S.CLOSED),
    "resolve": (frozenset({S.CANDIDATE, S.OPEN, S.ANSWERED}), S.RESOLVED),
}
ACTION_LABELS = {"open": gettext_lazy("Release to the site"), "cancel": gettext_lazy("Cancel"),
                 "answer": gettext_lazy("Answer"), "requery": gettext_lazy("Re-query"), "close": gettext_lazy("Close"),
                 "resolve": gettext_lazy("Resolve")}
DONE = {"open": gettext_lazy("released"), "cancel": gettext_lazy("cancelled"), "answer": gettext_lazy("answered"),
        "requery": gettext_lazy("re-queried"), "close": gettext_lazy("closed"), "resolve": gettext_lazy("resolved")}
SYSTEM = Actor.system("checks")


def _now() -> dt.datetime:
    return timezone.now()


def _name(user: User | None) -> str:
    return (user.full_name or user.username) if user is not None else "edit check"


def may_answer(user: User, participant: Participant) -> bool:
    """Site staff who enter data answer the queries on their site's participants."""
    return user.can(Perm.ENTER_DATA) and works_at(user, participant.site_id)


def actions_for(user: User, query: Query) -> list[str]:
    """The transitions this user may take on the query now."""
    out = []
    for action, (sources, _target_state) in TRANSITIONS.items():
        if query.state not in sources or action == "resolve":
            continue
        if action == "answer":
            if may_answer(user, query.participant):
                out.append(action)
        elif user.can(Perm.RAISE_QUERY):
            out.append(action)
    return out


# ---------------------------------------------------------------- queries

def record_entry(participant: Participant, form: str, object_id) -> casebook.Entry:
    """The record a query, a lock or a verification names, refused in the reader's words when its form or the
    record is unknown."""
    if form not in casebook.FORMS:
        raise Refused(_("unknown form %(form)s: choose one of the participant's records") % {"form": repr(form)[:40]},
                      field="form")
    e = casebook.entry(participant, form, str(object_id or ""))
    if e is None:
        raise Refused(_("%(participant)s has no %(form)s record %(record)s") % {
            "participant": participant.number, "form": labels.form_label(form).lower(),
            "record": str(object_id)[:20]}, field="object_id")
    return e


def _target(participant: Participant, form: str, object_id, field: str) -> dict:
    if not form:
        if field:
            raise Refused(_("a field belongs to a record: choose the record too"), field="form")
        return {"object_type": "", "object_id": "", "form": "", "record_label": "", "field": ""}
    e = record_entry(participant, form, object_id)
    field = (field or "").strip()
    if field:
        names = casebook.record_fields(e.instance)
        if field not in names:
            raise Refused(_("field must be one of the record's fields: %(fields)s")
                          % {"fields": ", ".join(labels.field_label(n) for n in names)}, field="field")
    return {"object_type": e.object_type, "object_id": e.object_id, "form": form, "record_label": e.label,
            "field": field}


def _message(query: Query, *, actor: Actor, user: User | None, action: str, text: str,
             correction_event: int | None = None) -> QueryMessage:
    last = query.messages.aggregate(n=Max("number"))["n"] or 0
    return audit.create(QueryMessage, actor=actor, query=query, number=last + 1, action=action, text=text,
                        author=user, author_name=_name(user), at=_now(), correction_event=correction_event)


def _create(*, actor: Actor, user: User | None, participant: Participant, target: dict, text: str, state: str,
            origin: str, rule: str = "") -> Query:
    now = _now()
    try:
        with transaction.atomic():
            number = (Query.objects.aggregate(n=Max("number"))["n"] or 0) + 1
            q = audit.create(Query, actor=actor, number=number, participant=participant, site_id=participant.site_id,
                             state=state, origin=origin, rule=rule, raised_by=user, raised_at=now,
                             opened_at=now if state == S.OPEN else None, state_changed_at=now, **target)
            _message(q, actor=actor, user=user, action="raise", text=text)
    except IntegrityError:  # another query took the number in the meantime
        raise Refused(_("another query was raised at the same moment: send it again"), status=409) from None
    return q


def raise_query(*, user: User, participant: Participant, text: str, form: str = "", object_id="", field: str = "",
                candidate: bool = False, request_id: str = "") -> Query:
    """Raise a query on the participant, one of its records or one field; open at once (the site sees it) or,
    with ``candidate``, held back until it is released."""
    require(user, Perm.RAISE_QUERY)
    text = entered_text("text", text, label=_("question"), limit=TEXT_LIMIT, required=True)
    target = _target(participant, form, object_id, field)
    return _create(actor=Actor.of(user, request_id), user=user, participant=participant, target=target, text=text,
                   state=S.CANDIDATE if candidate else S.OPEN, origin=Query.Origin.MANUAL)


def _correction(query: Query) -> int:
    """The audit event of the correction an answer refers to: the latest change of the queried record, made
    after the query was raised."""
    if not query.object_type:
        raise Refused(_("a query on the participant has no record to correct: answer without a correction"),
                      field="corrected")
    event = (AuditEvent.objects.filter(object_type=query.object_type, object_id=query.object_id,
                                       at__gt=query.raised_at).order_by("-id").first())
    if event is None:
        raise Refused(_("%(record)s has not been changed since the query was raised: correct the value on its form "
                        "first (with a reason), then answer") % {"record": labels.record_label(query.record_label)},
                      field="corrected", status=409)
    return event.pk


def transition(*, user: User, query: Query, action: str, text: str, corrected: bool = False,
               request_id: str = "") -> Query:
    """Move the query along one allowed transition, with a message for its thread."""
    if action not in TRANSITIONS or action == "resolve":
        raise Refused(_("action must be one of %(actions)s")
                      % {"actions": ", ".join(a for a in TRANSITIONS if a != "resolve")}, field="action")
    if action == "answer":
        if not may_answer(user, query.participant):
            raise Refused(_("only staff of the participant's site answer a query"), status=403)
    else:
        require(user, Perm.RAISE_QUERY)
    if corrected and action != "answer":
        raise Refused(_("only an answer refers to a correction"), field="corrected")
    text = entered_text("text", text, label=_("message"), limit=TEXT_LIMIT, required=True)
    actor = Actor.of(user, request_id)
    with transaction.atomic():
        current = Query.objects.select_for_update().get(pk=query.pk)
        return _move(current, action=action, actor=actor, user=user, text=text,
                     correction_event=_correction(current) if corrected else None)


def _move(query: Query, *, action: str, actor: Actor, user: User | None, text: str,
          correction_event: int | None = None) -> Query:
    sources, target = TRANSITIONS[action]
    if query.state not in sources:
        states, sep = dict(S.choices), " " + _("or") + " "
        raise Refused(_("%(query)s is %(state)s: it cannot be %(done)s (only a query that is %(allowed)s)") % {
            "query": query.label, "state": states.get(query.state, query.state), "done": DONE[action],
            "allowed": sep.join(str(states[x]) for x in sorted(sources))}, field="action", status=409)
    now = _now()
    values = {"state": target, "state_changed_at": now}
    if target == S.OPEN and query.opened_at is None:
        values["opened_at"] = now
    q = audit.update(query, actor=actor, reason=f"{action}: {text[:200]}", **values)
    _message(q, actor=actor, user=user, action=action, text=text, correction_event=correction_event)
    return q


# ---------------------------------------------------------------- system queries (edit checks)

def run_checks(*, findings: list[tuple[Participant, str, str, str]]) -> dict[str, int]:
    """Open a system query for each finding (participant, form, object id, rule text) that has none yet (a
    closed or cancelled one counts: the site or the monitor has dealt with it), and resolve the active system
    queries whose finding is gone. Idempotent: a second run changes nothing."""
    wanted = {(p.pk, form, str(oid), rule[:300]): p for p, form, oid, rule in findings}
    active, handled = {}, set()
    for q in Query.objects.filter(origin=Query.Origin.SYSTEM).exclude(state=S.RESOLVED):
        key = (q.participant_id, q.form, q.object_id, q.rule)
        handled.add(key)
        if q.state in (S.CANDIDATE, S.OPEN, S.ANSWERED):
            active[key] = q
    opened = resolved = 0
    for key, p in wanted.items():
        if key in handled:
            continue
        _, form, oid, rule = key
        with transaction.atomic():
            _create(actor=SYSTEM, user=None, participant=p, target=_target(p, form, oid, ""),
                    text=f"Edit check: {rule}. Please check the value against the source and correct it, or "
                    "confirm it.", state=S.OPEN, origin=Query.Origin.SYSTEM, rule=rule)
        opened += 1
    for key, q in active.items():
        if key not in wanted:
            with transaction.atomic():
                current = Query.objects.select_for_update().get(pk=q.pk)
                _move(current, action="resolve", actor=SYSTEM, user=None,
                      text="The edit check no longer fires on the current value.")
            resolved += 1
    return {"opened": opened, "resolved": resolved, "unchanged": len(wanted) - opened}


# ---------------------------------------------------------------- source data verification

# every form fully unless sampled here; the default: first 3 per site + 20 % of the rest
DEFAULT_RULES = {form: {"all": True} for form in casebook.FORMS} | {
    form: {"first": 3, "percent": 20.0} for form in ("sample", "icu", "deviation")}


def clean_rules(rules) -> dict:
    if not isinstance(rules, dict) or not rules:
        raise Refused(_("rules: give each form's rule"), field="rules")
    out = {}
    for form, rule in rules.items():
        if form not in casebook.FORMS:
            raise Refused(_("rules: form must be one of %(forms)s; got %(form)s")
                          % {"forms": ", ".join(casebook.FORMS), "form": repr(form)}, field="rules")
        if not isinstance(rule, dict):
            raise Refused(_("rules: %(form)s needs {'all': true} or {'first': N, 'percent': X}") % {"form": form},
                          field="rules")
        if rule.get("all") is True:
            out[form] = {"all": True}
            continue
        first, percent = rule.get("first"), rule.get("percent")
        if not isinstance(first, int) or isinstance(first, bool) or not 0 <= first <= 1000:
            raise Refused(_("rules: %(form)s: first must be a whole number from 0 to 1000") % {"form": form},
                          field="rules")
        if not isinstance(percent, (int, float)) or isinstance(percent, bool) or not 0 <= percent <= 100:
            raise Refused(_("rules: %(form)s: percent must be a number from 0 to 100") % {"form": form},
                          field="rules")
        out[form] = {"first": first, "percent": float(percent)}
    missing = [f for f in casebook.FORMS if f not in out]
    if missing:
        raise Refused(_("rules: every form needs a rule; missing %(forms)s") % {"forms": ", ".join(missing)},
                      field="rules")
    return out


def create_plan(*, user: User, rules: dict, seed: str = "", note: str = "", request_id: str = "") -> SdvPlan:
    """A new version of the SDV plan. ``seed`` (64 hex digits) is drawn from the OS's CSPRNG when not given."""
    require(user, Perm.MANAGE_DATA)
    rules = clean_rules(rules)
    seed = (seed or "").strip().lower() or secrets.token_hex(32)
    if len(seed) != 64 or any(c not in "0123456789abcdef" for c in seed):
        raise Refused(_("seed must be 64 hexadecimal digits"), field="seed")
    note = entered_text("note", note, label=_("note"), limit=NOTE_LIMIT)
    with transaction.atomic():
        version = (SdvPlan.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0) + 1
        return audit.create(SdvPlan, actor=Actor.of(user, request_id), version=version, seed=seed, rules=rules,
                            note=note, created_by=user, created_at=_now())


def draw(seed: str, form: str, participant_number: str) -> float:
    """The participant's uniform draw in [0, 1) for a form: HMAC-SHA256 keyed by the plan's seed."""
    digest = hmac.new(bytes.fromhex(seed), f"{form}:{participant_number}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def verify(*, user: User, participant: Participant, form: str, object_id, note: str = "",
           request_id: str = "") -> Verification:
    """Record that the current version of a record matches the source."""
    require(user, Perm.VERIFY_SOURCE)
    note = entered_text("note", note, label=_("note"), limit=NOTE_LIMIT)
    with transaction.atomic():
        e = record_entry(participant, form, object_id)
        if Verification.objects.filter(object_type=e.object_type, object_id=e.object_id,
                                       version_event=e.version_event).exists():
            raise Refused(_("%(record)s is already verified in this version")
                          % {"record": labels.record_label(e.label)}, status=409)
        return audit.create(Verification, actor=Actor.of(user, request_id), participant=participant,
                            object_type=e.object_type, object_id=e.object_id, form=form,
                            version_event=e.version_event or 0, content_hash=e.content_hash, note=note,
                            verified_by=user, verified_at=_now())


# ---------------------------------------------------------------- signatures and locks

STATEMENT = ("I, {name}, sign the casebook of {number} electronically ({meaning}). I understand that this "
             "electronic signature is the legally binding equivalent of my handwritten signature (21 CFR 11.100) "
             "and that it covers the casebook as it stands now: any later change breaks it.")
MEANINGS = {"authorship": gettext_lazy("I am responsible for the data entered"),
            "review": gettext_lazy("I have reviewed the data and they are complete and accurate"),
            "approval": gettext_lazy("I approve the casebook as complete and accurate")}


def refuse_wrong_password(*, user: User, password: str, actor: Actor, object_type: str, object_id: str) -> None:
    """A signature re-enters the user's password even inside a session; a wrong one is refused and the
    refusal audited (committed even though the signature is not)."""
    if not password or not user.check_password(password):
        with transaction.atomic():
            audit.record(actor=actor, action="signature_refused", object_type=object_type, object_id=object_id,
                         reason="wrong password")
        raise Refused(_("the password is wrong: re-enter your own password to sign"), field="password", status=403)


def statement(user: User, participant: Participant, meaning: str) -> str:
    """The statement stored with the signature, in the trial's language (a stored record, not a page)."""
    with translation.override(settings.LANGUAGE_CODE):
        return STATEMENT.format(name=_name(user), number=participant.number,
                                meaning=f"{meaning}: {MEANINGS[meaning]}")


def sign(*, user: User, participant: Participant, meaning: str, password: str, code: str = "",
         request_id: str = "") -> Signature:
    """The investigator signs the participant's casebook, re-entering the password even inside a session (and a
    second-factor code if they have an authenticator)."""
    require(user, Perm.SIGN_CASEBOOK)
    if not works_at(user, participant.site_id):
        raise Refused(_("only an investigator of the participant's site signs its casebook"), status=403)
    if meaning not in MEANINGS:
        raise Refused(_("meaning must be one of %(meanings)s") % {"meanings": ", ".join(MEANINGS)}, field="meaning")
    actor = Actor.of(user, request_id)
    refuse_wrong_password(user=user, password=password, actor=actor, object_type="enrollment.participant",
                          object_id=str(participant.pk))
    if second_factor.has_device(user):
        with transaction.atomic():
            code_ok = second_factor.check(user, code, purpose="signature", actor=actor)
            if not code_ok:
                audit.record(actor=actor, action="signature_refused", object_type="enrollment.participant",
                             object_id=str(participant.pk), reason="wrong second-factor code")
        if not code_ok:
            raise Refused(_("wrong or already used code: enter %(help)s to sign") % {"help": second_factor.CODE_HELP},
                          field="code", status=403)
    with transaction.atomic():
        digest = casebook.casebook_hash(casebook.entries(participant))
        return audit.create(Signature, actor=actor, participant=participant, signer=user, printed_name=_name(user),
                            meaning=meaning, statement=statement(user, participant, meaning), signed_at=_now(),
                            content_hash=digest)


def active_locks(participant: Participant) -> list[Lock]:
    return list(Lock.objects.filter(participant=participant, unlocked_at__isnull=True))


def assert_not_locked(participant: Participant, record=None) -> None:
    """Refuse a write to a locked casebook or a locked record (the write paths call this before writing)."""
    for lock in active_locks(participant):
        if not lock.object_type:
            raise Refused(_("the casebook of %(participant)s is locked (%(reason)s): a data manager must unlock it "
                            "before any change") % {"participant": participant.number, "reason": lock.lock_reason},
                          status=409)
        if record is not None and lock.object_type == audit.object_type(type(record)) \
                and lock.object_id == str(record.pk):
            raise Refused(_("%(record)s of %(participant)s is locked (%(reason)s): a data manager must unlock it "
                            "before any change") % {"record": labels.record_label(lock.record_label),
                                                    "participant": participant.number, "reason": lock.lock_reason},
                          status=409)


def lock(*, user: User, participant: Participant, reason: str, form: str = "", object_id="",
         request_id: str = "") -> Lock:
    """A data manager locks the participant's casebook, or one record of it."""
    require(user, Perm.MANAGE_DATA)
    reason = entered_text("reason", reason, label=_("reason"), limit=NOTE_LIMIT, required=True)
    target = {"object_type": "", "object_id": "", "record_label": ""}
    if form:
        t = _target(participant, form, object_id, "")
        target = {"object_type": t["object_type"], "object_id": t["object_id"], "record_label": t["record_label"]}
    with transaction.atomic():
        Participant.objects.select_for_update().get(pk=participant.pk)
        for existing in active_locks(participant):
            if existing.object_type == target["object_type"] and existing.object_id == target["object_id"]:
                if target["record_label"]:
                    raise Refused(_("%(record)s is already locked") % {
                        "record": labels.record_label(target["record_label"])}, status=409)
                raise Refused(_("the casebook is already locked"), status=409)
        return audit.create(Lock, actor=Actor.of(user, request_id), participant=participant, lock_reason=reason,
                            locked_by=user, locked_at=_now(), **target)


def unlock(*, user: User, lock: Lock, reason: str, request_id: str = "") -> Lock:
    require(user, Perm.MANAGE_DATA)
    reason = entered_text("reason", reason, label=_("reason"), limit=NOTE_LIMIT, required=True)
    with transaction.atomic():
        current = Lock.objects.select_for_update().get(pk=lock.pk)
        if current.unlocked_at is not None:
            raise Refused(_("this lock is already lifted"), status=409)
        return audit.update(current, actor=Actor.of(user, request_id), reason=f"unlock: {reason}",
                            unlock_reason=reason, unlocked_by=user, unlocked_at=_now())
