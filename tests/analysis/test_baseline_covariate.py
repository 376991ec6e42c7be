"""A missing baseline modified SOFA in the ANCOVA (protocol ``[missing_data] baseline_covariate``) on six
hand-computed patients: never 0, replaced by the mean of the observed baselines over both groups (White &
Thompson, Stat Med 2005;24:993-1007), or that mean with a missing-baseline indicator; and reported."""

import tomllib

import pandas as pd
import pytest
import statsmodels.formula.api as smf

from shine import protocol
from shine.analysis import analyses, report
from shine.analysis.dataset import load
from shine.analysis.schema import TABLES, write_dataset

from .test_derive import NORMAL, PLATELETS, infusion, person, visit

R = pd.Timestamp("2021-01-01T00:00:00Z")
D = pd.Timedelta(days=1)
H = pd.Timedelta(hours=1)
# (participant, site, arm, baseline modified SOFA or None, daily modified SOFA on each of ICU days 1-3)
PATIENTS = [("RH-1", "RH", "iloprost", 8, 4), ("RH-2", "RH", "placebo", 6, 2), ("RH-3", "RH", "iloprost", None, 3),
            ("BBH-1", "BBH", "placebo", 10, 3), ("BBH-2", "BBH", "iloprost", 4, 1), ("BBH-3", "BBH", "placebo", 7, 4)]
OBSERVED_MEAN = (8 + 6 + 10 + 4 + 7) / 5  # 7.0: what RH-3's baseline becomes under the "mean" rule


def _baseline(modified):
    """Components summing to ``modified`` (CNS 1, not in the sum); no baseline record: all empty."""
    if modified is None:
        return {f"baseline_sofa_{c}": None for c in ("respiration", "coagulation", "liver", "cardiovascular", "cns",
                                                     "renal")} | {"baseline_sofa_modified": None}
    cv = min(modified, 4)
    rest = modified - cv
    resp, coag = min(rest, 4), max(0, rest - 4)
    return dict(baseline_sofa_respiration=resp, baseline_sofa_coagulation=coag, baseline_sofa_liver=0,
                baseline_sofa_cardiovascular=cv, baseline_sofa_cns=1, baseline_sofa_renal=0,
                baseline_sofa_modified=modified)


@pytest.fixture(scope="module")
def six(tmp_path_factory):
    people, daily, stays, infusions, visits = [], [], [], [], []
    for i, (pid, site, arm, base, score) in enumerate(PATIENTS):
        r = R + i * D
        people.append({**person(pid, r, arm, i + 1), "site": site, **_baseline(base)})
        daily += [dict(participant_id=pid, study_day=d, **NORMAL, platelets=PLATELETS[score], vasopressor=False)
                  for d in (1, 2, 3)]
        stays.append(dict(participant_id=pid, stay=1, admitted_at=r - H, discharged_at=r + 2.5 * D,
                          discharge="discharged"))
        infusions.append(infusion(pid, r, 72))
        visits += [visit(pid, r, 28, "alive"), visit(pid, r, 90, "alive")]
    frames = {"participants": pd.DataFrame(people), "daily": pd.DataFrame(daily), "icu_stays": pd.DataFrame(stays),
              "deaths": pd.DataFrame(columns=TABLES["deaths"].column_names), "infusion": pd.DataFrame(infusions),
              "adverse_events": pd.DataFrame(columns=TABLES["adverse_events"].column_names),
              "followup": pd.DataFrame(visits), "deviations": pd.DataFrame(columns=TABLES["deviations"].column_names)}
    frames = {name: f.reindex(columns=TABLES[name].column_names) for name, f in frames.items()}
    return load(write_dataset(frames, tmp_path_factory.mktemp("six"), blinded=False, source="export",
                              data_cutoff="2021-12-31T00:00:00Z", parquet=False))


