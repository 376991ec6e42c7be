"""Trial design: sample size and power, group-sequential boundaries, conditional power and the
futility interim (pure core: no Django imports allowed here).

    from shine import design
    design.sample_size_means(1.3, 3.9)                     # 190 per arm
    design.group_sequential_bounds([1/3, 2/3, 1], kind="asOF")
    design.conditional_power(0.5, 200 / 380, theta=design.design_drift())
    z = design.futility_z_for_rule("cp_design<0.10", 200 / 380, alpha=0.025, power=0.90)
    design.futility_characteristics(z, 200 / 380, n_max=380, n_interim=200)

See docs/design.md for formulas, validation and sources.
"""

from .conditional import conditional_power, design_drift
from .futility import (
    FutilityCharacteristics,
    FutilityRule,
    futility_characteristics,
    futility_z_for_rule,
    parse_futility_rule,
)
from .sample_size import SampleSizeMeans, power_means, sample_size_means, sample_size_means_detail
from .sequential import (
    CrossingProbabilities,
    GroupSequentialDesign,
    alpha_spending,
    crossing_probabilities,
    group_sequential_bounds,
    group_sequential_design,
)

__all__ = [
    "CrossingProbabilities",
    "FutilityCharacteristics",
    "FutilityRule",
    "GroupSequentialDesign",
    "SampleSizeMeans",
    "alpha_spending",
    "conditional_power",
    "crossing_probabilities",
    "design_drift",
    "futility_characteristics",
    "futility_z_for_rule",
    "group_sequential_bounds",
    "group_sequential_design",
    "parse_futility_rule",
    "power_means",
    "sample_size_means",
    "sample_size_means_detail",
]
