"""Safety outcomes of ``shine analyse``: participants with ≥ 1 SAE / SAR / SUSAR / prespecified SAE within the
SAE window by group, the rate ratio of the event counts, the refusal of a data set that captured no safety
data, and SUSARs awaiting the sponsor's expectedness left out rather than counted as none."""

import json
import math
import shutil
import subprocess

import pandas as pd
import pytest
from scipy import stats

from shine.analysis import analyses, cli, methods, report
from shine.analysis.dataset import load
from tests.analysis.conftest import edit_table

needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed (CI installs R)")

# (events_1, n_1, events_0, n_0): sparse, balanced, unbalanced, and the published trial's group sizes
TABLES = [(3, 20, 7, 22), (30, 100, 45, 100), (26, 142, 21, 137), (12, 190, 5, 190), (60, 142, 58, 137)]


def _rscript(code: str) -> object:
    out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_r
def test_effect_measures_match_r_glm_fisher_and_chisq():
    # Reference: R 4.x stats. Risk ratio = exp(coef) of glm(binomial(link = "log")) on the 0/1 outcome, its
    # Wald CI = exp(coef ± 1.959964 SE) (= Katz); rate ratio = glm(poisson) on per-participant counts with the
    # group as the only covariate (MLE = ratio of rates, Wald SE √(1/e₁ + 1/e₀)); P from fisher.test and
    # chisq.test(correct = FALSE). Tolerance 1e-6 relative (R's glm run with epsilon 1e-14: at the default
    # 1e-8 its SE differs from the closed form by ~1e-5).
    rows = ",".join(f"c({a},{n1},{b},{n0})" for a, n1, b, n0 in TABLES)
    code = f"""
    suppressMessages(library(jsonlite)); out <- list()
    for (t in list({rows})) {{
      a <- t[1]; n1 <- t[2]; b <- t[3]; n0 <- t[4]
      y <- c(rep(1, a), rep(0, n1 - a), rep(1, b), rep(0, n0 - b)); g <- c(rep(1, n1), rep(0, n0))
      lb <- glm(y ~ g, family = binomial(link = "log"), control = glm.control(epsilon = 1e-14, maxit = 100))
      se <- sqrt(vcov(lb)[2, 2])
      k <- c(rep(1, a), rep(0, n1 - a), rep(1, b), rep(0, n0 - b))  # counts: one event each, here
      k[1] <- k[1] + 1; k[n1 + 1] <- k[n1 + 1] + 2                  # and a few participants with more
      ps <- glm(k ~ g, family = poisson, control = glm.control(epsilon = 1e-14, maxit = 100))
      sp <- sqrt(vcov(ps)[2, 2])
      m <- matrix(c(a, n1 - a, b, n0 - b), 2, byrow = TRUE)
      out[[length(out) + 1]] <- list(rr = exp(coef(lb)[2]), lo = exp(coef(lb)[2] - qnorm(.975) * se),
        hi = exp(coef(lb)[2] + qnorm(.975) * se), rate = exp(coef(ps)[2]),
        rate_lo = exp(coef(ps)[2] - qnorm(.975) * sp),
        rate_hi = exp(coef(ps)[2] + qnorm(.975) * sp), fisher = fisher.test(m)$p.value,
        chisq = chisq.test(m, correct = FALSE)$p.value)
    }}
    cat(toJSON(out, digits = NA, auto_unbox = TRUE))
    """
    for (a, n1, b, n0), r in zip(TABLES, _rscript(code), strict=True):
        rr = methods.crude_risk_ratio(a, n1, b, n0)
        assert (rr.estimate, rr.ci_low, rr.ci_high) == pytest.approx((r["rr"], r["lo"], r["hi"]), rel=1e-6)
        rate = methods.rate_ratio(a + 1, n1, b + 2, n0)
        assert (rate.estimate, rate.ci_low, rate.ci_high) == pytest.approx(
            (r["rate"], r["rate_lo"], r["rate_hi"]), rel=1e-6)
        p, test = methods.two_by_two_test(a, n1, b, n0)
        assert p == pytest.approx(r["fisher"] if test == "Fisher's exact test" else r["chisq"], rel=1e-6)


def test_published_prespecified_sae_p_value_is_reproduced():
    # PROTOCOL.md published results: ≥ 1 prespecified SAE within 7 days 18 % (iloprost, 142 analysed) vs
    # 15 % (placebo, 136 analysed), P = 0.52. Of the counts that round to those percentages (25–26 of 142,
    # 20–21 of 136) only 26/142 vs 21/136 gives P = 0.52 (Pearson χ², 0.5235); tolerance half a unit in
    # the published last digit.
    p, test = methods.two_by_two_test(26, 142, 21, 136)
    assert test == "Pearson χ² test"
    assert p == pytest.approx(0.52, abs=0.005)


def test_rate_ratio_zero_count_and_refusals():
    est = methods.rate_ratio(0, 10, 4, 10)
    assert "0.5 added" in est.method and est.estimate == pytest.approx(0.5 / 4.5)
    assert est.se == pytest.approx(math.sqrt(1 / 0.5 + 1 / 4.5))
    with pytest.raises(ValueError, match="events_0"):
        methods.rate_ratio(1, 10, -1, 10)
    with pytest.raises(ValueError, match="participant"):
        methods.rate_ratio(1, 0, 1, 10)


