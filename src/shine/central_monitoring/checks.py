"""The checks of central statistical monitoring, each one site against the pooled other sites.

Each check: the data; the test (two-sided unless said); the effect size.

- digit preference: share of values whose terminal digit (decimals per variable) is 0 or 5; Fisher's exact
  test, one-sided (site greater); ratio of shares.
- mean shift: each participant's mean; Welch t-test; standardised difference (rest SD).
- within-participant variability: each participant's SD over days (>= 3 days); Welch t-test on log SD,
  one-sided (site smaller); ratio of geometric mean SDs.
- missingness: missing and expected values of a form; Fisher's exact test, 2 x 2; ratio of missing rates.
- data-entry lag: hours from the end of a record's day to its entry; Welch t-test on log(1 + hours); ratio of
  geometric mean lags.
- SAE reporting rate: serious events and participant-days at risk; exact conditional (binomial) test of two
  Poisson rates; rate ratio.

A site is checked when it and the rest have enough data (``MIN_VALUES``, ``MIN_DIGITS``); otherwise the signal
says so and has no p-value. The flags are Benjamini-Hochberg over every p-value of the report.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy import stats

from shine.i18n import _


def gettext_noop(message: str) -> str:
    """Mark a message for the catalogue without translating it yet (translated where it is shown)."""
    return message


CHECKS = {
    "digits": gettext_noop("digit preference"),
    "mean": gettext_noop("mean shift"),
    "variability": gettext_noop("within-participant variability"),
    "missing": gettext_noop("missingness"),
    "lag": gettext_noop("data-entry lag"),
    "sae": gettext_noop("SAE reporting rate"),
}
# decimals of the terminal digit read for each variable (as entered on the forms)
DIGIT_DECIMALS = {"map_mmhg": 0, "lactate_mmol_l": 1, "weight_kg": 1, "norepinephrine": 2}
MIN_VALUES = 5    # values (or participants) a site and the rest need for a comparison
MIN_DIGITS = 30   # terminal digits a site needs for the digit check
MIN_DAYS = 3      # days a participant needs for a within-participant SD
FDR = 0.05        # default false-discovery rate of the flags


@dataclass(frozen=True)
class Signal:
    site: str
    check: str            # a key of CHECKS
    variable: str
    n_site: int
    n_rest: int
    statistic: float | None
    effect: float | None
    effect_label: str
    p: float | None       # None: not enough data
    q: float | None = None
    flagged: bool = False
    note: str = ""

    @property
    def check_label(self) -> str:
        """The check's name in the active language."""
        return _(CHECKS[self.check])


def terminal_digit(value: float, decimals: int) -> int:
    return int(round(abs(value) * 10 ** decimals)) % 10


def _split(rows, site):
    mine = [v for s, v in rows if s == site]
    rest = [v for s, v in rows if s != site]
    return mine, rest


