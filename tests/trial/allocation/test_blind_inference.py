"""Blinding as inference: an attacker with everything a blinded role can fetch guesses arms no better than chance.

The word search of test_blind_leak.py proves no page *says* an arm; these attacks try to *compute* one:
- hash guessing: recompute each audit event's content hash with every candidate arm and keep the one that
  matches;
- pack choice: if the dispensed pack were the lowest-numbered available pack of the slot's arm, every
  lower-numbered pack then at the site would hold the other arm.
Each attack must do no better than chance within 3 binomial standard errors (50 % for a guessed arm; for
the pack-choice relation, the rate at which any two packs then at the site hold different arms). The same
attacks recover the arms when the defences are switched off (the tests named "recovers"), so they are not
vacuous.
"""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from shine import protocol
from shine.trial.accounts.roles import ROLES, Perm
from shine.trial.allocation import services as allocation
from shine.trial.allocation.models import Allocation, Pack
from shine.trial.audit import chain
from tests.trial.conftest import PERSONAS
from tests.trial.enrollment.factories import randomised, trial_setup

P = protocol.load()
AUDIT_READERS = [name for name, (role, _) in PERSONAS.items()
                 if ROLES[role].blinded and ROLES[role].can(Perm.VIEW_AUDIT)]
RANDOMISED = 18


@pytest.fixture
def dispensing_trial(users):
    """One site with 12 packs of each arm and 18 participants randomised (pack choice has room to leak)."""
    trial_setup(users["pharmacist"], length_per_site=30, packs=12)
    for _ in range(RANDOMISED):
        randomised(users["nurse_hgh"])
    return users


def all_events(api) -> list[dict]:
    out, page = [], 1
    while True:
        body = api.get(f"/api/v1/audit?page_size=1000&page={page}").json()
        out += body["events"]
        if page >= body["pages"]:
            return out
        page += 1


def within_chance(correct: int, n: int) -> bool:
    return n > 0 and abs(correct / n - 0.5) <= 3 * math.sqrt(0.25 / n)


def content_fields(ev: dict, changes: dict) -> dict:
    """The hashed fields of an event as the API returns it (its time parsed back from ISO 8601)."""
    return {**{k: ev[k] for k in chain.CONTENT_FIELDS}, "at": dt.datetime.fromisoformat(ev["at"]),
            "changes": chain.canonical_json(changes)}


def hash_guess(ev: dict, field: str) -> str | None:
    """The arm whose plain (unkeyed) hash reproduces the event's content hash, or None."""
    for arm in P.arms:
        if chain.content_hash(content_fields(ev, {**ev["changes"], field: [None, arm]})) == ev["content_hash"]:
            return arm
    return None


def hash_attack(events: list[dict], rng: random.Random) -> dict[str, str]:
    """pack id → guessed arm, for every pack created in the trail."""
    guesses = {}
    for ev in events:
        if ev["object_type"] == "allocation.pack" and ev["action"] == "create":
            guesses[ev["object_id"]] = hash_guess(ev, "arm") or rng.choice(P.arms)
    return guesses


def pack_choice_attack(events: list[dict]) -> list[tuple[str, str, bool]]:
    """Each (dispensed pack, other pack then at the site, 'the other is lower-numbered'): under a
    lowest-number rule every lower-numbered pack then at the site holds the other arm."""
    numbers, site_of, available, pairs = {}, {}, {}, []
    for ev in sorted(events, key=lambda e: e["id"]):
        if ev["object_type"] != "allocation.pack":
            continue
        if ev["action"] == "create":
            numbers[ev["object_id"]] = ev["changes"]["number"][1]
        status = ev["changes"].get("status", [None, None])[1]
        number = numbers.get(ev["object_id"])
        if status == Pack.Status.AT_SITE:
            site_of[number] = ev["changes"]["site_id"][1]
            available.setdefault(site_of[number], set()).add(number)
        elif status == Pack.Status.DISPENSED:
            here = available[site_of[number]]
            here.discard(number)
            pairs += [(number, other, other < number) for other in here]
    return pairs


def pack_choice_advantage(pairs) -> tuple[float, float, int]:
    """How often a 'lower-numbered' pair truly holds two arms, against how often any pair does (the rate an
    attacker gets by chance); and how many lower pairs there were."""
    truth = dict(Pack.objects.values_list("number", "arm"))
    differ = [truth[d] != truth[o] for d, o, _ in pairs]
    lower = [x for x, (_, _, is_lower) in zip(differ, pairs) if is_lower]
    return sum(lower) / len(lower), sum(differ) / len(differ), len(lower)


