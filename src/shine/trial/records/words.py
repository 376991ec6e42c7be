"""The words shown for the codes of the case report forms (sites of infection, comorbidities, infusion events,
vital status, …), in the reader's language. The codes themselves are what is stored, exported and sent by the
API; only their display label is translated."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

WORDS = {
    # sites of infection
    "pulmonary": _("pulmonary"), "abdominal": _("abdominal"), "urinary": _("urinary"),
    "skin_soft_tissue": _("skin soft tissue"), "bloodstream": _("bloodstream"), "cns": _("cns"),
    "other": _("other"), "unknown": _("unknown"),
    # comorbidities
    "heart_failure": _("heart failure"), "ischaemic_heart_disease": _("ischaemic heart disease"), "copd": _("copd"),
    "diabetes": _("diabetes"), "chronic_kidney_disease": _("chronic kidney disease"),
    "liver_cirrhosis": _("liver cirrhosis"), "cancer": _("cancer"), "haematological_cancer": _("haematological cancer"),
    "immunosuppression": _("immunosuppression"),
    # infusion events and stop reasons
    "start": pgettext_lazy("infusion event", "start"), "stop": pgettext_lazy("infusion event", "stop"),
    "restart": pgettext_lazy("infusion event", "restart"), "rate_change": _("rate change"),
    "end": pgettext_lazy("infusion event", "end"), "planned_end": _("planned end"), "interrupted": _("interrupted"),
    "adverse_event": _("adverse event"), "death": _("death"), "discharge": _("discharge"),
    # vital status
    "alive": _("alive"), "dead": _("dead"),
    # deviation categories
    "eligibility": _("eligibility"), "consent": _("consent"), "randomisation": _("randomisation"),
    "intervention": _("intervention"), "data_collection": _("data collection"),
}
# the SOFA components (shine.clinical.sofa.COMPONENTS) in words
COMPONENT_WORDS = {"respiration": _("respiration"), "coagulation": _("coagulation"), "liver": _("liver"),
                   "cardiovascular": _("cardiovascular"), "cns": _("cns"), "renal": _("renal")}


def word(code: str):
    """The display label of a code (the code with spaces when it has none)."""
    return WORDS.get(code, code.replace("_", " "))


def choices(values) -> list[tuple[str, object]]:
    return [(v, word(v)) for v in values]

# the laboratory's inputs (shine.exchange.fhir_labs.INPUT_LABELS) in words, for the daily form's proposal
LAB_INPUT_WORDS = {"pao2": "PaO2", "fio2": "FiO2", "platelets": _("platelets"), "bilirubin": _("bilirubin"),
                   "creatinine": _("creatinine"), "lactate": _("lactate"), "map_mmhg": _("mean arterial pressure"),
                   "urine_output": _("urine output")}
