"""Source data verification: the plan's reproducible, sticky sampling and verification tied to the record's
version (verify → edit → re-verify)."""

import hashlib
import hmac

import pytest

from shine.trial.errors import Refused
from shine.trial.monitoring import selectors, services
from shine.trial.monitoring.models import Verification
from shine.trial.records import services as records
from tests.support import TEST_SITES
from tests.trial.records.factories import randomised_ago

pytestmark = pytest.mark.django_db
SEED = "ab" * 32


def test_draw_is_hmac_sha256_of_the_seed_and_the_participant_number():
    expected = int.from_bytes(hmac.new(bytes.fromhex(SEED), b"sample:HGH-0007", hashlib.sha256).digest()[:8],
                              "big") / 2 ** 64
    assert services.draw(SEED, "sample", "HGH-0007") == expected
    assert services.draw(SEED, "sample", "HGH-0007") != services.draw(SEED, "icu", "HGH-0007")
    # the share drawn matches the percentage (binomial: 20 % of 4000, 4 SD is about 2.5 points)
    share = sum(services.draw(SEED, "sample", f"HGH-{i:04d}") < 0.2 for i in range(4000)) / 4000
    assert abs(share - 0.2) < 0.025


def _rules(percent):
    return services.DEFAULT_RULES | {"sample": {"first": 2, "percent": percent}}


@pytest.fixture
def big_trial(users):
    from shine.demo.randomisation import setup_randomisation

    setup_randomisation(pharmacist=users["pharmacist"], length_per_site=30, packs_per_arm_per_site=12,
                        sites=TEST_SITES)
    return users


def test_first_n_per_site_then_sampled_reproducibly_and_sticky(big_trial):
    trial = big_trial
    nurse = trial["nurse_hgh"]
    people = [randomised_ago(nurse, days=3 - i * 0.01) for i in range(10)]
    plan = services.create_plan(user=trial["data_manager"], rules=_rules(50), seed=SEED)
    assert plan.version == 1 and plan.seed == SEED
    chosen = {p.number: selectors.selection(p).get("sample", "") for p in people}
    assert chosen[people[0].number] == chosen[people[1].number] == "first 2 at the site"
    for p in people[2:]:
        assert bool(chosen[p.number]) == (services.draw(SEED, "sample", p.number) < 0.5)
    assert 0 < sum(bool(chosen[p.number]) for p in people[2:]) < len(people) - 2  # the draw both takes and leaves
    assert all(selectors.selection(p)["baseline"] == "every participant" for p in people)
    # reproducible: the same seed gives the same draw
    assert {p.number: selectors.selection(p).get("sample", "") for p in people} == chosen
    # sticky: a new plan sampling nobody keeps those selected before it selected...
    services.create_plan(user=trial["data_manager"], rules=_rules(0) | {"sample": {"first": 0, "percent": 0}},
                         seed="cd" * 32)
    assert {p.number: bool(selectors.selection(p).get("sample")) for p in people} == \
        {n: bool(v) for n, v in chosen.items()}
    # ...and applies alone to participants randomised after it
    later = randomised_ago(nurse, days=0.001)
    assert "sample" not in selectors.selection(later)


def test_plan_is_checked(trial):
    dm = trial["data_manager"]
    with pytest.raises(Refused, match="every form needs a rule"):
        services.create_plan(user=dm, rules={"baseline": {"all": True}})
    with pytest.raises(Refused, match="percent must be a number from 0 to 100"):
        services.create_plan(user=dm, rules=services.DEFAULT_RULES | {"icu": {"first": 3, "percent": 120}})
    with pytest.raises(Refused, match="seed must be 64 hexadecimal digits"):
        services.create_plan(user=dm, rules=services.DEFAULT_RULES, seed="xyz")
    from django.core.exceptions import PermissionDenied
    with pytest.raises(PermissionDenied):
        services.create_plan(user=trial["monitor"], rules=services.DEFAULT_RULES)
    assert len(services.create_plan(user=dm, rules=services.DEFAULT_RULES).seed) == 64


