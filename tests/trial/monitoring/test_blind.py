"""Blind leak of the monitoring pages and API with queries, verifications, a signature and a lock present: as
every blinded role, nothing that comes back names an arm (the central crawl also visits these routes, on a
trial without monitoring data)."""

import pytest
from django.utils import timezone

from shine.trial.enrollment.models import Participant
from shine.trial.monitoring import field_sdv, services, visits
from tests.trial.allocation.test_blind_leak import BLINDED, check, running_trial  # noqa: F401  (fixture)
from tests.trial.conftest import PASSWORD


@pytest.fixture
def monitored(running_trial):  # noqa: F811
    users = running_trial
    p = Participant.objects.get(number="HGH-0001")
    services.create_plan(user=users["data_manager"], rules=services.DEFAULT_RULES)
    q = services.raise_query(user=users["monitor"], participant=p, form="eligibility", object_id=p.screening_id,
                             field="stm_ng_ml", text="sTM on the source?")
    services.transition(user=users["nurse_hgh"], query=q, action="answer", text="Checked")
    services.raise_query(user=users["monitor"], participant=p, text="candidate", candidate=True)
    services.verify(user=users["monitor"], participant=p, form="eligibility", object_id=p.screening_id)
    services.sign(user=users["investigator_hgh"], participant=p, meaning="review", password=PASSWORD)
    lk = services.lock(user=users["data_manager"], participant=p, reason="clean")
    field_sdv.verify_fields(user=users["monitor"], participant=p, form="eligibility", object_id=p.screening_id,
                            fields=["lactate_mmol_l"])
    visits.record_visit(user=users["monitor"], site_code="HGH", visit_date=timezone.localdate(), kind="routine",
                        findings="ISF complete", actions="none")
    return {"participant": p, "query": q, "lock": lk}


@pytest.mark.parametrize("persona", BLINDED)
def test_monitoring_pages_and_api_show_no_arm(monitored, persona, client_for, api_for):
    c, api = client_for(persona), api_for(persona)
    n, q, lk = monitored["participant"].number, monitored["query"], monitored["lock"]
    for url in ["/monitoring/queries/", "/monitoring/queries/?state=answered&site=HGH",
                f"/monitoring/queries/{q.number}/",
                "/monitoring/sdv/", "/monitoring/sdv/plan/", f"/participants/{n}/queries/", f"/participants/{n}/sdv/",
                f"/participants/{n}/casebook/", "/participants/RH-0001/casebook/",
                f"/participants/{n}/sdv/eligibility/{monitored['participant'].screening_id}/",
                "/monitoring/database-lock/", "/monitoring/central/", "/monitoring/visits/", "/monitoring/visits/1/"]:
        check(persona, url, c.get(url))
    for url in ["/api/v1/monitoring/queries", f"/api/v1/monitoring/queries/{q.label}", "/api/v1/monitoring/sdv/plans",
                "/api/v1/monitoring/sdv/progress", f"/api/v1/participants/{n}/sdv",
                f"/api/v1/participants/{n}/casebook", "/api/v1/monitoring/database-lock", "/api/v1/monitoring/visits",
                "/api/v1/monitoring/visits/MV-0001",
                f"/api/v1/participants/{n}/sdv/eligibility/{monitored['participant'].screening_id}"]:
        check(persona, url, api.get(url))
    for url, body in [(f"/api/v1/monitoring/queries/{q.label}/transitions", {"action": "close", "text": "ok"}),
                      ("/api/v1/monitoring/queries", {"participant_id": n, "text": "x", "form": "daily",
                                                      "object_id": "1"}),
                      (f"/api/v1/participants/{n}/signatures", {"meaning": "review", "password": "wrong"}),
                      (f"/api/v1/monitoring/locks/{lk.pk}/unlock", {"reason": "x"}),
                      ("/api/v1/monitoring/database-lock", {"reason": "final"}),
                      ("/api/v1/monitoring/visits/MV-0001/signature", {"password": "wrong"}),
                      (f"/api/v1/participants/{n}/sdv/field-verifications",
                       {"form": "eligibility", "object_id": str(monitored["participant"].screening_id),
                        "fields": ["stm_ng_ml"]})]:
        check(persona, f"POST {url}", api.post(url, body, content_type="application/json"))
