"""The site's pages as tests walk them: every named URL, filled with the objects of one small trial (``world``),
and the persona whose page each one is. The garbage-in-every-field test and the language crawl share it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import URLPattern, get_resolver

from shine.trial.audit.models import AuditEvent

# the persona whose pages these are (a nurse for everything else)
OWNER = {"allocation": "pharmacist", "allocation_list_new": "pharmacist", "allocation_list_import": "pharmacist",
         "allocation_list": "pharmacist", "allocation_packs": "pharmacist", "participant_unblind": "investigator_hgh",
         "records_review": "monitor", "audit_trail": "monitor", "records_export": "statistician",
         "safety_assess": "pharmacovigilance", "safety_submission": "pharmacovigilance",
         "safety_rsi": "pharmacovigilance", "monitoring_record_fields": "monitor", "monitoring_visit": "monitor",
         "monitoring_visits": "monitor", "monitoring_sdv": "monitor", "monitoring_participant_sdv": "monitor",
         "monitoring_central": "monitor", "monitoring_sdv_plan": "data_manager",
         "monitoring_database_lock": "data_manager", "monitoring_casebook": "investigator_hgh",
         "reports_exports": "statistician",
         "reports_progress": "trial_manager", "reports_interim": "dsmb_statistician",
         "reports_recommendations": "dsmb_statistician", "safety_annual": "pharmacovigilance"}
# POST-only endpoints (their form lives on another page): the fields they read
POST_ONLY = {"screening_not_randomised": ["reason", "note"], "records_review": ["note"],
             "safety_assess": ["expected", "sponsor_related", "comment"], "safety_submission": ["kind", "at", "note"]}
# recorded refusals and password checks, no data
SECURITY_EVENTS = ("login_failed", "login_refused_locked", "unblind_refused", "unblind_refused_locked",
                   "unblind_password_ok", "permission_refused", "password_change_refused", "signature_refused")
SKIP = {"logout", "allocation_list_manifest", "records_sample_labels", "records_export_download",  # no form
        "safety_case_json", "safety_case_pdf", "safety_case_xml", "monitoring_casebook_pdf",
        "unblindings"}
FIELD = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"', re.I)


def data_events() -> int:
    return AuditEvent.objects.exclude(action__in=SECURITY_EVENTS).count()


def form_pages() -> list[tuple[str, URLPattern]]:
    return [(p.name, p) for p in get_resolver().url_patterns
            if isinstance(p, URLPattern) and p.name and p.name not in SKIP]


@pytest.fixture
def world(users):
    """A randomised HGH participant with baseline and a daily record, an eligible screening, an active list."""
    from shine.demo.randomisation import setup_randomisation
    from shine.trial.allocation.models import RandomisationList
    from shine.trial.records import services as records
    from tests.trial.enrollment.factories import screening
    from tests.trial.records.factories import SOFA_DAY, baseline_values, randomised_ago

    nurse = users["nurse_hgh"]
    setup_randomisation(pharmacist=users["pharmacist"], length_per_site=6, packs_per_arm_per_site=2)
    s = screening(nurse, "HGH")
    p = randomised_ago(nurse, days=3)
    records.save_baseline(user=nurse, participant=p, values=baseline_values(p))
    daily = records.create_daily_record(user=nurse, participant=p, study_day=1, values=dict(SOFA_DAY))
    records.record_blood_sample(user=nurse, participant=p, study_day=1, sample_id="HGH-G1",
                                drawn_at=p.randomised_at + dt.timedelta(hours=20))
    from shine.trial.safety import services as safety

    case = safety.report_event(user=nurse, participant=p, values={
        "term": "bleeding", "onset_at": p.randomised_at + dt.timedelta(hours=1), "serious": True,
        "aware_at": p.randomised_at + dt.timedelta(hours=2), "hospitalisation": True, "severity": "severe",
        "outcome": "recovering", "action": "stopped", "prespecified": "", "related": True})
    from shine.trial.monitoring import visits

    visit = visits.record_visit(user=users["monitor"], site_code="HGH", visit_date=dt.date.today(),
                                kind=visits.MonitoringVisit.Kind.values[0], findings="consent forms complete")
    return {"key": p.number, "code": "HGH", "day": 1, "form_name": "daily", "case": case.number,
            "form": "daily", "object_id": daily.pk, "number": visit.number,
            "pk": {"allocation_list": RandomisationList.objects.get(active=True).pk, "records_review": daily.pk},
            "screening": s.pk}


def url_for(name: str, pattern: URLPattern, world: dict) -> str:
    kwargs = {}
    for arg in pattern.pattern.converters:
        if arg == "pk":
            kwargs[arg] = world["pk"].get(name, world["screening"])
        elif arg == "day" and name == "records_followup":
            kwargs[arg] = 28
        else:
            kwargs[arg] = world[arg]
    route = str(pattern.pattern)
    for arg, value in kwargs.items():
        route = re.sub(rf"<(?:\w+:)?{arg}>", str(value), route)
    return "/" + route


