"""The trial's parameters, loaded once from ``protocol.toml`` into one frozen object.

Everything that reads a protocol fact (dose, thresholds, windows, strata, block sizes, sample size,
interim size, outcome definitions) reads it from :func:`load` so that an amendment edits one file.
Set ``SHINE_PROTOCOL_FILE`` to use another file (e.g. an amended protocol in a test).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from shine.i18n import _

DEFAULT_FILE = Path(__file__).with_name("protocol.toml")


@dataclass(frozen=True)
class Site:
    code: str
    name: str


@dataclass(frozen=True)
class Eligibility:
    min_age_years: int
    lactate_threshold_mmol_l: float
    lactate_comparison: str
    stm_threshold_ng_ml: float
    stm_comparison: str
    map_target_mmhg: float
    max_hours_from_shock_diagnosis: float
    pregnancy_exempt_age_female: int
    other_prostacyclin_trial_days: int


@dataclass(frozen=True)
class Randomisation:
    block_sizes: tuple[int, ...]
    stratify_by: str


@dataclass(frozen=True)
class Intervention:
    drug: str
    dose_ng_per_kg_min: float
    duration_hours: float
    concentration_ng_per_ml: float
    min_weight_kg: float
    max_weight_kg: float
    rate_warning_tolerance: float


@dataclass(frozen=True)
class Schedule:
    biobank_days: tuple[int, ...]
    daily_record_last_day: int
    sae_window_days: int
    followup_days: tuple[int, ...]
    followup_window_days: dict[int, tuple[int, int]]
    quality_of_life: str


@dataclass(frozen=True)
class Outcomes:
    primary: str
    primary_horizon_days: int
    max_carried_forward_days: int
    per_protocol_min_dose_fraction: float
    complete_case_max_missing_fraction: float
    mortality_days: tuple[int, ...]


MISSING_DATA_SENSITIVITY_RULES = ("missing_component_scores_normal",)
# How an ANCOVA adjusts for a missing baseline modified SOFA: "mean" puts the mean of the observed baselines of
# the analysed population (both groups) in its place; "missing_indicator" does the same and adds an indicator of
# the missing baseline as a covariate. Both keep the randomised comparison unbiased because the covariate is
# measured before randomisation (White & Thompson, Stat Med 2005;24:993-1007).
BASELINE_COVARIATE_RULES = ("mean", "missing_indicator")


@dataclass(frozen=True)
class MissingData:
    """The ``[missing_data]`` section: the missing-data codes, how many study days back a missing SOFA
    component may take its last observed score, the sensitivity rule, and how the analyses adjust for a
    missing baseline modified SOFA."""

    codes: tuple[str, ...]
    component_carry_forward_days: int
    sensitivity_rule: str
    baseline_covariate: str


@dataclass(frozen=True)
class Safety:
    sae_report_hours: int
    susar_fatal_days: int
    susar_fatal_followup_days: int
    susar_other_days: int
    prespecified_events: tuple[str, ...]
    exempt_events: tuple[str, ...] = ()
    remind_before_hours: int = 24
    sponsor_study_number: str = ""
    sender_id: str = ""
    reporter_qualification: str = "physician"


RECRUITMENT_FROM_FIRST_RANDOMISATION = "first_randomisation"


@dataclass(frozen=True)
class Recruitment:
    """The planned recruitment (``[recruitment]``): all sites together ``planned_per_month`` participants a
    month at full pace, reached linearly over the first ``ramp_up_months`` months; month 0 is
    ``first_month`` (``YYYY-MM``), or the month of the trial's first randomisation when it says
    ``first_randomisation``. The plan stops at ``trial.max_sample_size``."""

    first_month: str
    planned_per_month: float
    ramp_up_months: int

    def planned_cumulative(self, months_elapsed: int, cap: int) -> float:
        """Participants planned to be randomised by the end of month ``months_elapsed`` (0: the first)."""
        if months_elapsed < 0:
            return 0.0
        total = 0.0
        for j in range(months_elapsed + 1):
            pace = min(1.0, (j + 1) / self.ramp_up_months) if self.ramp_up_months else 1.0
            total += self.planned_per_month * pace
            if total >= cap:
                return float(cap)
        return total


@dataclass(frozen=True)
class Statistics:
    alpha_two_sided: float
    power: float
    planning_control_mean: float
    planning_sd: float
    planning_relative_reduction: float
    interim_n: int
    interim_rule: str
    futility_binding: bool


STRATEGIES = ("treatment_policy", "composite", "hypothetical", "while_alive", "while_in_icu", "while_on_study",
              "principal_stratum")
ESTIMAND_ANALYSES = ("primary", "mortality", "survival", "days_without_support", "safety")
DOSE_WINDOW_ENDS = ("death", "icu_discharge", "data_cutoff", "infusion_stopped_adverse_event")


@dataclass(frozen=True)
class Strategy:
    """How one intercurrent event is handled (ICH E9(R1)): ``strategy`` from :data:`STRATEGIES`, ``handling``
    in words."""

    event: str
    strategy: str
    handling: str


@dataclass(frozen=True)
class Estimand:
    """What one analysis estimates. ``population``: a key of ``Estimands.populations``, or ``None`` for the
    population chosen for the run (intention-to-treat or per-protocol)."""

    analysis: str
    population: str | None
    variable: str
    summary_measure: str
    strategies: tuple[Strategy, ...]


@dataclass(frozen=True)
class Estimands:
    """The ``[estimands]`` section: intercurrent events, populations in words, one :class:`Estimand` per
    analysis, and the per-protocol dose window (which events end it, and the start allowance)."""

    intercurrent_events: dict[str, str]
    populations: dict[str, str]
    analyses: dict[str, Estimand]
    dose_window_ends_at: tuple[str, ...]
    per_protocol_start_hours: float

    def __getitem__(self, analysis: str) -> Estimand:
        return self.analyses[analysis]


def _estimands(data: dict) -> Estimands:
    events = dict(data["intercurrent_events"])
    analyses = {}
    for name, spec in data.items():
        if not isinstance(spec, dict) or name in ("intercurrent_events", "populations"):
            continue
        strategies = tuple(Strategy(e, *map(str, spec[e])) if isinstance(spec.get(e), list) and len(spec[e]) == 2
                           else Strategy(e, "", "") for e in events)
        analyses[name] = Estimand(name, spec.get("population"), spec.get("variable", ""),
                                  spec.get("summary_measure", ""), strategies)
    return Estimands(events, dict(data["populations"]), analyses, tuple(data["dose_window_ends_at"]),
                     float(data["per_protocol_start_hours"]))


MULTIPLICITY = ("exploratory", "holm")


@dataclass(frozen=True)
class Sensitivity:
    """The ``[sensitivity]`` section: the clinically important difference and the normal priors
    ``(mean, sd)`` of the Bayesian re-analysis, the deltas of the tipping-point analysis, and how the
    secondary outcomes are treated for multiplicity (:data:`MULTIPLICITY`)."""

    clinically_important_difference: float
    prior_sceptical: tuple[float, float]
    prior_neutral: tuple[float, float]
    prior_enthusiastic: tuple[float, float]
    tipping_point_deltas: tuple[float, ...]
    secondary_multiplicity: str

    @property
    def priors(self) -> dict[str, tuple[float, float]]:
        return {"sceptical": self.prior_sceptical, "neutral": self.prior_neutral,
                "enthusiastic": self.prior_enthusiastic}


@dataclass(frozen=True)
class Protocol:
    name: str
    title: str
    registration: str
    eudract: str
    max_sample_size: int
    allocation_ratio: tuple[int, int]
    sites: tuple[Site, ...]
    active_arm: str
    control_arm: str
    eligibility: Eligibility
    randomisation: Randomisation
    intervention: Intervention
    schedule: Schedule
    outcomes: Outcomes
    safety: Safety
    statistics: Statistics
    estimands: Estimands
    sensitivity: Sensitivity
    missing_data: MissingData
    recruitment: Recruitment | None = None  # None: the protocol file states no planned recruitment
    source: str = field(default="", compare=False)

    @property
    def site_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.sites)

    @property
    def arms(self) -> tuple[str, str]:
        return (self.active_arm, self.control_arm)

    def site(self, code: str) -> Site:
        for s in self.sites:
            if s.code == code:
                return s
        raise KeyError(_("unknown site code %(code)r; known: %(known)s") % {
            "code": code, "known": ", ".join(self.site_codes)})


def _tuples(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def _recruitment(section: dict | None) -> Recruitment | None:
    if section is None:
        return None
    unknown = sorted(set(section) - {"first_month", "planned_per_month", "ramp_up_months"})
    if unknown:
        raise ValueError(_("recruitment: unknown setting %(name)r (first_month, planned_per_month, "
                           "ramp_up_months)") % {"name": unknown[0]})
    for name in ("first_month", "planned_per_month", "ramp_up_months"):
        if name not in section:
            raise ValueError(_("recruitment.%(name)s is missing") % {"name": name})
    return Recruitment(first_month=section["first_month"], planned_per_month=section["planned_per_month"],
                       ramp_up_months=section["ramp_up_months"])


def _validate_recruitment(r: Recruitment) -> list[str]:
    import math
    import re

    out = []
    if not (r.first_month == RECRUITMENT_FROM_FIRST_RANDOMISATION
            or (isinstance(r.first_month, str) and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", r.first_month))):
        out.append(_("recruitment.first_month must be a month as YYYY-MM or %(first)r, got %(value)r") % {
            "first": RECRUITMENT_FROM_FIRST_RANDOMISATION, "value": r.first_month})
    rate = r.planned_per_month
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or not 0 < rate <= 1000:
        out.append(_("recruitment.planned_per_month must be a number of participants a month above 0 and at most "
                     "1000, got %(value)r") % {"value": rate})
    ramp = r.ramp_up_months
    if isinstance(ramp, bool) or not isinstance(ramp, int) or not 0 <= ramp <= 60:
        out.append(_("recruitment.ramp_up_months must be a whole number of months from 0 to 60, got %(value)r")
                   % {"value": ramp})
    return out


def parse(data: dict, source: str = "") -> Protocol:
    """Build and validate a :class:`Protocol` from the parsed TOML mapping."""
    t = data["trial"]
    sched = _tuples(data["schedule"])
    sched["followup_window_days"] = {
        int(k): (int(v[0]), int(v[1])) for k, v in data["schedule"]["followup_window_days"].items()
    }
    p = Protocol(
        name=t["name"],
        title=t["title"],
        registration=t["registration"],
        eudract=t["eudract"],
        max_sample_size=int(t["max_sample_size"]),
        allocation_ratio=tuple(t["allocation_ratio"]),
        sites=tuple(Site(**s) for s in data["sites"]),
        active_arm=data["arms"]["active"],
        control_arm=data["arms"]["control"],
        eligibility=Eligibility(**data["eligibility"]),
        randomisation=Randomisation(**_tuples(data["randomisation"])),
        intervention=Intervention(**data["intervention"]),
        schedule=Schedule(**sched),
        outcomes=Outcomes(**_tuples(data["outcomes"])),
        safety=Safety(**_tuples(data["safety"])),
        statistics=Statistics(**data["statistics"]),
        estimands=_estimands(data["estimands"]),
        sensitivity=Sensitivity(**_tuples(data["sensitivity"])),
        missing_data=MissingData(**_tuples(data["missing_data"])),
        recruitment=_recruitment(data.get("recruitment")),
        source=source,
    )
    problems = validate(p)
    if problems:
        raise ValueError(_("invalid protocol %(source)s: %(problems)s") % {
            "source": source or "", "problems": "; ".join(problems)})
    return p


def validate(p: Protocol) -> list[str]:
    """Every inconsistency in the protocol, as human-readable lines (empty when valid)."""
    out = []
    codes = p.site_codes
    if len(set(codes)) != len(codes):
        out.append(_("site codes must be unique"))
    if p.active_arm == p.control_arm:
        out.append(_("arms.active and arms.control must differ"))
    for c in (p.eligibility.lactate_comparison, p.eligibility.stm_comparison):
        if c not in (">", ">="):
            out.append(_("comparison must be '>' or '>=', got %(value)r") % {"value": c})
    if not p.randomisation.block_sizes or any(b <= 0 or b % 2 for b in p.randomisation.block_sizes):
        out.append(_("randomisation.block_sizes must be positive even numbers (1:1 allocation)"))
    i = p.intervention
    if not (0 < i.min_weight_kg < i.max_weight_kg):
        out.append(_("intervention weight limits must satisfy 0 < min < max"))
    if i.dose_ng_per_kg_min <= 0 or i.concentration_ng_per_ml <= 0 or i.duration_hours <= 0:
        out.append(_("intervention dose, concentration and duration must be positive"))
    s = p.statistics
    if not 0 < s.alpha_two_sided < 1 or not 0 < s.power < 1:
        out.append(_("statistics.alpha_two_sided and statistics.power must lie in (0, 1)"))
    if not 0 < s.interim_n < p.max_sample_size:
        out.append(_("statistics.interim_n must lie between 0 and trial.max_sample_size"))
    if not 0 <= p.outcomes.per_protocol_min_dose_fraction <= 1:
        out.append(_("outcomes.per_protocol_min_dose_fraction must lie in [0, 1]"))
    sf = p.safety
    if min(sf.sae_report_hours, sf.susar_fatal_days, sf.susar_fatal_followup_days, sf.susar_other_days) <= 0:
        out.append(_("safety clocks (sae_report_hours, susar_*_days) must be positive"))
    if set(sf.prespecified_events) & set(sf.exempt_events):
        out.append(_("safety.exempt_events must not name a prespecified event"))
    for day in p.schedule.followup_days:
        if day not in p.schedule.followup_window_days:
            out.append(_("schedule.followup_window_days lacks a window for day %(day)s") % {"day": day})
    out += _validate_estimands(p.estimands)
    if p.recruitment is not None:
        out += _validate_recruitment(p.recruitment)
    sens = p.sensitivity
    if not sens.clinically_important_difference > 0:
        out.append(_("sensitivity.clinically_important_difference must be positive"))
    for name, prior in sens.priors.items():
        if len(prior) != 2 or not prior[1] > 0:
            out.append(_("sensitivity.prior_%(name)s must be [mean, sd] with sd > 0") % {"name": name})
    if not sens.tipping_point_deltas:
        out.append(_("sensitivity.tipping_point_deltas must list at least one delta"))
    if sens.secondary_multiplicity not in MULTIPLICITY:
        out.append(_("sensitivity.secondary_multiplicity must be one of %(allowed)s") % {
            "allowed": ", ".join(MULTIPLICITY)})
    m = p.missing_data
    from shine.analysis.schema import MISSING_CODES  # the data set's vocabulary (plain Python, no cycle)

    if not m.codes or len(set(m.codes)) != len(m.codes) or not set(m.codes) <= set(MISSING_CODES):
        out.append(_("missing_data.codes must be distinct codes among %(allowed)s") % {
            "allowed": ", ".join(MISSING_CODES)})
    if m.component_carry_forward_days < 0:
        out.append(_("missing_data.component_carry_forward_days must be 0 or more"))
    if m.sensitivity_rule not in MISSING_DATA_SENSITIVITY_RULES:
        out.append(_("missing_data.sensitivity_rule must be one of %(allowed)s") % {
            "allowed": ", ".join(MISSING_DATA_SENSITIVITY_RULES)})
    if m.baseline_covariate not in BASELINE_COVARIATE_RULES:
        out.append(_("missing_data.baseline_covariate must be one of %(allowed)s, got %(value)r") % {
            "allowed": ", ".join(BASELINE_COVARIATE_RULES), "value": m.baseline_covariate})
    return out


def _validate_estimands(e: Estimands) -> list[str]:
    out = []
    for name in ("itt", "per_protocol", "safety"):
        if name not in e.populations:
            out.append(_("estimands.populations must describe %(name)s") % {"name": name})
    for end in e.dose_window_ends_at:
        if end not in DOSE_WINDOW_ENDS:
            out.append(_("estimands.dose_window_ends_at: %(value)r is not one of %(allowed)s") % {
                "value": end, "allowed": ", ".join(DOSE_WINDOW_ENDS)})
    for name in ESTIMAND_ANALYSES:
        if name not in e.analyses:
            out.append(_("estimands.%(name)s is missing (every analysis states its estimand)") % {"name": name})
    if not e.per_protocol_start_hours > 0:
        out.append(_("estimands.per_protocol_start_hours must be positive"))
    for a in e.analyses.values():
        if a.population is not None and a.population not in e.populations:
            out.append(_("estimands.%(name)s.population must be one of %(allowed)s") % {
                "name": a.analysis, "allowed": ", ".join(e.populations)})
        if not a.variable or not a.summary_measure:
            out.append(_("estimands.%(name)s needs a variable and a summary_measure") % {"name": a.analysis})
        for s in a.strategies:
            if s.strategy not in STRATEGIES:
                out.append(_("estimands.%(name)s.%(event)s must be [strategy, handling] with a strategy of "
                             "%(allowed)s") % {"name": a.analysis, "event": s.event, "allowed": ", ".join(STRATEGIES)})
    return out


@cache
def _load_file(path: str) -> Protocol:
    with open(path, "rb") as fh:
        return parse(tomllib.load(fh), source=path)


def load(path: str | os.PathLike | None = None) -> Protocol:
    """The trial protocol (cached per file)."""
    chosen = path or os.environ.get("SHINE_PROTOCOL_FILE") or DEFAULT_FILE
    return _load_file(str(chosen))
