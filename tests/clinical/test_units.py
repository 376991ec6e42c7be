"""Unit conversions (factors from PROTOCOL.md: 1 kPa = 7.50062 mmHg, bilirubin 17.1, creatinine 88.4)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shine.clinical import units


def test_factors():
    assert units.kpa_to_mmhg(1) == pytest.approx(7.50062)
    assert units.kpa_to_mmhg(13.3) == pytest.approx(99.758, abs=1e-3)
    assert units.bilirubin_mg_dl_to_umol_l(1.2) == pytest.approx(20.52)
    assert units.creatinine_mg_dl_to_umol_l(2.0) == pytest.approx(176.8)
    assert units.to_platform_unit("platelets", 90, "10^3/uL") == 90


@pytest.mark.parametrize("fio2,unit,expected", [
    (0.21, None, 0.21), (1.0, None, 1.0), (21, None, 0.21), (100, None, 1.0), (40, None, 0.4),
    (0.5, "fraction", 0.5), (50, "percent", 0.5),
])
def test_fio2_fraction(fio2, unit, expected):
    assert units.fio2_fraction(fio2, unit) == pytest.approx(expected)


@pytest.mark.parametrize("fio2,unit,match", [
    (5, None, "fraction .* or a percentage"), (1.5, None, "fraction .* or a percentage"),
    (0.1, None, "between 0.21 and 1.0"), (101, None, "between 0.21 and 1.0"), (50, "fraction", "between 0.21"),
    (0.5, "percent", "between 0.21"), (0.5, "per mille", "unit must be"), ("x", None, "fio2 must be a number"),
    (math.inf, None, "fio2 must"),
])
def test_fio2_fraction_rejects(fio2, unit, match):
    with pytest.raises(ValueError, match=match):
        units.fio2_fraction(fio2, unit)


def test_pf_ratio_in_either_unit():
    assert units.pf_ratio(75, 0.5) == pytest.approx(150)
    assert units.pf_ratio(75, 50) == pytest.approx(150)
    assert units.pf_ratio(10, 0.5, pao2_unit="kPa") == pytest.approx(150.0124)
    got = units.pf_ratio(np.array([75, np.nan, 60]), np.array([0.5, 0.4, np.nan]))
    np.testing.assert_allclose(got, [150, np.nan, np.nan])


@pytest.mark.parametrize("call,match", [
    (lambda: units.pf_ratio(-1, 0.5), "pao2 must be 0 or more"),
    (lambda: units.pf_ratio(10, 0.5, pao2_unit="Pa"), "pao2 unit must be one of mmHg, kPa"),
    (lambda: units.to_platform_unit("glucose", 1, "mg/dL"), "quantity must be one of"),
    (lambda: units.bilirubin_mg_dl_to_umol_l(-0.1), "bilirubin must be 0 or more"),
    (lambda: units.creatinine_mg_dl_to_umol_l("high"), "creatinine must be a number"),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_arrays_in_arrays_out():
    got = units.creatinine_mg_dl_to_umol_l(np.array([1.0, np.nan]))
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, [88.4, np.nan])
    assert isinstance(units.kpa_to_mmhg(1), float)


values = st.floats(0, 1e4, allow_nan=False)


@settings(deadline=None)
@given(values)
def test_round_trips(x):
    assert units.mmhg_to_kpa(units.kpa_to_mmhg(x)) == pytest.approx(x, rel=1e-12, abs=1e-12)
    assert units.bilirubin_umol_l_to_mg_dl(units.bilirubin_mg_dl_to_umol_l(x)) == pytest.approx(x, rel=1e-12,
                                                                                                 abs=1e-12)
    assert units.creatinine_umol_l_to_mg_dl(units.creatinine_mg_dl_to_umol_l(x)) == pytest.approx(x, rel=1e-12,
                                                                                                   abs=1e-12)


@settings(deadline=None)
@given(st.floats(0.21, 1.0))
def test_fio2_fraction_and_percent_agree(frac):
    assert units.fio2_fraction(frac * 100) == pytest.approx(frac)
    assert units.fio2_fraction(frac) == frac


@settings(deadline=None)
@given(st.floats(1, 80), st.floats(0.21, 1.0))
def test_pf_ratio_same_in_kpa_and_mmhg(pao2_kpa, fio2):
    mmhg = units.kpa_to_mmhg(pao2_kpa)
    assert units.pf_ratio(pao2_kpa, fio2, pao2_unit="kPa") == pytest.approx(units.pf_ratio(mmhg, fio2 * 100))


@pytest.mark.parametrize("call,match", [
    (lambda: units.to_platform_unit("bilirubin", 1e308, "mg/dL"), "bilirubin is too large to convert"),
    (lambda: units.pf_ratio(1e308, 0.5, pao2_unit="kPa"), "pao2 is too large to convert"),
    (lambda: units.to_platform_unit("pressure", math.inf, "kPa"), "pressure must be a finite number"),
    (lambda: units.creatinine_umol_l_to_mg_dl([1.0, -math.inf]), "creatinine must be a finite number"),
])
def test_values_beyond_floating_point_are_refused_without_a_warning(call, match):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the overflow is caught before numpy warns
        with pytest.raises(ValueError, match=match):
            call()
    assert math.isnan(units.pf_ratio(math.nan, 0.5))  # NaN still means missing


def test_plausibility_table_suggests_the_unit_typed():
    from shine.clinical.units import PLAUSIBLE, plausibility

    assert plausibility("pressure", 75, "kPa") == ("soft", "mmHg")   # 562 mmHg: surely mmHg
    assert plausibility("pressure", 75, "mmHg") == ("ok", None)
    assert plausibility("pressure", 10, "kPa") == ("ok", None)
    assert plausibility("bilirubin", 1.4, "umol/L") == ("soft", "mg/dL")
    assert plausibility("creatinine", 1.2, "umol/L") == ("hard", "mg/dL")  # impossible in µmol/L
    assert plausibility("creatinine", 1.2, "mg/dL") == ("ok", None)
    assert plausibility("bilirubin", 900, "umol/L") == ("soft", None)
    # the upper limits of the two units of each quantity convert into each other (1 % rounding)
    for quantity, table in PLAUSIBLE.items():
        platform, other = list(table)
        factor = units.to_platform_unit(quantity, 1.0, other)
        for i in (1, 3):
            assert table[platform][i] == pytest.approx(table[other][i] * factor, rel=0.01), (quantity, i)
