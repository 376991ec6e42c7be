"""The interim on data (shine.analysis.interim): decision numbers against closed forms, quadrature and R,
reconciliation of denominators, byte-identical reruns, and an open report that no allocation changes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from shine import design
from shine.analysis import interim
from shine.analysis.dataset import load
from shine.simulation import generate_dataset
from tests.support import rscript

CUTOFF = "2022-07-01T00:00:00Z"  # 300 simulated participants: 230 randomised by then, about 214 past day 90
FREEZE = {"id": 1, "data_cutoff": CUTOFF, "sha256": "test"}


def _key(unblinded, coded) -> dict:
    arm = dict(zip(unblinded["participants"]["participant_id"], unblinded["participants"]["arm"], strict=True))
    p = coded["participants"]
    return {c: arm[p.loc[p["arm"] == c, "participant_id"].iloc[0]] for c in ("A", "B")}


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("interim-data")
    generate_dataset(300, 3, data_cutoff=CUTOFF).write(folder, parquet=False)
    unblinded = load(folder)
    data = unblinded.blind(b"interim-test-key")
    return data, _key(unblinded, data)


@pytest.fixture(scope="module")
def report(coded):
    data, key = coded
    return interim.run(data, key, freeze=FREEZE)


# ------------------------------------------------------------------ predictive probability and CP


@pytest.mark.parametrize("z", [-1.5, 0.0, 0.7, 2.2])
@pytest.mark.parametrize("t", [0.3, 200 / 380, 0.8])
def test_predictive_probability_is_conditional_power_averaged_over_the_posterior(z, t):
    theta0, sd0 = design.design_drift(), 0.8 * design.design_drift()
    v = 1 / (1 / sd0 ** 2 + t)
    m = v * (theta0 / sd0 ** 2 + z * math.sqrt(t))

    def integrand(theta):
        return design.conditional_power(z, t, theta=theta) * stats.norm.pdf(theta, m, math.sqrt(v))

    by_quadrature, _ = integrate.quad(integrand, m - 12 * math.sqrt(v), m + 12 * math.sqrt(v), epsabs=1e-13)
    ours = interim.predictive_probability(z, t, alpha=0.025, prior_mean=theta0, prior_sd=sd0)
    assert ours == pytest.approx(by_quadrature, abs=1e-9)


@pytest.mark.parametrize("z", [-1.0, 0.5, 2.0])
def test_predictive_probability_limits(z):
    t, c = 200 / 380, stats.norm.ppf(0.975)
    theta = design.design_drift()
    # a point prior gives the conditional power under that drift
    assert interim.predictive_probability(z, t, alpha=0.025, prior_mean=theta, prior_sd=1e-9) == pytest.approx(
        design.conditional_power(z, t, theta=theta), abs=1e-9)
    # a flat prior gives Spiegelhalter's predictive power Φ((Z − c√t)/√(1 − t))
    flat = stats.norm.cdf((z - c * math.sqrt(t)) / math.sqrt(1 - t))
    assert interim.predictive_probability(z, t, alpha=0.025, prior_mean=theta, prior_sd=math.inf) == pytest.approx(
        flat, abs=1e-12)


def test_interim_statistics_follow_the_protocol_rule():
    s = interim.interim_statistics(0.2, 200)
    t = 200 / 380
    assert s["information_fraction"] == t and s["alpha_one_sided"] == 0.025
    cut = design.futility_z_for_rule("cp_design<0.10", t, alpha=0.025, power=0.90)
    assert s["futility_z"] == pytest.approx(cut) and s["rule_met"] is False
    # at the cut-off the conditional power under the design effect is exactly the rule's threshold
    assert design.conditional_power(cut, t, theta=design.design_drift()) == pytest.approx(0.10, abs=1e-12)
    assert interim.interim_statistics(cut - 1e-6, 200)["rule_met"] is True
    oc = design.futility_characteristics(cut, t, n_max=380, n_interim=200)
    assert s["operating_characteristics"]["p_stop_h0"] == pytest.approx(oc.p_stop_h0)
    assert s["operating_characteristics"]["power"] == pytest.approx(oc.power)
    with pytest.raises(ValueError, match="between 1 and 379"):
        interim.interim_statistics(0.0, 380)


@pytest.mark.rlang
def test_conditional_power_of_the_run_against_rpact(report, tmp_path):
    # R (rpact 3.3.4): d <- getDesignInverseNormal(kMax = 2, informationRates = c(t, 1),
    #   typeOfDesign = "noEarlyEfficacy", alpha = 0.025); a stage-1 data set whose z is the run's z
    #   (n 50 + 50, SD 1, means z/5 and 0); getStageResults(d, ds, normalApproximation = TRUE);
    #   getConditionalPower(sr, nPlanned = 100, thetaH1 = drift * sqrt(1 - t) / 5, assumedStDev = 1).
    # Tolerance 1e-6 (STATISTICS.md).
    s = report.closed["interim"]
    z, t = s["z"], s["information_fraction"]
    drifts = {"design": s["design_drift"], "trend": z / math.sqrt(t)}
    script = tmp_path / "cp.R"
    script.write_text("\n".join([
        "suppressPackageStartupMessages(library(rpact))",
        f"d <- getDesignInverseNormal(kMax = 2, informationRates = c({t!r}, 1), typeOfDesign = 'noEarlyEfficacy', "
        "alpha = 0.025)",
        f"ds <- getDataset(n1 = 50, n2 = 50, means1 = {z / 5!r}, means2 = 0, stDevs1 = 1, stDevs2 = 1)",
        "sr <- getStageResults(d, dataInput = ds, normalApproximation = TRUE)",
        *[f"cat(sprintf('%.15g', getConditionalPower(sr, nPlanned = 100, thetaH1 = {th * math.sqrt(1 - t) / 5!r}, "
          "assumedStDev = 1)$conditionalPower[2]), '\\n')" for th in drifts.values()],
    ]))
    design_cp, trend_cp = (float(x) for x in rscript(f"source({str(script)!r})").split())
    assert s["conditional_power_design"] == pytest.approx(design_cp, abs=1e-6)
    assert s["conditional_power_trend"] == pytest.approx(trend_cp, abs=1e-6)


@pytest.mark.rlang
def test_adjusted_difference_against_r_lm(coded, report, tmp_path):
    # R: lm(mean_sofa ~ treat + site + base) on the participants the interim analysed; tolerance 1e-8
    data, _ = coded
    complete = interim.day90_complete(data)
    from shine.analysis import analyses

    sub = interim.subset(data, complete[complete].index)
    f = analyses.derive_all(sub).frame
    f = f[f["itt"]]
    path = tmp_path / "d.csv"
    f[["mean_sofa", "treat", "site", "baseline_sofa_modified"]].to_csv(path, index=False)
    # a missing baseline takes the mean of the observed baselines of the analysed participants (both groups)
    out = rscript(f"""d <- read.csv('{path}'); d$site <- factor(d$site, levels = sort(unique(d$site)))
        b <- d$baseline_sofa_modified; d$baseline_sofa_modified[is.na(b)] <- mean(b, na.rm = TRUE)
        d <- d[!is.na(d$mean_sofa), ]
        m <- lm(mean_sofa ~ treat + site + baseline_sofa_modified, data = d)
        cat(sprintf('%.15g', c(coef(m)['treat'], summary(m)$coefficients['treat', 2])))""")
    estimate, se = (float(x) for x in out.split())
    cc = report.closed["primary"]["complete_case"]
    assert cc["estimate"] == pytest.approx(estimate, rel=1e-8)
    assert cc["se"] == pytest.approx(se, rel=1e-8)
    assert report.closed["interim"]["n_analysed"] == int(f["mean_sofa"].notna().sum())


# ------------------------------------------------------------------ tables and files


def test_denominators_reconcile(report, coded):
    data, _ = coded
    o, c = report.tables_open, report.tables_closed
    n = len(data["participants"])
    consort = dict(zip(o["consort_pooled"]["box"], o["consort_pooled"]["count"], strict=True))
    assert consort["randomised"] == n == report.open["randomised"]
    assert int(o["recruitment_by_month_and_site"]["cumulative"].iloc[-1]) == n
    assert int(o["recruitment_by_month_and_site"]["all sites"].sum()) == n
    assert o["completeness"].iloc[0]["value"] == str(n)
    itt = consort["intention-to-treat (data may be used)"]
    assert itt == n - consort["consent to use data withdrawn after randomisation"]
    assert o["baseline_pooled"].iloc[0]["intention-to-treat, pooled"] == str(itt)
    screening = dict(zip(o["screening_outcomes"]["outcome"], o["screening_outcomes"]["count"], strict=True))
    assert screening["randomised"] == n
    assert consort["assessed for eligibility"] == sum(screening.values())
    assert consort["assessed for eligibility"] - consort["excluded (not eligible, not assessable, or eligible and "
                                                         "not randomised)"] == n
    assert consort["analysed (intention-to-treat, day-90 complete, primary outcome available)"] + consort[
        "excluded from the interim analysis"] == n
    # closed: every arm row sums to its total
    by_arm = c["consort_by_arm"]
    assert (by_arm["A"] + by_arm["B"] == by_arm["all"]).all()
    assert by_arm.loc[by_arm["box"] == "randomised", "all"].iloc[0] == n
    prim = c["primary_by_arm"]
    assert int(prim["with outcome"].sum()) == report.closed["interim"]["n_analysed"]
    assert consort["analysed (intention-to-treat, day-90 complete, primary outcome available)"] == \
        report.closed["interim"]["n_analysed"]
    mort = c["mortality_by_arm"]
    for _, g in mort.groupby("day"):
        assert (g["known status"] + g["unknown"]).tolist() == prim["n"].tolist()


def test_open_tables_refuse_arm_grouping():
    groups = ("A", "B", "iloprost", "placebo")
    with pytest.raises(interim.ArmTableRefused, match="grouped by arm"):
        interim.pooled_table(pd.DataFrame({"arm": ["A", "B"], "n": [3, 4]}), "bad", groups=groups)
    with pytest.raises(interim.ArmTableRefused, match="grouped by arm"):
        interim.pooled_table(pd.DataFrame({"item": ["deaths"], "placebo": [3]}), "bad", groups=groups)
    with pytest.raises(interim.ArmTableRefused, match="names an arm"):
        interim.pooled_table(pd.DataFrame({"who": ["B", "all"], "n": [3, 4]}), "bad", groups=groups)
    ok = pd.DataFrame({"item": ["deaths"], "count": [7]})
    assert interim.pooled_table(ok, "fine", groups=groups).equals(ok)


def test_same_freeze_same_bytes(report, coded, tmp_path):
    data, key = coded
    first = interim.write(report, tmp_path / "one")
    again = interim.write(interim.run(data, key, freeze=FREEZE), tmp_path / "two")
    assert sorted(first) == sorted(again)
    for name in first:
        assert first[name].read_bytes() == again[name].read_bytes(), name
    import hashlib
    import json

    manifest = json.loads((tmp_path / "one" / "closed" / "manifest.json").read_text())
    for name, sha in manifest["files"].items():
        assert hashlib.sha256((tmp_path / "one" / "closed" / name).read_bytes()).hexdigest() == sha


def test_open_report_is_the_same_under_any_allocation(coded, report, tmp_path):
    """What a blinded reader gets cannot depend on the allocation: another allocation (half of the
    participants' codes swapped, and the key reversed) gives the same open files and other closed ones."""
    data, key = coded
    p = data["participants"]
    rng = np.random.default_rng(5)
    swap = rng.random(len(p)) < 0.5
    other = p.assign(arm=np.where(swap, np.where(p["arm"] == "A", "B", "A"), p["arm"]))
    from dataclasses import replace
    from types import MappingProxyType

    shuffled = replace(data, tables=MappingProxyType({**data.tables, "participants": other}))
    reversed_key = {"A": key["B"], "B": key["A"]}
    again = interim.run(shuffled, reversed_key, freeze=FREEZE)
    one, two = interim.write(report, tmp_path / "one"), interim.write(again, tmp_path / "two")
    for name in ("open/report.html", "open/results.json", "open/manifest.json"):
        assert one[name].read_bytes() == two[name].read_bytes(), name
    assert one["closed/results.json"].read_bytes() != two["closed/results.json"].read_bytes()
    text = (one["open/report.html"].read_text() + one["open/results.json"].read_text()).lower()
    for word in ("iloprost", "placebo", "conditional_power", "futility_z", "rule_met"):
        assert word not in text


def test_closed_report_carries_the_decision(report, tmp_path):
    paths = interim.write(report, tmp_path)
    html = paths["closed/report.html"].read_text()
    s = report.closed["interim"]
    assert f"{s['conditional_power_design']:.4f}" in html and f"{s['predictive_probability']:.4f}" in html
    assert "drift ~ N(3.2415" in html and "non-binding" in html
    assert sorted(report.key) == ["A", "B"] and "iloprost" not in html.lower()
    assert "iloprost" in paths["closed/key.json"].read_text()
    # the page's stamp, the decision, the CONSORT flow and every table carry the freeze id and cut-off
    assert html.count("Freeze 1 · data cut-off") == len(report.tables_closed) + 3


def test_consort_flow_diagrams(report, tmp_path):
    paths = interim.write(report, tmp_path)
    consort = dict(zip(report.tables_open["consort_pooled"]["box"], report.tables_open["consort_pooled"]["count"],
                       strict=True))
    pooled = paths["open/report.html"].read_text()
    assert 'aria-label="CONSORT flow diagram"' in pooled
    assert f"Assessed for eligibility: {consort['assessed for eligibility']}" in pooled
    assert f"n = {consort['randomised']}</text>" in pooled and "A: Randomised" not in pooled
    closed = paths["closed/report.html"].read_text()
    by_arm = report.tables_closed["consort_by_arm"].set_index("box")
    for g in ("A", "B"):
        assert f"{g}: Randomised</text>" in closed
        assert f"n = {by_arm.loc['randomised', g]}</text>" in closed
    lost = consort["lost to follow-up (past day 90, day-90 outcome unknown)"]
    assert 0 <= lost <= consort["randomised"] - consort["day-90 outcome known"]


def test_run_refuses_a_bad_key(coded):
    data, _ = coded
    with pytest.raises(ValueError, match="key must map"):
        interim.run(data, {"A": "iloprost", "B": "iloprost"}, freeze=FREEZE)


# ------------------------------------------------------------------ forecast


def _randomised(n_by_site: dict, days: float, now: pd.Timestamp, complete_before: float = 90) -> pd.DataFrame:
    rows = []
    for site, n in n_by_site.items():
        for k in range(n):
            at = now - pd.Timedelta(days=days * (k + 0.5) / n)
            rows.append((site, at, (now - at).days >= complete_before))
    return pd.DataFrame(rows, columns=["site", "randomised_at", "complete"])


def test_forecast_matches_the_gamma_law_when_rates_are_well_known():
    now = pd.Timestamp("2024-01-01T00:00:00Z")
    # 3000 randomised over 1000 days at two sites (3/day), none complete yet: the 200th completion is the
    # 200th of the pending ones (the 200 oldest), which are all known — a deterministic date
    r = _randomised({"RH": 2000, "HGH": 1000}, 1000, now, complete_before=10_000)
    f = interim.forecast_interim(r, now=now, target=200, n_max=5000, sites=("RH", "HGH"))
    assert f.median == f.low == f.high
    # 100 randomised over 100 days at RH, all complete: the 100 missing completions are all future arrivals
    empty = pd.DataFrame({"site": ["RH"] * 100, "randomised_at": [now - pd.Timedelta(days=100)] * 100,
                          "complete": [True] * 100})
    f = interim.forecast_interim(empty, now=now, target=200, n_max=380, sites=("RH", "HGH"),
                                 start=now - pd.Timedelta(days=100))
    # rate posterior Gamma(100.5, 100) at RH plus Gamma(0.5, 100) at HGH; the 100th arrival after now plus 90 days
    rng = np.random.default_rng(1)
    lam = rng.gamma(100.5, 1 / 100, 200_000) + rng.gamma(0.5, 1 / 100, 200_000)
    t = rng.gamma(100, 1.0, 200_000) / lam + 90
    lo, mid, hi = np.quantile(t, [0.025, 0.5, 0.975])
    day = lambda d: (now + pd.Timedelta(days=float(d))).floor("D")  # noqa: E731
    assert abs((f.median - day(mid)).days) <= 2
    assert abs((f.low - day(lo)).days) <= 3 and abs((f.high - day(hi)).days) <= 6


def test_forecast_edges():
    now = pd.Timestamp("2024-01-01T00:00:00Z")
    done = _randomised({"RH": 250}, 400, now)
    assert interim.forecast_interim(done, now=now, target=200, n_max=380, sites=("RH",)).reached is False
    many = pd.DataFrame({"site": ["RH"] * 210, "randomised_at": [now - pd.Timedelta(days=200)] * 210,
                         "complete": [True] * 210})
    assert interim.forecast_interim(many, now=now, target=200, n_max=380, sites=("RH",)).reached is True
    none = pd.DataFrame({"site": [], "randomised_at": pd.to_datetime([], utc=True), "complete": []})
    f = interim.forecast_interim(none, now=now, target=200, n_max=380, sites=("RH",))
    assert f.median is None and not f.reached
    # recruitment capped at n_max: 10 randomised, n_max 12, target 200 is out of reach
    few = _randomised({"RH": 10}, 50, now)
    with pytest.raises(ValueError, match="target"):
        interim.forecast_interim(few, now=now, target=200, n_max=12, sites=("RH",))
    f = interim.forecast_interim(few, now=now, target=12, n_max=12, sites=("RH",))
    assert f.median is not None and f.median > now + pd.Timedelta(days=89)
    same = interim.forecast_interim(few, now=now, target=12, n_max=12, sites=("RH",))
    assert same == f


def test_emergency_unblindings_are_listed_by_group_in_the_closed_report_only(coded, report, tmp_path):
    data, key = coded
    p = data["participants"].iloc[[3, 10]]
    unblindings = pd.DataFrame({"participant_id": p["participant_id"].to_numpy(),
                                "at": (p["randomised_at"] + pd.Timedelta(hours=30)).to_numpy()})
    with_them = interim.run(data, key, freeze=FREEZE, unblindings=unblindings)
    listed = with_them.tables_closed["emergency_unblindings"]
    assert listed["participant_id"].tolist() == sorted(p["participant_id"], key=lambda x: (
        p.set_index("participant_id").loc[x, "arm"], x))
    assert listed["study day"].tolist() == [2, 2] and set(listed["group"]) <= {"A", "B"}
    assert report.tables_closed["emergency_unblindings"].empty
    one, two = interim.write(report, tmp_path / "one"), interim.write(with_them, tmp_path / "two")
    assert one["open/report.html"].read_bytes() == two["open/report.html"].read_bytes()


def test_serious_event_listings_by_group_are_in_the_closed_report_only(coded, report, tmp_path):
    data, _ = coded
    listing = report.tables_closed["serious_adverse_events_listing"]
    ae = data["adverse_events"]
    serious = ae[ae["serious"].astype(bool)]
    assert len(listing) == len(serious) > 0
    assert set(listing["group"]) == {"A", "B"}
    arm = data["participants"].set_index("participant_id")["arm"]
    assert (listing["group"] == listing["participant_id"].map(arm)).all()
    assert listing["group"].is_monotonic_increasing
    susars = report.tables_closed["susar_listing"]
    expected_susars = serious[serious["related"].astype(bool) & (serious["expected"].astype("boolean") == False)]  # noqa: E712
    assert len(susars) == len(expected_susars) > 0 and (susars["SUSAR"] == "yes").all()
    by_arm = report.tables_closed["serious_events_by_arm"]
    assert set(by_arm["event"]) == {"sae", "sar", "susar", "prespecified sae"}
    # the open report's generator refuses either listing, and neither reaches the open files
    for name in ("serious_adverse_events_listing", "susar_listing", "serious_events_by_arm"):
        with pytest.raises(interim.ArmTableRefused, match="grouped by arm"):
            interim.pooled_table(report.tables_closed[name], name, groups=("A", "B", "iloprost", "placebo"))
        assert name not in report.tables_open and name not in report.open["tables"]
    paths = interim.write(report, tmp_path)
    opened = paths["open/report.html"].read_text() + paths["open/results.json"].read_text()
    closed = paths["closed/report.html"].read_text()
    assert "Serious adverse events listing" in closed and "Susar listing" in closed
    assert "listing" not in opened.lower() and "susar" not in opened.lower()
    first = listing.iloc[0]
    assert f"<td>{first['participant_id']}</td><td>{first['site']}</td><td>{first['event_id']}</td>" in closed


def test_interim_without_safety_data_says_so_instead_of_zero(coded):
    data, key = coded
    from dataclasses import replace
    from types import MappingProxyType

    tables = {k: v for k, v in data.tables.items() if k != "adverse_events"}
    without = replace(data, tables=MappingProxyType(tables))
    r = interim.run(without, key, freeze=FREEZE)
    pooled = dict(zip(r.tables_open["safety_pooled"]["item"], r.tables_open["safety_pooled"]["count"], strict=True))
    assert pooled["adverse event records"] == interim.NO_SAFETY_DATA
    assert pooled["participants with a serious adverse event within 7 days"] == interim.NO_SAFETY_DATA
    by_arm = r.tables_closed["serious_events_by_arm"]
    assert (by_arm["event"] == interim.NO_SAFETY_DATA).all() and by_arm["participants"].isna().all()
    assert r.tables_closed["serious_adverse_events_listing"].empty


def test_interim_with_participants_without_a_baseline(coded):
    # a missing baseline modified SOFA is imputed by the protocol's rule (the mean of the observed baselines of
    # the analysed participants): the interim runs, its complete-case ANCOVA is the OLS on the filled data and
    # the closed and open reports count those imputed
    from dataclasses import replace
    from types import MappingProxyType

    import statsmodels.formula.api as smf

    from shine.analysis import analyses

    data, key = coded
    p = data["participants"].copy()
    complete = interim.day90_complete(data)
    blank = p.index[p["participant_id"].isin(complete[complete].index)][:3]
    p.loc[blank, ["baseline_sofa_liver", "baseline_sofa_modified"]] = pd.NA
    without = replace(data, tables=MappingProxyType({**data.tables, "participants": p}))
    r = interim.run(without, key, freeze=FREEZE)
    baseline = r.closed["primary"]["baseline_covariate"]
    assert sum(baseline["imputed_per_group"].values()) == 3 and baseline["rule"] == "mean"
    assert "baseline modified SOFA missing for 3 participants" in r.closed["primary"]["method"]
    quality = dict(zip(r.tables_open["data_quality"]["item"], r.tables_open["data_quality"]["count"], strict=True))
    assert quality["participants without a baseline modified SOFA (covariate imputed, rule 'mean')"] == 3
    f = analyses.derive_all(interim.subset(without, complete[complete].index)).frame
    f = f[f["itt"]].copy()
    f["base"] = f["baseline_sofa_modified"].fillna(f["baseline_sofa_modified"].mean())
    fit = smf.ols("mean_sofa ~ treat + C(site) + base", data=f[f["mean_sofa"].notna()]).fit()
    assert r.closed["primary"]["complete_case"]["estimate"] == pytest.approx(fit.params["treat"], abs=1e-10)
    assert r.closed["primary"]["complete_case"]["se"] == pytest.approx(fit.bse["treat"], abs=1e-10)
