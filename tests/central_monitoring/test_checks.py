"""Each check of central statistical monitoring against R (stats::t.test, fisher.test, binom.test, p.adjust);
tolerance 1e-8 relative on p-values (both compute the same closed forms / exact sums in double precision)."""

import json
import math

import numpy as np
import pytest

from shine.central_monitoring import checks
from tests.support import rscript

pytestmark = pytest.mark.rlang


def _r(code: str) -> dict:
    return json.loads(rscript("library(jsonlite); " + code).strip().splitlines()[-1])


def test_welch_matches_r_t_test():
    rng = np.random.default_rng(4)
    a, b = rng.normal(1, 2, 23).tolist(), rng.normal(0, 1, 41).tolist()
    out = _r(f"a <- c({','.join(map(repr, a))}); b <- c({','.join(map(repr, b))}); "
             "t2 <- t.test(a, b); tl <- t.test(a, b, alternative='less'); tg <- t.test(a, b, alternative='greater'); "
             "cat(toJSON(list(t=unname(t2$statistic), df=unname(t2$parameter), p=t2$p.value, pl=tl$p.value, "
             "pg=tg$p.value), digits=NA))")
    t, df, p = checks.welch(a, b)
    assert t == pytest.approx(out["t"][0], rel=1e-10) and df == pytest.approx(out["df"][0], rel=1e-10)
    assert p == pytest.approx(out["p"][0], rel=1e-8)
    assert checks.welch(a, b, "less")[2] == pytest.approx(out["pl"][0], rel=1e-8)
    assert checks.welch(a, b, "greater")[2] == pytest.approx(out["pg"][0], rel=1e-8)


def test_digit_heaping_is_a_one_sided_fisher_test():
    # site: 40 values, 19 end in 0 or 5; rest: 300 values, 66 do
    rows = [("A", 10.0)] * 19 + [("A", 12.0)] * 21 + [("B", 15.0)] * 66 + [("B", 13.0)] * 234
    site = next(s for s in checks.digit_preference(rows, "map_mmhg", 0) if s.site == "A")
    out = _r("f <- fisher.test(matrix(c(19, 21, 66, 234), 2, byrow=TRUE), alternative='greater'); "
             "cat(toJSON(list(p=f$p.value), digits=NA))")
    assert site.p == pytest.approx(out["p"][0], rel=1e-8)
    assert site.effect == pytest.approx((19 / 40) / (66 / 300))
    assert checks.terminal_digit(3.5, 1) == 5 and checks.terminal_digit(0.12, 2) == 2
    assert checks.terminal_digit(72.0, 0) == 2


def test_missingness_is_fisher_two_sided_and_sae_rate_an_exact_conditional_test():
    miss = {s.site: s for s in checks.missingness({"A": (12, 80), "B": (20, 400), "C": (9, 300)}, "daily")}
    sae = {s.site: s for s in checks.sae_rate({"A": (9, 210.0), "B": (11, 700.0), "C": (6, 560.0)})}
    out = _r("m <- fisher.test(matrix(c(12, 68, 29, 671), 2, byrow=TRUE)); "
             "b <- binom.test(9, 26, 210/1470); pt <- poisson.test(c(9, 17), c(210, 1260)); "
             "cat(toJSON(list(m=m$p.value, b=b$p.value, pt=pt$p.value), digits=NA))")
    assert miss["A"].p == pytest.approx(out["m"][0], rel=1e-8)
    assert sae["A"].p == pytest.approx(out["b"][0], rel=1e-8)
    assert sae["A"].p == pytest.approx(out["pt"][0], rel=1e-8)  # R's two-sample Poisson test is the same test
    assert sae["A"].effect == pytest.approx((9 / 210) / (17 / 1260))


def test_benjamini_hochberg_matches_p_adjust():
    ps = [0.001, 0.04, 0.03, 0.2, 0.5, 0.012, 0.049]
    out = _r(f"cat(toJSON(list(q=p.adjust(c({','.join(map(str, ps))}), 'BH')), digits=NA))")
    assert checks.benjamini_hochberg(ps) == pytest.approx(out["q"], rel=1e-12)


def test_variability_uses_each_participants_sd_one_sided_and_mean_participant_means():
    rng = np.random.default_rng(7)
    rows = [(site, f"{site}{i}", v) for site, spread in (("A", 1.0), ("B", 5.0), ("C", 5.0)) for i in range(12)
            for v in 70 + rng.normal(0, spread, 6)]
    var = {s.site: s for s in checks.within_participant_variability(rows, "map_mmhg")}
    assert var["A"].p < 1e-6 and var["A"].effect < 0.4 and var["B"].p > 0.5  # B is not "too variable" one-sided
    sds = checks.participant_sds(rows)
    a = [math.log(sd) for s, sd in sds if s == "A"]
    rest = [math.log(sd) for s, sd in sds if s != "A"]
    assert var["A"].p == pytest.approx(checks.welch(a, rest, "less")[2])
    mean = {s.site: s for s in checks.mean_shift(rows, "map_mmhg")}
    assert mean["A"].n_site == 12  # participants, not days


def test_too_few_values_are_not_checked_and_flags_use_the_fdr():
    sigs = checks.site_signals(values={"map_mmhg": [("A", "a1", 70.0), ("B", "b1", 71.0)]})
    assert all(s.p is None and "not checked" in s.note for s in sigs)
    with pytest.raises(ValueError, match="fdr"):
        checks.site_signals(fdr=0)
