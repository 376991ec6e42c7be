"""Blind leak: as every blinded role, visit every page and endpoint of a trial with randomised participants,
error paths included, and find no arm name, arm code or pack-to-arm mapping anywhere in what comes back."""

import base64
import io
import re
import zipfile
import zlib

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from shine import protocol
from shine.trial.accounts.roles import ROLES
from shine.trial.accounts.services import create_user
from shine.trial.allocation import services as allocation
from shine.trial.allocation.models import Allocation, Pack, RandomisationList
from shine.trial.enrollment import services as enrolment
from shine.trial.enrollment.models import Participant, Screening
from tests.support import ARM_WORDS
from tests.trial.conftest import PASSWORD, PERSONAS, SYSTEM
from tests.trial.enrollment.factories import enrolled, randomised, screening, trial_setup

P = protocol.load()
FORBIDDEN = ARM_WORDS
BLINDED = [name for name, (role, _) in PERSONAS.items() if ROLES[role].blinded]


@pytest.fixture
def running_trial(trial, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # enough packs of each arm at HGH for every randomisation below, however the blocks fall
    trial_setup(trial["pharmacist"], packs=6)
    nurse, nurse_rh = trial["nurse_hgh"], trial["nurse_rh"]
    for _ in range(3):
        randomised(nurse)
    for _ in range(2):
        randomised(nurse_rh, "RH")
    waiting = enrolled(nurse)
    enrolment.record_consent(waiting, user=nurse, kind="next_of_kin_consent", occurred_at=timezone.now(),
                             consenter_name="Eva", form_version="v1")
    p = Participant.objects.get(number="HGH-0002")
    enrolment.record_consent(p, user=nurse, kind="withdrawal", consenter_role="patient", consenter_name="Ole",
                             occurred_at=timezone.now(), use_data_collected=True, continue_vital_status_follow_up=True)
    screening(nurse, stm_ng_ml=4)
    screening(nurse, stm_ng_ml=None)
    # another investigator at HGH unblinds HGH-0001: the list of unblindings exists, investigator_hgh stays blind
    other, _ = create_user(actor=SYSTEM, username="inv_b", role="investigator", sites=["HGH"], password=PASSWORD)
    allocation.emergency_unblind(Participant.objects.get(number="HGH-0001"), user=other,
                                 reason="uncontrolled bleeding, need to know", password=PASSWORD)
    pharmacist = trial["pharmacist"]
    allocation.create_packs(user=pharmacist, count_per_arm=1)
    returned = Pack.objects.filter(site__code="RH", status="at_site").first()
    allocation.pack_event(user=pharmacist, numbers=[returned.number], kind="returned", note="damaged")
    # a serious adverse event assessed by pharmacovigilance as expected (no SUSAR: no one is unblinded by it)
    from shine.trial.safety import services as safety

    hgh3 = Participant.objects.get(number="HGH-0003")
    case = safety.report_event(user=nurse, participant=hgh3, values={
        "term": "bleeding", "onset_at": hgh3.randomised_at, "aware_at": timezone.now(), "serious": True,
        "hospitalisation": True, "severity": "severe", "outcome": "recovering", "action": "stopped",
        "prespecified": "severe_bleeding", "related": True})
    pv = trial["pharmacovigilance"]
    safety.add_rsi(user=pv, version="SmPC", approved_on=timezone.localdate(), in_force_from=hgh3.randomised_at,
                   expected_reactions="bleeding")
    safety.assess(user=pv, case=case, expected=True)
    return trial


def readable(raw: bytes) -> str:
    """The text of a response, with zip members (exports) and compressed PDF streams (labels) opened."""
    parts = [raw]
    if raw[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            parts += [name.encode() for name in z.namelist()] + [z.read(name) for name in z.namelist()]
    if raw[:5] == b"%PDF-":
        for stream in re.findall(rb"stream\r?\n(.*?)\r?\n?endstream", raw, re.S):
            try:
                data = base64.a85decode(stream.strip()[:-2]) if stream.strip().endswith(b"~>") else stream
                parts.append(zlib.decompress(data))
            except (ValueError, zlib.error):
                pass
    return b"\n".join(parts).decode("utf-8", errors="replace")


def check(persona: str, what: str, response) -> None:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    body = readable(raw).lower()
    headers = " ".join(f"{k}: {v}" for k, v in response.items()).lower()
    # the list's seed regenerates the list: it is as secret as the arms
    for word in FORBIDDEN | set(RandomisationList.objects.values_list("seed", flat=True)):
        assert word not in body, f"{persona} saw {word!r} in {what} ({response.status_code})"
        assert word not in headers, f"{persona} saw {word!r} in the headers of {what}"
    assert response.status_code < 500, f"{persona}: {what} gave {response.status_code}"


def _fill(route: str, values: dict[str, list[str]]) -> list[str]:
    """Every URL of a route with its placeholders (``<int:pk>`` or ``{participant_id}``) filled in."""
    urls = [route]
    for name in re.findall(r"<(?:\w+:)?(\w+)>|\{(\w+)\}", route):
        name = name[0] or name[1]
        urls = [re.sub(rf"<(?:\w+:)?{name}>|\{{{name}\}}", v, u, count=1)
                for u in urls for v in values.get(name, ["1"])]
    return urls


def _values() -> dict[str, list[str]]:
    numbers = list(Participant.objects.order_by("pk").values_list("number", flat=True))
    screenings = [str(pk) for pk in Screening.objects.values_list("pk", flat=True)]
    list_ids = [str(pk) for pk in RandomisationList.objects.values_list("pk", flat=True)]
    return {"key": numbers + ["HGH-9999", "nonsense"], "participant_id": numbers + ["HGH-9999"],
            "pk": screenings + list_ids + ["999999"], "screening_id": screenings + ["999999"],
            "list_id": list_ids + ["999999"], "code": ["HGH", "RH", "XX"], "day": ["1", "28"],
            "number": ["PK-100000"], "case": ["HGH-0003-E1", "HGH-0003-E9", "nonsense"],
            "case_id": ["HGH-0003-E1", "HGH-0003-E9"]}


def pages(persona) -> list[str]:
    """Every page of the site (every URL pattern, placeholders filled), plus filters and error paths."""
    from django.urls import URLPattern, get_resolver

    values = _values()
    urls = ["/no-such-page/", "/screening/?outcome=randomised", "/audit/?object_type=allocation.slot",
            "/audit/?object_type=allocation.pack", "/audit/?object_type=allocation.randomisationlist",
            "/audit/?date_from=2030-01-02&date_to=2030-01-01"]
    for p in get_resolver().url_patterns:
        if isinstance(p, URLPattern) and not str(p.pattern).startswith("api/") and p.name not in ("logout",):
            urls += _fill("/" + str(p.pattern), values)
    return urls


def endpoints() -> list[str]:
    """Every GET endpoint of the OpenAPI schema, placeholders filled, plus filters and error paths."""
    from django.test import Client

    schema = Client().get("/api/v1/openapi.json").json()
    values = _values()
    urls = ["/api/v1/openapi.json", "/api/v1/docs", "/api/v1/screenings?outcome=randomised",
            "/api/v1/audit?object_type=allocation.slot&page_size=1000",
            "/api/v1/audit?object_type=allocation.pack&page_size=1000", "/api/v1/screenings?page=0"]
    for path, methods in schema["paths"].items():
        if "get" in methods:
            urls += _fill(path, values)
    return urls


def posts(persona) -> list[tuple[str, dict]]:
    """Writes that must be refused (or that succeed without revealing anything)."""
    hgh1, rh1 = "HGH-0001", "RH-0001"
    bad_weight = {"weight_kg": 500, "weight_estimated": False, "request_id": f"leak-{persona}-w"}
    return [
        (f"/api/v1/participants/{hgh1}/randomise", {"weight_kg": 70, "weight_estimated": False, "request_id": "again"}),
        ("/api/v1/participants/HGH-0004/randomise", bad_weight),
        (f"/api/v1/participants/{rh1}/randomise", {"weight_kg": 70, "weight_estimated": False, "request_id": "x"}),
        (f"/api/v1/participants/{hgh1}/unblind", {"reason": "need to know now please", "password": "wrong"}),
        (f"/api/v1/participants/{hgh1}/unblind", {"reason": "x", "password": PASSWORD}),
        (f"/api/v1/participants/{hgh1}/consents", {"kind": "guardian_consent", "occurred_at": "2020-01-01T00:00Z"}),
        (f"/api/v1/participants/{hgh1}/consents", {"kind": "bogus", "occurred_at": "not a time"}),
        ("/api/v1/screenings", {"site": "HGH", "age": 500}),
        ("/api/v1/participants", {"screening_id": 999999, "consenter_name": "a", "second_consenter_name": "b",
                                  "occurred_at": "2020-01-01T00:00Z", "form_version": "v"}),
        ("/api/v1/allocation/lists", {"length_per_site": 10}),
        ("/api/v1/allocation/packs", {"count_per_arm": 1}),
        ("/api/v1/allocation/packs/events", {"kind": "received", "numbers": ["PK-1"], "site": "HGH"}),
    ]


@pytest.mark.parametrize("persona", BLINDED)
def test_no_page_or_endpoint_shows_the_arm(running_trial, persona, client_for, api_for):
    c, api = client_for(persona), api_for(persona)
    for url in pages(persona):
        check(persona, url, c.get(url))
    for url in endpoints():
        check(persona, url, api.get(url))
    for url, body in posts(persona):
        check(persona, f"POST {url}", api.post(url, body, content_type="application/json"))
        check(persona, f"POST {url} (bad JSON)", api.post(url, "{not json", content_type="application/json"))
    page_forms = [("/participants/HGH-0004/randomise/", {"weight_kg": "5", "weight_estimated": "false",
                                                         "request_id": "p"}),
                  ("/participants/HGH-0001/unblind/", {"reason": "need to know now please", "password": "wrong"}),
                  ("/participants/HGH-0001/consent/", {"kind": "died", "occurred_at": "garbage"}),
                  ("/screening/new/", {"site": "HGH", "screened_at": "x"}),
                  ("/allocation/lists/new/", {"length_per_site": "3"}),
                  ("/allocation/packs/", {"action": "create", "count_per_arm": "1"}),
                  # the daily record's refusals: a blank form, an ambiguous number, a dose with "no vasopressor"
                  ("/participants/HGH-0001/daily/new/", {"study_day": "1", "action": "save"}),
                  ("/participants/HGH-0001/daily/new/", {"study_day": "1", "bilirubin": "1,400.5", "action": "save"}),
                  ("/participants/HGH-0001/daily/new/", {"study_day": "1", "vasopressor": "false",
                                                         "norepinephrine": "0,2", "action": "preview"})]
    try:  # the blinded export of the data-capture module, when it is installed
        page_forms += [(reverse("records_export_download"), {"blinded": "true"}),
                       (reverse("records_export_download"), {"blinded": "false"})]
    except NoReverseMatch:
        pass
    for url, data in page_forms:
        check(persona, f"POST {url}", c.post(url, data))
    # the audit trail, every page of it, in the page and the API
    if ROLES[PERSONAS[persona][0]].can("view_audit"):
        first = api.get("/api/v1/audit?page_size=200").json()
        for n in range(1, first["pages"] + 1):
            check(persona, f"audit API page {n}", api.get(f"/api/v1/audit?page_size=200&page={n}"))
        html_pages = int(re.search(r"Page 1 of (\d+)", c.get("/audit/").content.decode()).group(1))
        for n in range(1, html_pages + 1):
            check(persona, f"audit page {n}", c.get(f"/audit/?page={n}"))
    # a successful randomisation by site staff shows pack, rate and volume, and nothing else
    if persona in ("nurse_hgh", "investigator_hgh"):
        p = enrolled(running_trial[persona])
        r = api.post(f"/api/v1/participants/{p.number}/randomise",
                     {"weight_kg": 70, "weight_estimated": True, "request_id": f"ok-{persona}"},
                     content_type="application/json")
        assert r.status_code == 200
        check(persona, "a successful randomisation (API)", r)
        q = enrolled(running_trial[persona])
        r = c.post(f"/participants/{q.number}/randomise/", {"weight_kg": "70", "weight_estimated": "false",
                                                            "request_id": f"page-{persona}"})
        assert r.status_code == 200 and "mL/h" in r.content.decode()
        check(persona, "a successful randomisation (page)", r)


def test_the_check_would_catch_a_leak(running_trial, client_for, api_for):
    """The unblinded roles do see arms on the same pages: the word check above is not vacuous."""
    page = client_for("pharmacist").get("/allocation/").content.decode().lower()
    assert any(a in page for a in FORBIDDEN)
    rows = api_for("dsmb_statistician").get("/api/v1/allocation/allocations").json()
    assert {r["arm"] for r in rows} <= set(P.arms) and len(rows) == Allocation.objects.count()
    audit = (api_for("auditor").get("/api/v1/audit?object_type=allocation.slot&action=create&page_size=5")
             .json()["events"])
    assert audit and all(ev["changes"]["arm"][1].startswith("hmac-sha256:") for ev in audit)


def test_the_check_reads_inside_exports_and_pdfs():
    from reportlab.pdfgen import canvas

    pdf = io.BytesIO()
    c = canvas.Canvas(pdf)
    c.drawString(100, 100, f"pack PK-123456 {P.control_arm}")
    c.save()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("participants.csv", f"participant_id,arm\nHGH-0001,{P.active_arm}\n")
    assert P.control_arm in readable(pdf.getvalue()) and P.control_arm.encode() not in pdf.getvalue()
    assert P.active_arm in readable(archive.getvalue()) and P.active_arm.encode() not in archive.getvalue()
