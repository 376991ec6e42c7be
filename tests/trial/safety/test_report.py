"""The annual safety report reconciles with the case table; the PDF holds the case output's elements."""

import datetime as dt
import re

from django.utils import timezone

from shine.trial.safety import services
from shine.trial.safety.models import Case, CaseVersion
from shine.trial.safety.report import annual_report
from tests.trial.allocation.test_blind_leak import readable

from .conftest import sae


def _cases(trial, participant, rsi):
    nurse, pv = trial["nurse_hgh"], trial["pharmacovigilance"]
    a = services.report_event(user=nurse, participant=participant, values=sae(participant))            # SAR
    b = services.report_event(user=nurse, participant=participant, values=sae(
        participant, related=False, prespecified="", term="ventilator-associated pneumonia"))           # SAE
    services.assess(user=pv, case=b, expected=True, sponsor_related=True)                               # now a SAR
    services.report_event(user=nurse, participant=participant, values=sae(
        participant, related=False, prespecified="", exempt="multiple_organ_failure", death=True,
        outcome="fatal", term="multi-organ failure"))                                                    # exempt SAE
    services.report_event(user=nurse, participant=participant, values=sae(
        participant, serious=False, hospitalisation=False, prespecified="", severity="mild", outcome="recovered",
        related=True, term="flushing"))                                                                 # not serious
    return a, b


def test_annual_report_reconciles_with_the_cases(trial, participant, rsi):
    a, b = _cases(trial, participant, rsi)
    now = timezone.now()
    r = annual_report(Case.objects.all(), period_start=now - dt.timedelta(days=365), period_end=now)
    serious_cases = {v.case_id for v in CaseVersion.objects.filter(serious=True)}
    assert r.count("serious adverse events") == (len(serious_cases), len(serious_cases)) == (3, 3)
    assert r.count("serious adverse reactions") == (2, 2)
    assert {s.case_id for s in r.sars} == {a.number, b.number}
    assert {s.sponsor_causality for s in r.sars} == {"no opinion", "related"}
    assert r.count("exempt from expedited reporting") == (1, 1) and r.count("fatal") == (1, 1)
    assert r.count("criterion: results in death") == (1, 1)
    assert r.count("prespecified: severe bleeding") == (1, 1)
    # no direct identifiers: coded subjects only
    assert {s.coded_subject for s in r.sars} == {participant.number}
    # a later period: nothing new in it, everything cumulative
    later = annual_report(Case.objects.all(), period_start=now + dt.timedelta(seconds=1),
                          period_end=now + dt.timedelta(days=1))
    assert later.count("serious adverse events") == (0, 3) and later.sars == []


def test_annual_report_page_and_api(trial, participant, rsi, client_for, api_for):
    _cases(trial, participant, rsi)
    today = timezone.localdate()
    page = client_for("pharmacovigilance").get("/safety/annual/").content.decode()
    assert "Line listing of serious adverse reactions" in page and "ventilator-associated pneumonia" in page
    body = api_for("pharmacovigilance").get(
        f"/api/v1/safety/annual-report?period_start={today - dt.timedelta(days=30)}&period_end={today}").json()
    tab = {t["category"]: t for t in body["tabulation"]}
    assert tab["serious adverse events"]["cumulative"] == 3 and len(body["sars"]) == 2
    assert client_for("nurse_hgh").get("/safety/annual/").status_code == 403
    assert client_for("monitor").get("/safety/annual/?period_start=garbage").status_code == 400
    r = api_for("monitor").get(f"/api/v1/safety/annual-report?period_start={today}"
                               f"&period_end={today - dt.timedelta(days=1)}")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "period_end"


def test_case_pdf_holds_the_elements(trial, participant, client_for):
    case = services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    r = client_for("monitor").get(f"/safety/cases/{case.number}/case.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = readable(r.content)
    for element in ("EU trial number", "Worldwide case id", case.number, "trial drug"):
        assert element in text, element
    assert not re.search("iloprost|placebo", text, re.I)


def test_e2b_shaped_xml_keeps_the_worldwide_id_and_increases_the_version(trial, participant, client_for):
    import xml.etree.ElementTree as ET

    from shine.trial.safety.e2b import HL7, ROOT_MESSAGE, ROOT_WORLDWIDE

    nurse = trial["nurse_hgh"]
    case = services.report_event(user=nurse, participant=participant, values=sae(participant, meddra_version="27.1",
                                                                                 meddra_code="10017955"))
    c = client_for("monitor")

    def ids():
        r = c.get(f"/safety/cases/{case.number}/case.xml")
        assert r.status_code == 200 and r["Content-Type"] == "application/xml"
        root = ET.fromstring(r.content)
        ns = {"h": HL7}
        event = root.find("h:PORR_IN049016UV/h:controlActProcess/h:subject/h:investigationEvent", ns)
        message_id = root.find("h:PORR_IN049016UV/h:id", ns).get("extension")
        by_root = {e.get("root"): e.get("extension") for e in event.findall("h:id", ns)}
        # N.2.r.1 must be identical to C.1.1 (an ICH business rule)
        assert by_root[ROOT_MESSAGE] == message_id
        assert event.find(".//h:value[@codeSystem='2.16.840.1.113883.6.163']", ns).get("code") == "10017955"
        assert not re.search("iloprost|placebo", r.content.decode(), re.I)
        return by_root
    first = ids()
    services.add_follow_up(user=nurse, case=case, values=sae(participant, outcome="recovered", meddra_version="27.1",
                                                             meddra_code="10017955", aware_at=timezone.now()))
    second = ids()
    assert first[ROOT_WORLDWIDE] == second[ROOT_WORLDWIDE]
    assert first[ROOT_MESSAGE].endswith("-v1") and second[ROOT_MESSAGE].endswith("-v2")
