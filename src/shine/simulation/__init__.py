"""Trial simulator: synthetic SHINE data sets and operating characteristics of the design.

Pure core: no Django imports allowed here. GPU libraries are imported only when their backend is used.
"""

from shine.simulation.patients import DatasetParameters, SyntheticDataset, generate_dataset
from shine.simulation.trials import MonteCarloErrors, OperatingCharacteristics, simulate_trials

__all__ = ["DatasetParameters", "MonteCarloErrors", "OperatingCharacteristics", "SyntheticDataset",
           "generate_dataset", "simulate_trials"]