def _row(p, form, object_id):
    return next(r for r in selectors.sdv_rows(p) if r.entry.form == form and r.entry.object_id == str(object_id))


def test_verify_then_edit_asks_for_reverification(trial, day1):
    p, monitor, nurse = day1.participant, trial["monitor"], trial["nurse_hgh"]
    services.create_plan(user=trial["data_manager"], rules=services.DEFAULT_RULES, seed=SEED)
    assert _row(p, "daily", day1.pk).status == "to verify"
    v = services.verify(user=monitor, participant=p, form="daily", object_id=day1.pk, note="ICU chart")
    row = _row(p, "daily", day1.pk)
    assert row.status == "verified" and v.version_event == row.entry.version_event
    assert v.content_hash == row.entry.content_hash and len(v.content_hash) == 64
    with pytest.raises(Refused, match="already verified"):
        services.verify(user=monitor, participant=p, form="daily", object_id=day1.pk)
    records.update_daily_record(user=nurse, record=day1, values={"platelets": 75}, partial=True,
                                reason="lab sheet")
    assert _row(p, "daily", day1.pk).status == "re-verify"
    progress = selectors.progress(p)
    assert progress.reverify == 1 and progress.verified == 0 and progress.required >= 2
    services.verify(user=monitor, participant=p, form="daily", object_id=day1.pk)
    assert _row(p, "daily", day1.pk).status == "verified"
    assert Verification.objects.count() == 2
    with pytest.raises(Exception):
        services.verify(user=nurse, participant=p, form="daily", object_id=day1.pk)


def test_pages_and_api(trial, day1, client_for, api_for):
    p = day1.participant
    services.create_plan(user=trial["data_manager"], rules=services.DEFAULT_RULES, seed=SEED)
    monitor = client_for("monitor")
    page = monitor.get(f"/participants/{p.number}/sdv/").content.decode()
    assert "Verify day 1" in page
    r = monitor.post(f"/participants/{p.number}/sdv/", {"record": f"daily:{day1.pk}"})
    assert r.status_code == 302 and _row(p, "daily", day1.pk).status == "verified"
    assert "Verify day 1" not in monitor.get(f"/participants/{p.number}/sdv/").content.decode()
    assert p.number in monitor.get("/monitoring/sdv/?site=HGH").content.decode()
    assert client_for("nurse_hgh").get("/monitoring/sdv/").status_code == 403
    assert client_for("nurse_hgh").get(f"/participants/{p.number}/sdv/").status_code == 403
    api = api_for("monitor")
    rows = api.get(f"/api/v1/participants/{p.number}/sdv").json()
    daily = next(x for x in rows if x["form"] == "daily")
    assert daily["status"] == "verified" and daily["verified_by"] == "monitor"
    baseline = next(x for x in rows if x["form"] == "baseline")
    r = api.post(f"/api/v1/participants/{p.number}/sdv/verifications",
                 {"form": "baseline", "object_id": baseline["object_id"]}, content_type="application/json")
    assert r.status_code == 201
    prog = api.get("/api/v1/monitoring/sdv/progress?site=HGH").json()
    assert prog[0]["participant_id"] == p.number and prog[0]["verified"] == 2
    assert api_for("data_manager").get("/api/v1/monitoring/sdv/plans").json()[0]["seed"] == SEED
    r = api_for("data_manager").post("/api/v1/monitoring/sdv/plans", {"rules": {"x": 1}},
                                     content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "rules"
    page = client_for("data_manager").post("/monitoring/sdv/plan/", {"rules": "not json"})
    assert page.status_code == 400 and "rules must be JSON" in page.content.decode()


def test_a_record_on_the_sdv_page_links_to_a_query_on_it(trial, day1, client_for):
    p = day1.participant
    monitor = client_for("monitor")
    link = f"/participants/{p.number}/queries/?record=daily:{day1.pk}"
    assert link in monitor.get(f"/participants/{p.number}/sdv/").content.decode()
    assert f'value="daily:{day1.pk}" selected' in monitor.get(link).content.decode()
