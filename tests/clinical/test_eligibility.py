"""Eligibility rules of PROTOCOL.md, with thresholds from the protocol module."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shine import protocol
from shine.clinical.eligibility import CRITERIA, EXCLUSION, INCLUSION, assess

T0 = datetime(2021, 3, 4, 8, 0, tzinfo=UTC)
ELIGIBLE = dict(
    age=69, in_icu=True, infection=True, vasopressor=True, lactate_mmol_l=4.1, stm_ng_ml=14.0,
    shock_diagnosed_at=T0, screened_at=T0 + timedelta(hours=6), sex="M",
    withdrawal_from_active_therapy=False, hypersensitivity=False, life_threatening_bleeding=False,
    severe_heart_failure=False, acute_coronary_syndrome=False, previously_included=False,
    consent_unobtainable=False, other_prostacyclin_trial=False,
)
EXCLUSION_FACT = {
    "withdrawal": "withdrawal_from_active_therapy", "hypersensitivity": "hypersensitivity",
    "bleeding": "life_threatening_bleeding", "heart_failure": "severe_heart_failure",
    "acs": "acute_coronary_syndrome", "previously_included": "previously_included",
    "consent_unobtainable": "consent_unobtainable", "prostacyclin_trial": "other_prostacyclin_trial",
}


def with_(**changes):
    return assess(**{**ELIGIBLE, **changes})


def test_eligible_patient():
    a = assess(**ELIGIBLE)
    assert (a.eligible, a.failed, a.missing) == (True, (), ())
    assert a.screening_outcome == "eligible" and a.summary() == "eligible" and a.reasons == ""


def test_criterion_codes_are_stable():
    # the screening log stores these codes: renaming one breaks old logs
    assert tuple(INCLUSION) == ("age", "icu", "infection", "vasopressor", "lactate", "stm")
    assert tuple(EXCLUSION) == ("time_window", "withdrawal", "pregnancy", "hypersensitivity", "bleeding",
                                "heart_failure", "acs", "previously_included", "consent_unobtainable",
                                "prostacyclin_trial")
    assert set(CRITERIA) == set(INCLUSION) | set(EXCLUSION)


@pytest.mark.parametrize("changes,code", [
    (dict(age=17), "age"), (dict(age=17.9), "age"),
    (dict(in_icu=False), "icu"), (dict(infection=False), "infection"), (dict(vasopressor=False), "vasopressor"),
    (dict(lactate_mmol_l=2.0), "lactate"), (dict(lactate_mmol_l=1.2), "lactate"),
    (dict(stm_ng_ml=10.0), "stm"), (dict(stm_ng_ml=3), "stm"),
    (dict(screened_at=T0 + timedelta(hours=12, seconds=1)), "time_window"),
    (dict(shock_diagnosed_at=None, screened_at=None, hours_since_shock=12.5), "time_window"),
    (dict(sex="F", age=40, pregnant=True), "pregnancy"),
    *((({EXCLUSION_FACT[c]: True}), c) for c in EXCLUSION_FACT),
])
def test_each_failed_criterion(changes, code):
    a = with_(**changes)
    assert a.eligible is False and a.codes == (code,) and a.missing == ()
    assert a.screening_outcome == "not_eligible" and a.reasons == code
    assert a.failed[0].reason in a.summary()


@pytest.mark.parametrize("changes", [
    dict(age=18), dict(lactate_mmol_l=2.01), dict(stm_ng_ml=10.01),
    dict(screened_at=T0 + timedelta(hours=12)), dict(screened_at=T0),
    dict(shock_diagnosed_at=None, screened_at=None, hours_since_shock=12),
])
def test_boundaries_that_pass(changes):
    assert with_(**changes).eligible is True


def test_reasons_name_the_thresholds():
    assert with_(lactate_mmol_l=2.0).failed[0].reason == "lactate 2 mmol/L is not above 2 mmol/L"
    assert "12.5 h since the septic shock diagnosis, more than 12 h" in with_(
        screened_at=T0 + timedelta(hours=12.5)).summary()
    assert "within 90 days" in with_(other_prostacyclin_trial=True).failed[0].reason


def test_several_failures_in_criteria_order():
    a = with_(age=16, stm_ng_ml=2, life_threatening_bleeding=True, lactate_mmol_l=None)
    assert a.eligible is False
    assert a.codes == ("age", "stm", "bleeding")
    assert a.missing == ("lactate_mmol_l",)  # still reported, but a known failure decides
    assert a.reasons == "age;stm;bleeding"


@pytest.mark.parametrize("fact", [k for k in ELIGIBLE if k not in ("sex",)])
def test_unknown_fact_makes_not_assessable_never_ineligible(fact):
    a = with_(**{fact: None})
    assert a.eligible is None and a.failed == ()
    assert fact in a.missing
    assert a.screening_outcome == "not_assessable" and f"missing:{fact}" in a.reasons


def test_nothing_known():
    a = assess()
    assert a.eligible is None and "age" in a.missing and "pregnant" in a.missing
    assert a.summary().startswith("not yet assessable: unknown age")


@pytest.mark.parametrize("sex,age,pregnant,eligible,missing", [
    ("M", 30, None, True, ()),
    ("M", 30, False, True, ()),
    ("F", 60, None, True, ()),
    ("F", 59, None, None, ("pregnant",)),
    ("F", 59, False, True, ()),
    ("F", 40, True, False, ()),
    ("F", 65, True, False, ()),  # a positive test decides
    ("F", None, None, None, ("age", "pregnant")),
    (None, 70, None, True, ()),  # anyone at or above 60 counts as not pregnant
    (None, 40, None, None, ("sex", "pregnant")),
    (None, 40, False, True, ()),
])
def test_pregnancy_rule(sex, age, pregnant, eligible, missing):
    a = with_(sex=sex, age=age, pregnant=pregnant)
    assert a.eligible is eligible and a.missing == missing


def test_thresholds_come_from_the_protocol():
    p = protocol.load()
    e = p.eligibility
    amended = replace(p, eligibility=replace(e, lactate_comparison=">=", stm_threshold_ng_ml=20.0,
                                             max_hours_from_shock_diagnosis=24.0, min_age_years=21,
                                             pregnancy_exempt_age_female=55))
    assert with_(lactate_mmol_l=2.0).eligible is False
    assert with_(lactate_mmol_l=2.0, stm_ng_ml=25, protocol=amended).eligible is True
    assert with_(stm_ng_ml=14, protocol=amended).codes == ("stm",)
    assert with_(stm_ng_ml=25, age=20, protocol=amended).codes == ("age",)
    assert with_(stm_ng_ml=25, screened_at=T0 + timedelta(hours=20), protocol=amended).eligible is True
    assert with_(stm_ng_ml=25, sex="F", age=56, protocol=amended).eligible is True
    r = with_(stm_ng_ml=2, protocol=amended).failed[0].reason
    assert r == "sTM 2 ng/mL is not above 20 ng/mL"
    assert with_(lactate_mmol_l=1, stm_ng_ml=25, protocol=amended).failed[0].reason == \
        "lactate 1 mmol/L is not at or above 2 mmol/L"


@pytest.mark.parametrize("changes,match", [
    (dict(age=-1), "age must lie between 0 and 120"), (dict(age=130), "age must lie between 0 and 120"),
    (dict(age="old"), "age must lie between"),
    (dict(lactate_mmol_l=-0.1), "lactate_mmol_l must lie between 0 and 30"),
    (dict(lactate_mmol_l=31), "lactate_mmol_l must lie between 0 and 30"),
    (dict(stm_ng_ml=250), "stm_ng_ml must lie between 0 and 200"),
    (dict(infection="yes"), "infection must be True, False or None"),
    (dict(in_icu=1), "in_icu must be True, False or None"),
    (dict(hypersensitivity="no"), "hypersensitivity must be True, False or None"),
    (dict(sex="X"), "sex must be 'F', 'M' or None"),
    (dict(sex="M", pregnant=True), "pregnant cannot be True when sex is 'M'"),
    (dict(pregnant="no"), "pregnant must be True, False or None"),
    (dict(screened_at=T0 - timedelta(minutes=5)), "screened_at must not be before shock_diagnosed_at"),
    (dict(screened_at=datetime(2021, 3, 4, 9)), "both be timezone-aware or both naive"),
    (dict(screened_at="2021-03-04"), "screened_at must be a datetime"),
    (dict(hours_since_shock=3), "not both"),
    (dict(shock_diagnosed_at=None, screened_at=None, hours_since_shock=-1), "hours_since_shock must lie"),
])
def test_bad_facts_raise(changes, match):
    with pytest.raises(ValueError, match=match):
        with_(**changes)


def test_result_is_frozen():
    a = assess(**ELIGIBLE)
    with pytest.raises(AttributeError):
        a.eligible = False  # type: ignore[misc]


facts = st.fixed_dictionaries({
    "age": st.one_of(st.none(), st.integers(0, 120)),
    "infection": st.one_of(st.none(), st.booleans()),
    "lactate_mmol_l": st.one_of(st.none(), st.floats(0, 30)),
    "stm_ng_ml": st.one_of(st.none(), st.floats(0, 200)),
    "hypersensitivity": st.one_of(st.none(), st.booleans()),
    "sex": st.one_of(st.none(), st.sampled_from(["F", "M"])),
})


@settings(deadline=None)
@given(facts)
def test_learning_an_unknown_fact_never_overturns_a_decision(kw):
    """A decided result (True/False) stays decided when unknown facts are filled in with other values;
    eligible is None exactly when nothing fails and something is missing."""
    a = with_(**kw)
    assert (a.eligible is False) == bool(a.failed)
    assert (a.eligible is None) == (not a.failed and bool(a.missing))
    if a.eligible is False:
        filled = {k: (v if v is not None else ELIGIBLE.get(k, False)) for k, v in kw.items()}
        assert with_(**filled).eligible is False
