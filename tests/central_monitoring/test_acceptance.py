"""Acceptance of central statistical monitoring on trials drawn from the trial simulator (200 runs each): with
no planted signal the clean sites' p-values fall below 0.05 at about the nominal rate and few runs flag any
site; with one site's values fabricated (rounded, smooth) that site is flagged in at least 80 % of the runs
and each clean site in at most 10 % (the issue's thresholds). Tolerances: with 200 runs the binomial SE of a
rate near 0.05 is about 0.015 (per site-check p-values: far more draws, SE < 0.005)."""

import pytest

from shine.central_monitoring import simulation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pool():
    return simulation.pool(1500, seed=11)


def test_false_alarms_near_nominal_without_a_signal(pool):
    r = simulation.rates(pool, runs=200, fabricated=False, seed=3)
    print(f"no signal: raw p<0.05 {r.raw_p_below_05:.3f}, clean site flagged {r.clean_flagged:.3f}, "
          f"any site flagged {r.any_clean_flagged:.3f}")
    assert 0.03 <= r.raw_p_below_05 <= 0.07
    assert r.clean_flagged <= 0.10 and r.any_clean_flagged <= 0.10


def test_a_fabricated_site_is_detected(pool):
    r = simulation.rates(pool, runs=200, fabricated=True, seed=5)
    print(f"fabricated site flagged {r.fabricated_flagged:.3f}, clean site flagged {r.clean_flagged:.3f}")
    assert r.fabricated_flagged >= 0.80
    assert r.clean_flagged <= 0.10