@needs_r
def test_safety_analysis_on_a_data_set_matches_r_on_its_participants(small_dataset, tmp_path):
    # The whole chain (window, seriousness, relatedness, safety population, per-group counts) against R fits on
    # the per-participant frame the analysis derives; tolerances as above (1e-6 relative).
    derived = analyses.derive_all(load(small_dataset))
    frame = derived.frame[derived.frame["safety"]]
    path = tmp_path / "participants.csv"
    frame.assign(any_sae=frame["any_sae"].astype(int))[["treat", "sae", "any_sae"]].to_csv(path, index=False)
    r = _rscript(f"""
    suppressMessages(library(jsonlite)); d <- read.csv("{path}")
    ps <- glm(sae ~ treat, family = poisson, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
    cat(toJSON(list(rate = exp(coef(ps)[2]), se = sqrt(vcov(ps)[2, 2]), n1 = sum(d$treat),
                    with1 = sum(d$any_sae[d$treat == 1]),
                    e1 = sum(d$sae[d$treat == 1]), e0 = sum(d$sae[d$treat == 0])), digits = NA, auto_unbox = TRUE))
    """)
    result = analyses.safety_analysis(derived, "sae")
    g1, g0 = derived.groups
    assert (result.n[g1], result.participants_with_event[g1]) == (r["n1"], r["with1"])
    assert (result.events[g1], result.events[g0]) == (r["e1"], r["e0"])
    if min(r["e1"], r["e0"]) > 0:  # R has no continuity correction
        assert result.rate_ratio.estimate == pytest.approx(r["rate"], rel=1e-6)
        assert result.rate_ratio.se == pytest.approx(r["se"], rel=1e-6)


def _hand_events(frame: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=frame.columns)


def test_susar_counts_only_the_sponsor_s_unexpected_and_leaves_unassessed_sars_out(editable):
    data = load(editable)
    p = data["participants"].sort_values("participant_id")
    safety = analyses.derive_all(data).frame.set_index("participant_id")["safety"]
    first, second, third = [pid for pid in p["participant_id"] if safety[pid]][:3]
    onset = {pid: (p.set_index("participant_id").at[pid, "randomised_at"] + pd.Timedelta(hours=30))
             .strftime("%Y-%m-%dT%H:%M:%SZ") for pid in (first, second, third)}

    def rows(frame):
        extra = [  # a SUSAR; a SAR not yet assessed for expectedness; an expected SAR
            dict(participant_id=first, event_id="X-1", onset_at=onset[first], term="anaphylaxis", prespecified="",
                 serious="true", related="true", expected="false"),
            dict(participant_id=second, event_id="X-2", onset_at=onset[second], term="rash", prespecified="",
                 serious="true", related="true", expected=""),
            dict(participant_id=third, event_id="X-3", onset_at=onset[third], term="flushing", prespecified="",
                 serious="true", related="true", expected="true"),
        ]
        gone = frame["participant_id"].isin([first, second, third])
        return pd.concat([frame[~gone], _hand_events(frame, extra)], ignore_index=True)

    edit_table(editable, "adverse_events", rows)
    data = load(editable)
    f = analyses.derive_all(data).frame.set_index("participant_id")
    assert (f.at[first, "susar"], bool(f.at[first, "any_susar"])) == (1, True)
    assert f.at[second, "sar"] == 1 and f.at[second, "sar_expectedness_unknown"] == 1
    assert pd.isna(f.at[second, "any_susar"])  # unknown, not "no SUSAR"
    assert f.at[third, "sar"] == 1 and not f.at[third, "any_susar"]
    result = analyses.safety_analysis(data, "susar")
    assert sum(result.unknown.values()) == 1
    assert sum(result.n.values()) == int(f["safety"].sum()) - 1
    assert sum(result.participants_with_event.values()) == int((f["any_susar"].fillna(False) & f["safety"]).sum())
    out = report.run(data)
    assert any("not yet assessed for expectedness" in w for w in out.results["safety"]["susar"]["warnings"])


def test_a_data_set_without_adverse_events_is_refused_not_reported_as_zero(editable, tmp_path, capsys):
    (editable / "adverse_events.csv").unlink()
    manifest = json.loads((editable / "dataset.json").read_text())
    del manifest["tables"]["adverse_events"]
    (editable / "dataset.json").write_text(json.dumps(manifest))
    data = load(editable)  # the rest of the data set is still valid and analysable
    assert not data.has("adverse_events")
    with pytest.raises(methods.NotEstimable, match="no safety data were captured"):
        analyses.safety_analysis(data, "sae")
    f = analyses.derive_all(data).frame
    assert f["sae"].isna().all() and f["any_sae"].isna().all()  # missing, never zero
    out = tmp_path / "report"
    assert cli.main([str(editable), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "safety outcomes not reported: no safety data were captured" in printed
    results = json.loads((out / "results.json").read_text())
    for kind in analyses.SAFETY_KINDS:
        assert results["safety"][kind]["not_estimable"] == analyses.NO_SAFETY_DATA
        assert "events" not in results["safety"][kind]
    outcomes = pd.read_csv(out / "outcomes.csv")
    safety_rows = outcomes[outcomes["population"] == "safety"]
    assert len(safety_rows) == 4 and safety_rows["estimate"].isna().all()


def test_a_data_set_listing_adverse_events_without_its_file_is_refused(editable):
    # the manifest says the table was captured: its file missing is a broken data set, not "no safety data"
    (editable / "adverse_events.csv").unlink()
    from shine.analysis.dataset import DatasetError
    with pytest.raises(DatasetError, match="adverse_events"):
        load(editable)


def test_chi_square_reference_is_scipy_free_closed_form():
    # Pearson χ² (1 df) closed form for the published table: n(ad − bc)² / (r₁ r₂ c₁ c₂)
    a, b, c, d = 26, 142 - 26, 21, 136 - 21
    n = a + b + c + d
    chi2 = n * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
    p, _ = methods.two_by_two_test(26, 142, 21, 136)
    assert p == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-12)