def _hand_frame(indicator=False):
    f = pd.DataFrame([dict(y=float(score), treat=int(arm == "iloprost"), site=site,
                           base=OBSERVED_MEAN if base is None else float(base), missing=int(base is None))
                      for _, site, arm, base, score in PATIENTS])
    return smf.ols("y ~ treat + C(site) + base" + (" + missing" if indicator else ""), data=f).fit()


def test_the_export_contract_keeps_the_missing_baseline_missing(six):
    p = six["participants"].set_index("participant_id")
    assert pd.isna(p.at["RH-3", "baseline_sofa_modified"]) and p.at["RH-1", "baseline_sofa_modified"] == 8


def test_primary_adjusts_with_the_mean_of_the_observed_baselines(six):
    r = analyses.primary_analysis(six)
    fit = _hand_frame()  # statsmodels OLS on the hand-imputed data: RH-3's baseline = 7.0
    assert r.population == "per_protocol" and sum(r.n_per_arm.values()) == 6 and r.missing_fraction == 0
    assert r.difference == pytest.approx(fit.params["treat"], abs=1e-10)
    assert r.estimate.se == pytest.approx(fit.bse["treat"], abs=1e-10)
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(fit.conf_int().loc["treat"]), abs=1e-10)
    assert r.baseline.imputed == {"iloprost": 1, "placebo": 0} and r.baseline.observed_mean == OBSERVED_MEAN
    assert "baseline modified SOFA missing for 1 participant: replaced by the mean of the observed baselines " \
           "over both groups (7.00; rule 'mean')" in r.method


def test_never_zero(six):
    # imputing 0 (the export's old value) would give another estimate: the rule is not a disguised zero
    f = pd.DataFrame([dict(y=float(s), treat=int(a == "iloprost"), site=si, base=float(b or 0))
                      for _, si, a, b, s in PATIENTS])
    zero = smf.ols("y ~ treat + C(site) + base", data=f).fit().params["treat"]
    assert abs(analyses.primary_analysis(six).difference - zero) > 0.01


def test_missing_indicator_rule(six, tmp_path, monkeypatch):
    text = protocol.DEFAULT_FILE.read_text().replace('baseline_covariate = "mean"',
                                                     'baseline_covariate = "missing_indicator"')
    (tmp_path / "protocol.toml").write_text(text)
    monkeypatch.setenv("SHINE_PROTOCOL_FILE", str(tmp_path / "protocol.toml"))
    r = analyses.primary_analysis(six)
    fit = _hand_frame(indicator=True)
    assert r.difference == pytest.approx(fit.params["treat"], abs=1e-10)
    assert r.estimate.se == pytest.approx(fit.bse["treat"], abs=1e-10)
    assert "missing-baseline indicator" in r.method and r.baseline.rule == "missing_indicator"


def test_protocol_refuses_an_unknown_rule():
    data = tomllib.loads(protocol.DEFAULT_FILE.read_text())
    data["missing_data"]["baseline_covariate"] = "zero"
    with pytest.raises(ValueError, match="missing_data.baseline_covariate must be one of mean, missing_indicator, "
                                         "got 'zero'"):
        protocol.parse(data)
    assert protocol.load().missing_data.baseline_covariate == "mean"


def test_the_report_names_the_rule_and_the_count(six):
    rep = report.run(six)
    b = rep.results["primary"]["baseline_covariate"]
    assert (b["rule"], b["imputed"], b["imputed_per_arm"], b["observed_mean"]) == \
        ("mean", 1, {"iloprost": 1, "placebo": 0}, 7.0)
    assert rep.results["settings"]["baseline_covariate"] == "mean"
    quality = dict(zip(rep.tables["data_quality"]["item"], rep.tables["data_quality"]["count"], strict=True))
    assert quality["participants without a baseline modified SOFA (covariate imputed, rule 'mean')"] == 1
    table1 = rep.tables["table1"].set_index("characteristic")
    assert table1.at["baseline modified SOFA missing, n (%)", "all"] == "1 (17 %)"
    html = report.html_report(rep, report.figures(rep))
    assert "Baseline covariate: baseline modified SOFA missing for 1 participant" in html
