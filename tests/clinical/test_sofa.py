"""SOFA: both sides of every threshold (PROTOCOL.md's table, Vincent 1996), properties, bad input."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shine.clinical.sofa import COMPONENTS, LIMITS, SofaScore, sofa, sofa_arrays, sofa_frame

# (input keyword, value, component, expected score); other inputs missing.
THRESHOLDS = [
    # respiration with respiratory support: < 400, < 300, < 200, < 100
    ("pao2_fio2", 400, "respiration", 0), ("pao2_fio2", 399.9, "respiration", 1),
    ("pao2_fio2", 300, "respiration", 1), ("pao2_fio2", 299.9, "respiration", 2),
    ("pao2_fio2", 200, "respiration", 2), ("pao2_fio2", 199.9, "respiration", 3),
    ("pao2_fio2", 100, "respiration", 3), ("pao2_fio2", 99.9, "respiration", 4),
    ("pao2_fio2", 0, "respiration", 4), ("pao2_fio2", 800, "respiration", 0),
    # coagulation: < 150, < 100, < 50, < 20
    ("platelets", 150, "coagulation", 0), ("platelets", 149.9, "coagulation", 1),
    ("platelets", 100, "coagulation", 1), ("platelets", 99.9, "coagulation", 2),
    ("platelets", 50, "coagulation", 2), ("platelets", 49.9, "coagulation", 3),
    ("platelets", 20, "coagulation", 3), ("platelets", 19.9, "coagulation", 4),
    ("platelets", 0, "coagulation", 4), ("platelets", 2000, "coagulation", 0),
    # liver: < 20, 20–32, 33–101, 102–204, > 204 (integer ranges, upper ends inclusive)
    ("bilirubin", 19.9, "liver", 0), ("bilirubin", 20, "liver", 1),
    ("bilirubin", 32, "liver", 1), ("bilirubin", 32.5, "liver", 2),
    ("bilirubin", 33, "liver", 2), ("bilirubin", 101, "liver", 2), ("bilirubin", 101.5, "liver", 3),
    ("bilirubin", 102, "liver", 3), ("bilirubin", 204, "liver", 3), ("bilirubin", 204.5, "liver", 4),
    ("bilirubin", 0, "liver", 0), ("bilirubin", 1000, "liver", 4),
    # cardiovascular: MAP < 70
    ("map_mmhg", 70, "cardiovascular", 0), ("map_mmhg", 69.9, "cardiovascular", 1),
    ("map_mmhg", 0, "cardiovascular", 1), ("map_mmhg", 300, "cardiovascular", 0),
    # CNS: 15, 13–14, 10–12, 6–9, < 6
    ("gcs", 15, "cns", 0), ("gcs", 14, "cns", 1), ("gcs", 13, "cns", 1), ("gcs", 12, "cns", 2),
    ("gcs", 10, "cns", 2), ("gcs", 9, "cns", 3), ("gcs", 6, "cns", 3), ("gcs", 5, "cns", 4),
    ("gcs", 3, "cns", 4),
    # renal, creatinine: < 110, 110–170, 171–299, 300–440, > 440
    ("creatinine", 109.9, "renal", 0), ("creatinine", 110, "renal", 1),
    ("creatinine", 170, "renal", 1), ("creatinine", 170.5, "renal", 2),
    ("creatinine", 171, "renal", 2), ("creatinine", 299, "renal", 2), ("creatinine", 299.5, "renal", 3),
    ("creatinine", 300, "renal", 3), ("creatinine", 440, "renal", 3), ("creatinine", 440.5, "renal", 4),
    ("creatinine", 0, "renal", 0), ("creatinine", 3000, "renal", 4),
    # renal, urine output: < 500, < 200 mL/day
    ("urine_output", 500, "renal", 0), ("urine_output", 499, "renal", 3),
    ("urine_output", 200, "renal", 3), ("urine_output", 199, "renal", 4),
    ("urine_output", 0, "renal", 4), ("urine_output", 20000, "renal", 0),
]

# Vasopressors (µg/kg/min) with MAP 80 (scores 0 by itself).
VASOPRESSORS = [
    ({}, 0), ({"dopamine": 0.1}, 2), ({"dopamine": 5.0}, 2), ({"dopamine": 5.01}, 3),
    ({"dopamine": 15.0}, 3), ({"dopamine": 15.01}, 4), ({"dopamine": 50}, 4),
    ({"dobutamine": 0.1}, 2), ({"dobutamine": 50}, 2),
    ({"epinephrine": 0.01}, 3), ({"epinephrine": 0.1}, 3), ({"epinephrine": 0.11}, 4), ({"epinephrine": 5}, 4),
    ({"norepinephrine": 0.01}, 3), ({"norepinephrine": 0.1}, 3), ({"norepinephrine": 0.1001}, 4),
    ({"norepinephrine": 5}, 4),
    ({"dobutamine": 5, "norepinephrine": 0.05}, 3), ({"dopamine": 3, "epinephrine": 0.2}, 4),
]


def _both(**kw):
    """sofa() and the matching element of sofa_arrays(), which must agree."""
    s = sofa(**kw)
    a = sofa_arrays(**{k: np.array([np.nan if v is None else float(v)]) for k, v in kw.items()})
    assert a.row(0) == s
    return s


@pytest.mark.parametrize("field,value,component,expected", THRESHOLDS)
def test_threshold(field, value, component, expected):
    kw = {field: value}
    if component == "respiration":
        kw["respiratory_support"] = True
    s = _both(**kw)
    assert getattr(s, component) == expected
    assert all(getattr(s, c) is None for c in COMPONENTS if c != component)
    # the other components are missing, so neither sum exists: a missing component is never counted 0
    assert s.total is None and s.modified is None


@pytest.mark.parametrize("drugs,expected", VASOPRESSORS)
def test_vasopressor_thresholds(drugs, expected):
    assert _both(map_mmhg=80, **drugs).cardiovascular == expected
    # MAP below 70 never lowers the vasopressor score, and alone scores 1
    assert _both(map_mmhg=60, **drugs).cardiovascular == max(expected, 1)


@pytest.mark.parametrize("drugs,expected", [v for v in VASOPRESSORS if v[0]])
def test_cardiovascular_scored_from_vasopressor_when_map_missing(drugs, expected):
    s = _both(**drugs)
    assert s.cardiovascular == expected and "cardiovascular" not in s.missing


def test_cardiovascular_missing_without_map_or_vasopressor():
    s = _both(dopamine=0, norepinephrine=0)
    assert s.cardiovascular is None and "cardiovascular" in s.missing


@pytest.mark.parametrize("pf,expected", [(400, 0), (399, 1), (299, 2), (199, 2), (99, 2), (0, 2)])
def test_respiration_capped_at_2_without_support(pf, expected):
    assert _both(pao2_fio2=pf, respiratory_support=False).respiration == expected
    assert sofa(pao2_fio2=pf).respiration == expected  # support defaults to False


def test_respiration_missing_without_pf_even_with_support():
    assert _both(respiratory_support=True).respiration is None


@pytest.mark.parametrize("creatinine,urine,expected", [
    (100, 600, 0), (100, 499, 3), (500, 600, 4), (200, 150, 4), (350, 400, 3), (200, None, 2),
    (None, 150, 4), (None, None, None),
])
def test_renal_is_worse_of_creatinine_and_urine(creatinine, urine, expected):
    assert _both(creatinine=creatinine, urine_output=urine).renal == expected


def test_issue_example():
    s = sofa(pao2_fio2=180, respiratory_support=True, platelets=90, bilirubin=40, map_mmhg=68,
             norepinephrine=0.15, gcs=None, creatinine=200, urine_output=None)
    assert (s.respiration, s.coagulation, s.liver, s.cardiovascular, s.cns, s.renal) == (3, 2, 2, 4, None, 2)
    assert (s.total, s.modified, s.missing) == (None, 13, ("cns",))  # GCS missing: no total, modified known
    assert "SOFA –/24, modified 13/20" in s.summary() and "missing: cns" in s.summary()


def test_all_missing_scores_nothing():
    s = sofa()
    assert s.total is None and s.modified is None and s.missing == COMPONENTS


def test_one_missing_component_leaves_modified_missing():
    s = sofa(pao2_fio2=450, platelets=200, bilirubin=10, map_mmhg=80, creatinine=80)
    assert s.modified == 0
    s = sofa(pao2_fio2=450, platelets=200, map_mmhg=80, creatinine=80)
    assert s.liver is None and s.modified is None and s.total is None


def test_unknown_dose_is_not_zero():
    # MAP 80 alone scores 0 only when no drug is given; an unknown noradrenaline dose could score 4
    assert sofa(map_mmhg=80).cardiovascular == 0
    assert sofa(map_mmhg=80, norepinephrine=None).cardiovascular is None
    # ... unless the known inputs already give the highest score
    assert sofa(map_mmhg=80, epinephrine=0.2, norepinephrine=None).cardiovascular == 4
    # dobutamine can score at most 2: unknown dobutamine leaves a 3 determined
    assert sofa(map_mmhg=80, norepinephrine=0.05, dobutamine=None).cardiovascular == 3
    a = sofa_arrays(map_mmhg=[80, 80, 80], norepinephrine=[0.0, np.nan, 0.2])
    np.testing.assert_array_equal(a.cardiovascular, [0, np.nan, 4])


def test_unknown_support_scores_respiration_only_where_it_cannot_matter():
    assert sofa(pao2_fio2=250, respiratory_support=None).respiration == 2
    assert sofa(pao2_fio2=150, respiratory_support=None).respiration is None
    assert sofa(pao2_fio2=150, respiratory_support=False).respiration == 2
    a = sofa_arrays(pao2_fio2=[250, 150, 150], respiratory_support=[np.nan, np.nan, 1.0])
    np.testing.assert_array_equal(a.respiration, [2, np.nan, 3])


def test_maximum_and_modified():
    s = sofa(pao2_fio2=50, respiratory_support=True, platelets=10, bilirubin=300, map_mmhg=50,
             norepinephrine=1, gcs=3, creatinine=500, urine_output=100)
    assert (s.total, s.modified, s.missing) == (24, 20, ())


def test_result_is_frozen():
    s = sofa(gcs=15)
    with pytest.raises(AttributeError):
        s.total = 3  # type: ignore[misc]
    a = sofa_arrays(gcs=[15, 3])
    with pytest.raises(ValueError):
        a.total[0] = 9


def test_nan_and_pandas_na_mean_missing_in_scalar():
    assert sofa(platelets=float("nan"), norepinephrine=float("nan")).missing == COMPONENTS
    assert sofa(gcs=pd.NA, respiratory_support=pd.NA, pao2_fio2=150).respiration is None  # support unknown
    assert sofa(gcs=pd.NA, respiratory_support=pd.NA, pao2_fio2=250).respiration == 2
    assert sofa(gcs=np.int64(14), pao2_fio2=np.float64(150), respiratory_support=np.bool_(True)).respiration == 3


# ---- arrays -------------------------------------------------------------------------------------------

def test_arrays_accept_pandas_columns_with_missing_values():
    df = pd.DataFrame({
        "pao2_fio2": [180, np.nan, 90, 90],
        "respiratory_support": pd.array([True, None, False, True], dtype="boolean"),
        "platelets": [90, 10, np.nan, 200],
        "gcs": pd.array([15, None, 3, 8], dtype="Int64"),
        "norepinephrine": [0.15, np.nan, 0.0, 0.05],
        "map_mmhg": [np.nan, np.nan, np.nan, 75],
    })
    r = sofa_frame(df)
    np.testing.assert_array_equal(r.respiration, [3, np.nan, 2, 4])
    np.testing.assert_array_equal(r.coagulation, [2, 4, np.nan, 0])
    np.testing.assert_array_equal(r.cardiovascular, [4, np.nan, np.nan, 3])
    np.testing.assert_array_equal(r.cns, [0, np.nan, 4, 3])
    # liver and renal have no inputs in this frame: no day has a total or a modified score
    np.testing.assert_array_equal(r.total, [np.nan] * 4)
    np.testing.assert_array_equal(r.modified, [np.nan] * 4)
    assert r.total.dtype == np.float64 and r.respiration.dtype == np.float64 and len(r) == 4
    full = sofa_frame(df.assign(bilirubin=10.0, creatinine=80.0))
    np.testing.assert_array_equal(full.modified, [9, np.nan, np.nan, 7])
    np.testing.assert_array_equal(full.total, [9, np.nan, np.nan, 10])
    frame = r.to_frame(index=df.index)
    assert frame["cns"].isna().tolist() == [False, True, False, False]
    # float-coded support with NaN (how CSV columns arrive) gives the same answer
    r2 = sofa_arrays(pao2_fio2=df["pao2_fio2"], respiratory_support=np.array([1.0, np.nan, 0.0, 1.0]))
    np.testing.assert_array_equal(r2.respiration, r.respiration)
    r3 = sofa_arrays(pao2_fio2=df["pao2_fio2"], respiratory_support=pd.Series([True, None, False, True], dtype=object))
    np.testing.assert_array_equal(r3.respiration, r.respiration)


def test_arrays_broadcast_scalars():
    r = sofa_arrays(platelets=[10, 200], respiratory_support=True, pao2_fio2=150)
    np.testing.assert_array_equal(r.respiration, [3, 3])
    r = sofa_arrays(platelets=[10, 200], respiratory_support=True, pao2_fio2=150, bilirubin=10, map_mmhg=80,
                    creatinine=80, gcs=15)
    np.testing.assert_array_equal(r.total, [7, 3])


def test_arrays_of_different_lengths_raise():
    with pytest.raises(ValueError, match="same length"):
        sofa_arrays(platelets=[1, 2, 3], gcs=[15, 15])


def test_arrays_empty():
    r = sofa_arrays(platelets=np.array([]))
    assert len(r) == 0 and r.total.shape == (0,)


# ---- bad input ----------------------------------------------------------------------------------------

BAD_VALUES = [(name, lo - 0.5) for name, (lo, hi, _) in LIMITS.items()] + \
             [(name, hi + 0.5) for name, (lo, hi, _) in LIMITS.items()] + \
             [("gcs", 14.5), ("platelets", math.inf), ("creatinine", -math.inf), ("pao2_fio2", 801)]


@pytest.mark.parametrize("field,value", BAD_VALUES)
def test_impossible_value_raises_naming_field_and_range(field, value):
    lo, hi, _ = LIMITS[field]
    with pytest.raises(ValueError, match=rf"{field} must .*between {lo:g} and {hi:g}"):
        sofa(**{field: value})
    with pytest.raises(ValueError, match=rf"{field} must .*between {lo:g} and {hi:g}.*position 1"):
        sofa_arrays(**{field: [np.nan, value, value]})


def test_issue_limits():
    assert LIMITS["pao2_fio2"][1] == 800 and LIMITS["platelets"][1] == 2000 and LIMITS["bilirubin"][1] == 1000
    assert LIMITS["creatinine"][1] == 3000 and LIMITS["gcs"][:2] == (3, 15)
    assert LIMITS["epinephrine"][1] == LIMITS["norepinephrine"][1] == 5
    assert LIMITS["dopamine"][1] == LIMITS["dobutamine"][1] == 50


@pytest.mark.parametrize("value", ["abc", [1, 2], object()])
def test_non_numeric_raises(value):
    with pytest.raises(ValueError, match="platelets must be a number"):
        sofa(platelets=value)


def test_non_numeric_array_raises():
    with pytest.raises(ValueError, match="bilirubin must hold numbers"):
        sofa_arrays(bilirubin=["a", "b"])
    with pytest.raises(ValueError, match="bilirubin must hold numbers"):
        sofa_arrays(bilirubin=pd.Series(["a", "b"]))


@pytest.mark.parametrize("value", [2, 0.5, "yes", -1])
def test_bad_respiratory_support_raises(value):
    with pytest.raises(ValueError, match="respiratory_support must be true, false"):
        sofa(respiratory_support=value)
    if not isinstance(value, str):
        with pytest.raises(ValueError, match="respiratory_support must be true, false"):
            sofa_arrays(respiratory_support=[0, value])


def test_keyword_only():
    with pytest.raises(TypeError):
        sofa(180)  # type: ignore[misc]


# ---- properties ---------------------------------------------------------------------------------------

# Values on and beside the SOFA table's cut-offs, so that generated days exercise the boundaries.
CUTS = [0.1, 5, 15, 20, 32, 33, 50, 70, 100, 101, 102, 110, 150, 170, 171, 200, 204, 299, 300, 400, 440, 500]


def _value(name):
    lo, hi, _ = LIMITS[name]
    if name == "gcs":
        return st.one_of(st.none(), st.integers(3, 15))
    near = sorted({v for c in CUTS for v in (c - 0.01, c, c + 0.01) if lo <= v <= hi} | {lo, hi})
    return st.one_of(st.none(), st.floats(lo, hi), st.sampled_from(near))


day = st.fixed_dictionaries({**{name: _value(name) for name in LIMITS},
                             "respiratory_support": st.one_of(st.none(), st.booleans())})

# Direction in which each input worsens its component.
WORSE_IS_LOWER = {"pao2_fio2", "platelets", "map_mmhg", "gcs", "urine_output"}
COMPONENT_OF = {"pao2_fio2": "respiration", "platelets": "coagulation", "bilirubin": "liver",
                "map_mmhg": "cardiovascular", "dopamine": "cardiovascular", "dobutamine": "cardiovascular",
                "epinephrine": "cardiovascular", "norepinephrine": "cardiovascular", "gcs": "cns",
                "creatinine": "renal", "urine_output": "renal"}


@settings(max_examples=300, deadline=None)
@given(day)
def test_modified_is_total_without_cns(kw):
    s = sofa(**kw)
    parts = [getattr(s, c) for c in ("respiration", "coagulation", "liver", "cardiovascular", "renal")]
    assert s.modified == (None if None in parts else sum(parts))
    assert s.total == (None if s.modified is None or s.cns is None else s.modified + s.cns)
    assert s.modified is None or 0 <= s.modified <= 20


@settings(max_examples=300, deadline=None)
@given(day, st.sampled_from(sorted(COMPONENT_OF)), st.data())
def test_worse_value_never_lowers_component(kw, field, data):
    lo, hi, _ = LIMITS[field]
    if kw[field] is None:
        kw[field] = data.draw(st.floats(lo, hi) if field != "gcs" else st.integers(3, 15))
    x = kw[field]
    if field == "gcs":
        worse = data.draw(st.integers(3, x))
    elif field in WORSE_IS_LOWER:
        worse = data.draw(st.floats(lo, x))
    else:
        worse = data.draw(st.floats(x, hi))
    component = COMPONENT_OF[field]
    before = getattr(sofa(**kw), component)
    after = getattr(sofa(**{**kw, field: worse}), component)
    if after is None and component == "respiration" and kw["respiratory_support"] is None:
        return  # a worse P/F can need the unknown support to be scored: missing, not lower
    # None (not assessable, e.g. no MAP and no drug) ranks below every score
    assert (-1 if after is None else after) >= (-1 if before is None else before)


@settings(max_examples=100, deadline=None)
@given(st.lists(day, min_size=1, max_size=30))
def test_arrays_equal_scalar_element_by_element(days):
    cols = {name: np.array([np.nan if d[name] is None else float(d[name]) for d in days]) for name in days[0]}
    result = sofa_arrays(**cols)
    for i, d in enumerate(days):
        assert result.row(i) == sofa(**d)


def test_row_round_trips_to_score_type():
    assert isinstance(sofa_arrays(gcs=[15]).row(0), SofaScore)
