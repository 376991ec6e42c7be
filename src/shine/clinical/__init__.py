"""Clinical computation core: SOFA, units, infusion dosing, eligibility (docs/clinical.md).

Pure: no Django imports allowed here.
"""

from shine.clinical.dosing import (
                                   DeliveredDose,
                                   Segment,
                                   check_rate,
                                   delivered_dose,
                                   infusion_rate_ml_per_h,
                                   planned_dose_ng,
                                   planned_volume_ml,
)
from shine.clinical.eligibility import CRITERIA, Assessment, Failure, assess
from shine.clinical.sofa import SofaArrays, SofaScore, sofa, sofa_arrays, sofa_frame

__all__ = [
    "SofaArrays", "SofaScore", "sofa", "sofa_arrays", "sofa_frame",
    "DeliveredDose", "Segment", "check_rate", "delivered_dose", "infusion_rate_ml_per_h", "planned_dose_ng",
    "planned_volume_ml",
    "CRITERIA", "Assessment", "Failure", "assess",
]