@pytest.mark.parametrize("persona", AUDIT_READERS)
def test_hashes_in_the_audit_api_do_not_tell_the_arm(dispensing_trial, api_for, persona):
    events = all_events(api_for(persona))
    guesses = hash_attack(events, random.Random(12))
    truth = {str(pk): arm for pk, arm in Pack.objects.values_list("pk", "arm")}
    assert len(guesses) == len(truth) >= 100
    correct = sum(guesses[pk] == truth[pk] for pk in truth)
    assert within_chance(correct, len(truth)), f"{persona} guessed {correct}/{len(truth)} packs"
    # through the pack number on the participant's allocation, the same guess for every participant
    by_pack = {a.pack_id: (a.participant.number, a.slot.arm) for a in Allocation.objects.select_related(
        "participant", "slot")}
    right = sum(guesses[str(pack)] == arm for pack, (_, arm) in by_pack.items())
    assert within_chance(right, len(by_pack)), f"{persona} guessed {right}/{len(by_pack)} participants"
    # a blinded reader can still check every content hash: the commitments stand in for the values
    slot_events = [e for e in events if e["object_type"] in ("allocation.slot", "allocation.pack")]
    assert all(str(v).startswith(chain.COMMITMENT_PREFIX) for e in slot_events if "arm" in e["changes"]
               for v in e["changes"]["arm"] if v is not None)


def test_the_audit_page_shows_blinded_values_as_blinded(dispensing_trial, client_for):
    page = client_for("auditor").get("/audit/?object_type=allocation.pack&action=create").content.decode()
    assert "arm</code>: – → (blinded)" in page and chain.COMMITMENT_PREFIX not in page


def test_committed_events_verify_for_a_blinded_reader(dispensing_trial, api_for):
    """Given the commitments, a blinded auditor recomputes each event's content hash from what it fetched."""
    events = [e for e in all_events(api_for("auditor")) if e["object_type"] in ("allocation.pack", "allocation.slot")]
    assert len(events) > 100
    for ev in events:
        assert chain.content_hash(content_fields(ev, ev["changes"])) == ev["content_hash"], ev["id"]


def test_the_pack_dispensed_does_not_tell_the_arm(dispensing_trial, api_for):
    rate, chance, n = pack_choice_advantage(pack_choice_attack(all_events(api_for("monitor"))))
    assert n >= 30
    assert abs(rate - chance) <= 3 * math.sqrt(chance * (1 - chance) / n), (rate, chance, n)


def test_the_hash_attack_recovers_arms_from_unkeyed_hashes(users, api_for, monkeypatch):
    """With the commitment switched off (arms hashed in plain), the attack names every pack."""
    from shine.trial.audit import services

    monkeypatch.setattr(services, "committed_changes", lambda *, changes, **_: changes)
    trial_setup(users["pharmacist"], length_per_site=2, packs=2)
    events = all_events(api_for("auditor"))
    guesses = hash_attack(events, random.Random(12))
    truth = {str(pk): arm for pk, arm in Pack.objects.values_list("pk", "arm")}
    assert sum(guesses[pk] == truth[pk] for pk in truth) == len(truth)


def test_the_pack_choice_attack_recovers_arms_from_lowest_number_dispensing(users, api_for, monkeypatch):
    """With packs dispensed lowest number first (the old rule), every lower-numbered pair holds two arms."""
    def lowest(site, arm):
        return Pack.objects.filter(site=site, status=Pack.Status.AT_SITE, arm=arm).order_by("number").first()

    monkeypatch.setattr(allocation, "_pack_for", lowest)
    trial_setup(users["pharmacist"], length_per_site=30, packs=12)
    for _ in range(RANDOMISED):
        randomised(users["nurse_hgh"])
    rate, chance, n = pack_choice_advantage(pack_choice_attack(all_events(api_for("monitor"))))
    assert n >= 3 and rate == 1 and chance < 0.8


def test_a_site_out_of_one_arm_refuses_whatever_the_next_slot(users):
    """Randomisation is refused as soon as either arm has no pack at the site, not only when the next slot's
    arm runs out: the refusal itself must not tell the next arm."""
    from shine.trial.errors import Refused

    trial_setup(users["pharmacist"], length_per_site=30, packs=1)
    arms = list(Pack.objects.filter(site__code="HGH", status="at_site").values_list("arm", flat=True))
    assert sorted(arms) == sorted(P.arms)
    randomised(users["nurse_hgh"])  # uses one arm's only pack
    with pytest.raises(Refused, match="no trial drug pack is available at HGH"):
        randomised(users["nurse_hgh"])
    assert Allocation.objects.count() == 1 and Pack.objects.filter(site__code="HGH", status="at_site").count() == 1
