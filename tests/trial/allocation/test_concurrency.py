"""50 randomisations at once on PostgreSQL: no slot twice, none skipped, no pack twice, all audited."""

import os
import threading
import time
from collections import Counter, defaultdict

import pytest
from django.conf import settings
from django.db import connection

from shine.demo.randomisation import setup_randomisation
from shine.trial.accounts.services import create_user
from shine.trial.allocation import services
from shine.trial.allocation.models import Allocation, Slot
from shine.trial.audit.models import AuditEvent
from shine.trial.audit.verify import verify
from tests.support import require_postgres
from tests.trial.conftest import PASSWORD, SYSTEM
from tests.trial.enrollment.factories import enrolled

# Skipped before the transactional database is set up: on SQLite its teardown (a flush) would hit the audit
# trail's append-only trigger. With SHINE_REQUIRE_POSTGRES=1 the tests run and require_postgres fails them.
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not ON_POSTGRES and os.environ.get("SHINE_REQUIRE_POSTGRES") != "1",
                                 reason="needs PostgreSQL: run with DATABASE_URL=postgres://… (CI does)")]
N = 50


def run_at_once(calls):
    """Run the callables in threads (each with its own database connection) released together."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def worker(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 (collected and reported below)
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(calls)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    print(f"{len(calls)} calls at once: {time.perf_counter() - started:.2f} s")
    assert not errors, errors[:5]
    return results


def check_allocations(expected_per_site):
    allocations = list(Allocation.objects.select_related("slot", "pack", "participant", "slot__site"))
    assert len(allocations) == sum(expected_per_site.values())
    assert len({a.slot_id for a in allocations}) == len(allocations)          # no slot twice
    assert len({a.pack_id for a in allocations}) == len(allocations)          # no pack twice
    positions = defaultdict(list)
    for a in allocations:
        assert a.pack.arm == a.slot.arm and a.pack.site_id == a.slot.site_id == a.participant.site_id
        assert a.participant.randomisation_number == a.randomisation_number == a.slot.number
        positions[a.slot.site.code].append(a.slot.position)
    for site, n in expected_per_site.items():                                 # none skipped
        assert sorted(positions[site]) == list(range(1, n + 1)), site
        assert Slot.objects.filter(site__code=site, used_at__isnull=False).count() == n
    created = Counter(AuditEvent.objects.filter(object_type="allocation.allocation", action="create")
                      .values_list("object_id", flat=True))
    assert set(created) == {str(a.pk) for a in allocations} and set(created.values()) == {1}  # every one audited
    result = verify()
    assert result.ok, result.summary()


def setup(users, per_site_packs, sites=None):
    setup_randomisation(pharmacist=users["pharmacist"], length_per_site=N + 6, packs_per_arm_per_site=per_site_packs,
                        sites=sites)


def test_fifty_at_one_site(users):
    require_postgres(connection)
    setup(users, 32, sites=("HGH",))
    nurse = users["nurse_hgh"]
    people = [enrolled(nurse) for _ in range(N)]
    results = run_at_once([lambda p=p, i=i: services.randomise(p, user=nurse, weight_kg=60 + i, weight_estimated=False,
                                                               request_id=f"one-site-{i}")
                           for i, p in enumerate(people)])
    assert len({r.randomisation_number for r in results}) == N
    check_allocations({"HGH": N})


def test_fifty_spread_over_sites(users, sites):
    require_postgres(connection)
    setup(users, 10)
    nurses = {code: create_user(actor=SYSTEM, username=f"nurse_{code.lower()}_c", role="nurse", sites=[code],
                                password=PASSWORD)[0] for code in sites}
    codes = sorted(sites)
    people = [(nurses[codes[i % len(codes)]], enrolled(nurses[codes[i % len(codes)]], codes[i % len(codes)]))
              for i in range(N)]
    run_at_once([lambda u=u, p=p, i=i: services.randomise(p, user=u, weight_kg=70, weight_estimated=True,
                                                          request_id=f"spread-{i}") for i, (u, p) in enumerate(people)])
    check_allocations(Counter(p.site.code for _, p in people))


def test_retries_of_one_request_at_once_give_one_answer(users):
    require_postgres(connection)
    setup(users, 3, sites=("HGH",))
    nurse = users["nurse_hgh"]
    p = enrolled(nurse)
    results = run_at_once([lambda: services.randomise(p, user=nurse, weight_kg=70, weight_estimated=False,
                                                      request_id="the-same-request")] * 20)
    assert len(set(results)) == 1 and Allocation.objects.count() == 1
    check_allocations({"HGH": 1})
