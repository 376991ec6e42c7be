"""Central statistical monitoring: blinded checks of each site's data against the other sites' (no arm).

Pure (no Django): the trial app hands in plain rows, :func:`site_signals` returns one :class:`Signal` per
site, check and variable, each with its test, effect size, raw p-value, Benjamini-Hochberg q-value over the
whole report and a flag when q is below the report's false-discovery rate. Signals are prompts for a
monitor's look at the source, never verdicts. docs/monitoring.md, "Central statistical monitoring", lists the
tests; tests/central_monitoring validates each against R and measures the false-alarm and detection rates on
simulated trials.
"""

from .checks import (
                     CHECKS,
                     DIGIT_DECIMALS,
                     MIN_DIGITS,
                     MIN_VALUES,
                     Signal,
                     benjamini_hochberg,
                     digit_preference,
                     entry_lag,
                     mean_shift,
                     missingness,
                     sae_rate,
                     site_signals,
                     within_participant_variability,
)

__all__ = ["CHECKS", "DIGIT_DECIMALS", "MIN_DIGITS", "MIN_VALUES", "Signal", "benjamini_hochberg",
           "digit_preference", "entry_lag", "mean_shift", "missingness", "sae_rate", "site_signals",
           "within_participant_variability"]