def welch(a, b, alternative: str = "two-sided") -> tuple[float, float, float]:
    """Welch's t-test of mean(a) vs mean(b): (t, degrees of freedom, p). ``alternative``: two-sided, less
    (a smaller) or greater."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se2 = va + vb
    if se2 == 0:
        return math.nan, math.nan, math.nan
    t = (a.mean() - b.mean()) / math.sqrt(se2)
    df = se2 ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    if alternative == "less":
        p = stats.t.cdf(t, df)
    elif alternative == "greater":
        p = stats.t.sf(t, df)
    else:
        p = 2 * stats.t.sf(abs(t), df)
    return float(t), float(df), float(p)


def _welch(a, b, alternative="two-sided"):
    t, _df, p = welch(a, b, alternative)
    return t, p


def _too_few(site, check, variable, n_site, n_rest, label, need) -> Signal:
    return Signal(site, check, variable, n_site, n_rest, None, None, label, None,
                  note=_("not checked: fewer than %(need)s at the site or in the rest") % {"need": need})


def digit_preference(rows: list[tuple[str, float]], variable: str, decimals: int) -> list[Signal]:
    """Heaping on round terminal digits (0 and 5) of one variable: the site's share against the rest's,
    one-sided (Fisher's exact test, site greater). One-sided so that a site whose values are rounded does not
    make the clean sites look short of round digits."""
    digits = [(s, terminal_digit(v, decimals) in (0, 5)) for s, v in rows if v is not None and not math.isnan(v)]
    out = []
    for site in sorted({row[0] for row in digits}):
        mine, rest = _split(digits, site)
        if len(mine) < MIN_DIGITS or len(rest) < MIN_DIGITS:
            out.append(_too_few(site, "digits", variable, len(mine), len(rest), _("share ratio"), MIN_DIGITS))
            continue
        a, b = sum(mine), sum(rest)
        odds, p = stats.fisher_exact([[a, len(mine) - a], [b, len(rest) - b]], alternative="greater")
        ratio = (a / len(mine)) / (b / len(rest)) if b else math.inf
        out.append(Signal(site, "digits", variable, len(mine), len(rest), float(odds), ratio, _("share ratio"),
                          float(p), note=_("%(a)s of %(n)s end in 0 or 5 at the site, %(b)s of %(rn)s elsewhere")
                          % {"a": a, "n": len(mine), "b": b, "rn": len(rest)}))
    return out


def participant_means(rows: list[tuple[str, str, float]]) -> list[tuple[str, float]]:
    by = defaultdict(list)
    for site, pid, v in rows:
        if v is not None and not math.isnan(v):
            by[(site, pid)].append(v)
    return [(site, float(np.mean(vals))) for (site, _), vals in by.items()]


def mean_shift(rows: list[tuple[str, str, float]], variable: str) -> list[Signal]:
    """Mean of one variable, each site against the rest (Welch) on participants' means: a participant's days
    are not independent values."""
    means = participant_means(rows)
    out = []
    for site in sorted({row[0] for row in means}):
        mine, rest = _split(means, site)
        if len(mine) < MIN_VALUES or len(rest) < MIN_VALUES or np.std(rest) == 0:
            out.append(_too_few(site, "mean", variable, len(mine), len(rest), _("standardised difference"), MIN_VALUES))
            continue
        t, p = _welch(mine, rest)
        d = (np.mean(mine) - np.mean(rest)) / np.std(rest, ddof=1)
        out.append(Signal(site, "mean", variable, len(mine), len(rest), t, float(d), _("standardised difference"),
                          p if not math.isnan(p) else None))
    return out


def participant_sds(rows: list[tuple[str, str, float]]) -> list[tuple[str, float]]:
    """(site, SD over days) of each participant with at least MIN_DAYS values, from (site, participant, value)."""
    by = defaultdict(list)
    for site, pid, v in rows:
        if v is not None and not math.isnan(v):
            by[(site, pid)].append(v)
    return [(site, float(np.std(vals, ddof=1))) for (site, _), vals in by.items() if len(vals) >= MIN_DAYS]


def within_participant_variability(rows: list[tuple[str, str, float]], variable: str) -> list[Signal]:
    """Each participant's day-to-day SD of one variable, log-transformed, site vs rest (Welch, one-sided: site
    smaller); a fabricated series is too smooth. A zero SD counts as a tenth of the smallest positive SD (log of
    zero)."""
    sds = participant_sds(rows)
    positive = [sd for _, sd in sds if sd > 0]
    floor = min(positive) / 10 if positive else 1.0
    logs = [(s, math.log(max(sd, floor))) for s, sd in sds]
    out = []
    for site in sorted({row[0] for row in logs}):
        mine, rest = _split(logs, site)
        if len(mine) < MIN_VALUES or len(rest) < MIN_VALUES:
            out.append(_too_few(site, "variability", variable, len(mine), len(rest), _("SD ratio"), MIN_VALUES))
            continue
        t, p = _welch(mine, rest, alternative="less")
        out.append(Signal(site, "variability", variable, len(mine), len(rest), t,
                          math.exp(np.mean(mine) - np.mean(rest)), _("SD ratio"), p if not math.isnan(p) else None))
    return out


def missingness(counts: dict[str, tuple[int, int]], form: str) -> list[Signal]:
    """Missing of expected values of a form, {site: (missing, expected)}, site vs rest (Fisher's exact)."""
    out = []
    total_m = sum(m for m, _ in counts.values())
    total_n = sum(n for _, n in counts.values())
    for site, (m, n) in sorted(counts.items()):
        rm, rn = total_m - m, total_n - n
        if n < MIN_VALUES or rn < MIN_VALUES:
            out.append(_too_few(site, "missing", form, n, rn, _("rate ratio"), MIN_VALUES))
            continue
        odds, p = stats.fisher_exact([[m, n - m], [rm, rn - rm]])
        ratio = (m / n) / (rm / rn) if rm else (math.inf if m else 1.0)
        out.append(Signal(site, "missing", form, n, rn, float(odds), ratio, _("rate ratio"), float(p),
                          note=_("%(m)s of %(n)s missing at the site, %(rm)s of %(rn)s elsewhere")
                          % {"m": m, "n": n, "rm": rm, "rn": rn}))
    return out


def entry_lag(rows: list[tuple[str, float]], form: str) -> list[Signal]:
    """Hours from the end of a record's day to its entry, log(1 + hours), site vs rest (Welch)."""
    logs = [(s, math.log1p(max(h, 0.0))) for s, h in rows if h is not None]
    out = []
    for site in sorted({row[0] for row in logs}):
        mine, rest = _split(logs, site)
        if len(mine) < MIN_VALUES or len(rest) < MIN_VALUES:
            out.append(_too_few(site, "lag", form, len(mine), len(rest), _("lag ratio"), MIN_VALUES))
            continue
        t, p = _welch(mine, rest)
        out.append(Signal(site, "lag", form, len(mine), len(rest), t,
                          math.expm1(np.mean(mine)) / max(math.expm1(np.mean(rest)), 1e-9), _("lag ratio"),
                          p if not math.isnan(p) else None))
    return out


def sae_rate(counts: dict[str, tuple[int, float]]) -> list[Signal]:
    """Serious adverse events per participant-day, {site: (events, days at risk)}, site vs rest: given the
    total, the site's count is binomial with the site's share of the days (exact test of two Poisson rates)."""
    out = []
    total_k = sum(k for k, _ in counts.values())
    total_t = sum(t for _, t in counts.values())
    for site, (k, t) in sorted(counts.items()):
        rk, rt = total_k - k, total_t - t
        if t <= 0 or rt <= 0 or total_k == 0:
            out.append(Signal(site, "sae", "serious adverse events", k, rk, None, None, _("rate ratio"), None,
                              note=_("not checked: no events or no days at risk")))
            continue
        p = stats.binomtest(k, total_k, t / total_t).pvalue
        ratio = (k / t) / (rk / rt) if rk else math.inf
        out.append(Signal(site, "sae", "serious adverse events", k, rk, float(k), ratio, _("rate ratio"), float(p),
                          note=_("%(k)s in %(t).0f participant-days at the site, %(rk)s in %(rt).0f elsewhere")
                          % {"k": k, "t": t, "rk": rk, "rt": rt}))
    return out


def benjamini_hochberg(ps: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q), in the order given."""
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, ps[i] * m / rank)
        q[i] = running
    return q


def site_signals(*, values: dict[str, list[tuple[str, str, float]]] | None = None,
                 daily: dict[str, list[tuple[str, str, float]]] | None = None,
                 missing: dict[str, dict[str, tuple[int, int]]] | None = None,
                 lags: dict[str, list[tuple[str, float]]] | None = None,
                 sae: dict[str, tuple[int, float]] | None = None, fdr: float = FDR) -> list[Signal]:
    """Every check on what is given, with Benjamini-Hochberg q-values and flags over the whole report.

    ``values``: variable -> (site, participant, value), for digit preference (variables of DIGIT_DECIMALS) and
    mean shift; ``daily``: variable -> (site, participant, value), for within-participant variability;
    ``missing``: form -> {site: (missing, expected)}; ``lags``: form -> (site, hours); ``sae``: {site: (events,
    days)}.
    """
    if not 0 < fdr < 1:
        raise ValueError("fdr must be between 0 and 1")
    out: list[Signal] = []
    for variable, rows in (values or {}).items():
        if variable in DIGIT_DECIMALS:
            out += digit_preference([(s, v) for s, _, v in rows], variable, DIGIT_DECIMALS[variable])
        out += mean_shift(rows, variable)
    for variable, series in (daily or {}).items():
        out += within_participant_variability(series, variable)
    for form, counts in (missing or {}).items():
        out += missingness(counts, form)
    for form, hours in (lags or {}).items():
        out += entry_lag(hours, form)
    if sae:
        out += sae_rate(sae)
    tested = [(i, s.p) for i, s in enumerate(out) if s.p is not None]
    qs = benjamini_hochberg([p for _, p in tested])
    for (i, _p), q in zip(tested, qs):
        s = out[i]
        out[i] = Signal(s.site, s.check, s.variable, s.n_site, s.n_rest, s.statistic, s.effect, s.effect_label,
                        s.p, q, q < fdr, s.note)
    return out


def flagged_sites(signals: list[Signal]) -> set[str]:
    return {s.site for s in signals if s.flagged}
