"""The case output: every element of CTR Annex III section 2.3 as structured JSON, and its validator.

The suspect product is named only to a user who may see the participant's arm (pharmacovigilance after the
SUSAR unblinding); everyone else reads the blinded trial drug, so the output says nothing of the arm.
"""

from __future__ import annotations

import datetime as dt

from shine import protocol as protocol_mod

from . import selectors
from .models import Case

REQUIRED = ("eu_trial_number", "sponsor_study_number", "coded_subject", "reporter", "reaction",
            "suspect_product", "active_substance", "causality", "senders_case_id", "initial_receipt_date",
            "most_recent_information_date", "worldwide_case_id", "sender_id")
BLINDED_PRODUCT = "trial drug (blinded)"


class CaseIncomplete(ValueError):
    def __init__(self, missing: list[str]):
        super().__init__("the case output lacks " + ", ".join(missing))
        self.missing = missing


def _iso(t) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t else ""


def worldwide_case_id(case: Case) -> str:
    return f"DK-{protocol_mod.load().safety.sender_id}-{case.number}"


def case_output(case: Case, user) -> dict:
    """The case as sent to the authority (JSON-ready), for this user's view of the blind."""
    p = protocol_mod.load()
    versions = list(case.versions.select_related("entered_by").order_by("version"))
    last = versions[-1]
    assessment = case.assessments.order_by("-number").first()
    arm = None
    if selectors.sees_arm(user, case):
        from shine.trial.allocation.selectors import arm_for

        arm = arm_for(user, case.participant)
    product = (f"{p.intervention.drug} {p.intervention.dose_ng_per_kg_min:g} ng/kg/min" if arm == p.active_arm
               else "placebo (0.9 % saline)" if arm == p.control_arm else BLINDED_PRODUCT)
    substance = p.intervention.drug if arm == p.active_arm else "none" if arm == p.control_arm else "blinded"
    return {
        "eu_trial_number": p.eudract,
        "sponsor_study_number": p.safety.sponsor_study_number,
        "coded_subject": case.participant.number,
        "reporter": {"qualification": p.safety.reporter_qualification, "site": case.site.code,
                     "username": versions[0].entered_by.username},
        "reaction": {"verbatim": last.term, "meddra_version": last.meddra_version or None,
                     "meddra_code": last.meddra_code or None, "onset": _iso(last.onset_at),
                     "seriousness_criteria": last.criteria, "outcome": last.outcome},
        "suspect_product": product,
        "active_substance": substance,
        "causality": {"investigator": "related" if last.related else "not related",
                      "sponsor": None if assessment is None or assessment.sponsor_related is None
                      else ("related" if assessment.sponsor_related else "not related")},
        "expectedness": None if assessment is None else {"expected": assessment.expected,
                                                         "rsi_version": assessment.rsi.version},
        "senders_case_id": case.number,
        "initial_receipt_date": _iso(case.sponsor_aware_at or case.created_at),
        "most_recent_information_date": _iso(last.entered_at),
        "worldwide_case_id": worldwide_case_id(case),
        "sender_id": p.safety.sender_id,
        "case_version": last.version,
    }


def missing_elements(out: dict) -> list[str]:
    missing = []
    for name in REQUIRED:
        value = out.get(name)
        if value in (None, "", {}, []):
            missing.append(name)
    if not (out.get("reaction") or {}).get("verbatim"):
        missing.append("reaction.verbatim")
    r = out.get("reaction") or {}
    if bool(r.get("meddra_code")) != bool(r.get("meddra_version")):
        missing.append("reaction.meddra_version" if r.get("meddra_code") else "reaction.meddra_code")
    if not (out.get("reporter") or {}).get("qualification"):
        missing.append("reporter.qualification")
    if not (out.get("causality") or {}).get("investigator"):
        missing.append("causality.investigator")
    return sorted(set(missing))


def validate(out: dict) -> dict:
    """The output unchanged, or CaseIncomplete naming every missing element."""
    missing = missing_elements(out)
    if missing:
        raise CaseIncomplete(missing)
    return out
