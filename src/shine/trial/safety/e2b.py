"""The case output as an ICH E2B(R3)-shaped XML (HL7 v3 ICSR: MCCI_IN200100UV01 batch wrapper, one
PORR_IN049016UV message, the investigationEvent of the case) for entry into EudraVigilance.

Shaped after the ICH E2B(R3) implementation guide's structure and identifiers (N.1, N.2.r, C.1.1, C.1.8.1,
E.i, G.k); not validated against the ICH schema, whose XSD files are not available to this project. Built
from :func:`output.case_output`, so it carries the same blind.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

HL7 = "urn:hl7-org:v3"
ROOT_MESSAGE = "2.16.840.1.113883.3.989.2.1.3.1"       # N.2.r.1 / C.1.1 sender's safety report identifier
ROOT_WORLDWIDE = "2.16.840.1.113883.3.989.2.1.3.2"     # C.1.8.1 worldwide unique case identification number
ROOT_BATCH = "2.16.840.1.113883.3.989.2.1.3.22"        # N.1.2 batch number
ICH_MESSAGE_TYPE = "2.16.840.1.113883.3.989.2.1.1.1"   # N.1.1 type of messages in batch


def _ts(iso: str) -> str:
    """ISO 8601 UTC (2026-12-01T10:00:00Z) as an HL7 timestamp (20261201100000+0000)."""
    return iso.replace("-", "").replace(":", "").replace("T", "").replace("Z", "+0000") if iso else ""


def _el(parent, tag: str, text: str | None = None, **attrs) -> ET.Element:
    e = ET.SubElement(parent, f"{{{HL7}}}{tag}", {k.rstrip("_"): str(v) for k, v in attrs.items()})
    if text is not None:
        e.text = text
    return e


def case_xml(out: dict) -> bytes:
    ET.register_namespace("", HL7)
    report_id = f"{out['senders_case_id']}-v{out['case_version']}"
    batch = ET.Element(f"{{{HL7}}}MCCI_IN200100UV01", {"ITSVersion": "XML_1.0"})
    _el(batch, "id", extension=f"B-{report_id}", root=ROOT_BATCH)
    _el(batch, "creationTime", value=_ts(out["most_recent_information_date"]))
    _el(batch, "responseModeCode", code="D")
    _el(batch, "interactionId", extension="MCCI_IN200100UV01", root="2.16.840.1.113883.1.6")
    _el(batch, "name", code="1", codeSystem=ICH_MESSAGE_TYPE, codeSystemVersion="1.01")
    message = _el(batch, "PORR_IN049016UV")
    _el(message, "id", extension=report_id, root=ROOT_MESSAGE)
    _el(message, "creationTime", value=_ts(out["most_recent_information_date"]))
    _el(message, "interactionId", extension="PORR_IN049016UV", root="2.16.840.1.113883.1.6")
    control = _el(message, "controlActProcess", classCode="CACT", moodCode="EVN")
    event = _el(_el(control, "subject", typeCode="SUBJ"), "investigationEvent", classCode="INVSTG", moodCode="EVN")
    _el(event, "id", extension=report_id, root=ROOT_MESSAGE)                         # C.1.1
    _el(event, "id", extension=out["worldwide_case_id"], root=ROOT_WORLDWIDE)        # C.1.8.1
    _el(event, "effectiveTime").append(ET.Element(f"{{{HL7}}}low", {"value": _ts(out["initial_receipt_date"])}))
    _el(event, "availabilityTime", value=_ts(out["most_recent_information_date"]))  # C.1.5
    trial = _el(_el(event, "subjectOf1", typeCode="SUBJ"), "researchStudy", classCode="CLNTRL", moodCode="EVN")
    _el(trial, "id", extension=out["sponsor_study_number"], root="sponsor-study-number")   # C.5.3
    _el(trial, "title", f"EU trial {out['eu_trial_number']}")                             # C.5.1.r.1
    patient = _el(_el(event, "component", typeCode="COMP"), "adverseEventAssessment")
    subject = _el(_el(patient, "subject1", typeCode="SBJ"), "primaryRole", classCode="INVSBJ")
    _el(_el(subject, "player1", classCode="PSN", determinerCode="INSTANCE"), "name", out["coded_subject"])  # D.1
    r = out["reaction"]
    reaction = _el(_el(subject, "subjectOf2", typeCode="SBJ"), "observation", classCode="OBS", moodCode="EVN")
    _el(reaction, "code", code="29", codeSystem="2.16.840.1.113883.3.989.2.1.1.19")           # reaction
    _el(reaction, "effectiveTime").append(ET.Element(f"{{{HL7}}}low", {"value": _ts(r["onset"])}))
    value = _el(reaction, "value", code=r["meddra_code"] or "", codeSystem="2.16.840.1.113883.6.163",
                codeSystemVersion=r["meddra_version"] or "")                                  # E.i.2.1
    _el(value, "originalText", r["verbatim"])                                                 # E.i.1.1a
    for criterion in r["seriousness_criteria"]:                                               # E.i.3.2
        _el(_el(reaction, "outboundRelationship2", typeCode="PERT"), "observation", classCode="OBS",
            moodCode="EVN").set("code", criterion)
    drug = _el(_el(subject, "subjectOf2", typeCode="SBJ"), "organizer", classCode="CATEGORY", moodCode="EVN")
    product = _el(_el(drug, "component", typeCode="COMP"), "substanceAdministration", classCode="SBADM",
                  moodCode="EVN")
    kind = _el(_el(_el(product, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST"),
               "kindOfProduct", classCode="MMAT", determinerCode="KIND")
    _el(kind, "name", out["suspect_product"])                                                 # G.k.2.2
    _el(kind, "ingredient", out["active_substance"])                                          # G.k.2.3.r.1
    for source, result in out["causality"].items():                                          # G.k.9.i.2.r
        if result:
            assessment = _el(_el(patient, "component1", typeCode="COMP"), "causalityAssessment", classCode="OBS",
                             moodCode="EVN")
            _el(assessment, "code", code="39", codeSystem="2.16.840.1.113883.3.989.2.1.1.19")
            _el(assessment, "value", result)
            _el(assessment, "author", source)
    sender = _el(_el(message, "sender", typeCode="SND"), "device", classCode="DEV", determinerCode="INSTANCE")
    _el(sender, "id", extension=out["sender_id"], root="2.16.840.1.113883.3.989.2.1.3.12")  # N.2.r.2 / C.3
    _el(_el(batch, "sender", typeCode="SND"), "device", classCode="DEV", determinerCode="INSTANCE").append(
        ET.Element(f"{{{HL7}}}id", {"extension": out["sender_id"], "root": "2.16.840.1.113883.3.989.2.1.3.13"}))
    return ET.tostring(batch, encoding="utf-8", xml_declaration=True)
