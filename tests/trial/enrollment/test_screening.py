"""Screening: the form, the API and the service; the outcome at once; the log, counts and CONSORT numbers."""

import datetime as dt

import pytest
from django.utils import timezone

from shine.trial.audit.models import AuditEvent
from shine.trial.audit.verify import verify
from shine.trial.enrollment import services
from shine.trial.enrollment.models import Screening
from shine.trial.errors import Refused

from .factories import ELIGIBLE, screening


def local(t: dt.datetime) -> str:
    return timezone.localtime(t).strftime("%Y-%m-%dT%H:%M")


def form_data(**over):
    now = timezone.now()
    yes_no = {True: "true", False: "false", None: "unknown"}
    data = {"site": "HGH", "screened_at": local(now), "shock_diagnosed_at": local(now - dt.timedelta(hours=2))}
    for k, v in {**ELIGIBLE, **over}.items():
        data[k] = yes_no[v] if isinstance(v, bool) or v is None else v
    return data


def test_eligible_patient_through_the_page(client_for, users):
    c = client_for("nurse_hgh")
    assert c.get("/screening/new/").status_code == 200
    r = c.post("/screening/new/", form_data())
    assert r.status_code == 302, r.content.decode()[:2000]
    page = c.get(r["Location"]).content.decode()
    assert "Eligible" in page and "Record scientific guardian consent" in page
    s = Screening.objects.get()
    assert (s.outcome, s.assessment, s.site.code, s.screened_by.username) == ("eligible", "eligible",
                                                                              "HGH", "nurse_hgh")


def test_not_eligible_names_the_criteria_without_the_drug_name(client_for, users):
    c = client_for("nurse_hgh")
    r = c.post("/screening/new/", form_data(stm_ng_ml=8, hypersensitivity=True))
    page = c.get(r["Location"]).content.decode()
    assert "Not eligible" in page and "sTM 8 ng/mL is not above 10 ng/mL" in page
    assert "hypersensitivity to the trial drug" in page and "iloprost" not in page.lower()
    assert Screening.objects.get().reasons == "stm;hypersensitivity"


def test_not_yet_assessable_lists_missing_facts_and_can_be_completed(client_for, users):
    c = client_for("nurse_hgh")
    r = c.post("/screening/new/", form_data(stm_ng_ml="", sex="F", age=40, pregnant=None))
    s = Screening.objects.get()
    assert s.outcome == "not_assessable"
    page = c.get(r["Location"]).content.decode()
    assert "Not yet assessable" in page and "stm_ng_ml" in page and "pregnant" in page
    data = form_data(stm_ng_ml=15, sex="F", age=40, pregnant=False)
    del data["site"], data["screened_at"]
    assert c.post(f"/screening/{s.pk}/edit/", data).status_code == 400  # a reason is required
    data["reason"] = "sTM result arrived; hCG negative"
    assert c.post(f"/screening/{s.pk}/edit/", data).status_code == 302
    s.refresh_from_db()
    assert s.outcome == "eligible" and s.stm_ng_ml == 15
    assert verify().ok


@pytest.mark.parametrize(("over", "field", "words"), [
    ({"age": 130}, "age", "120"),
    ({"lactate_mmol_l": 45}, "lactate_mmol_l", "between 0 and 30"),
    ({"sex": "M", "pregnant": True}, "pregnant", "pregnant cannot be True"),
])
def test_impossible_facts_are_refused_on_the_field(client_for, users, over, field, words):
    r = client_for("nurse_hgh").post("/screening/new/", form_data(**over))
    assert r.status_code == 400
    assert words in r.content.decode()
    assert not Screening.objects.exists()


def test_times_are_checked(users):
    nurse = users["nurse_hgh"]
    now = timezone.now()
    with pytest.raises(Refused, match="must not be in the future") as e:
        services.screen(user=nurse, site_code="HGH", screened_at=now + dt.timedelta(hours=1), **ELIGIBLE)
    assert e.value.field == "screened_at"
    with pytest.raises(Refused, match="before shock_diagnosed_at"):
        services.screen(user=nurse, site_code="HGH", screened_at=now - dt.timedelta(hours=2),
                        shock_diagnosed_at=now - dt.timedelta(hours=1), **ELIGIBLE)
    s, a = services.screen(user=nurse, site_code="HGH", screened_at=now,
                           shock_diagnosed_at=now - dt.timedelta(hours=13),
                           **ELIGIBLE)
    assert a.codes == ("time_window",) and s.outcome == "not_eligible"


def test_screening_api(api_for, users):
    api = api_for("nurse_hgh")
    now = timezone.now()
    body = {**ELIGIBLE, "site": "HGH", "shock_diagnosed_at": (now - dt.timedelta(hours=1)).isoformat()}
    r = api.post("/api/v1/screenings", body, content_type="application/json")
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["assessment"] == {"eligible": True, "outcome": "eligible", "failed": [], "missing": []}
    assert out["outcome"] == "eligible" and out["participant"] is None
    r = api.post("/api/v1/screenings", {**body, "stm_ng_ml": 5}, content_type="application/json")
    assert r.json()["assessment"]["failed"][0]["code"] == "stm"
    r = api.post("/api/v1/screenings", {**body, "age": 300}, content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "age"
    r = api.post("/api/v1/screenings", {**body, "age": "old"}, content_type="application/json")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "age"
    r = api.post("/api/v1/screenings", {**body, "site": "RH"}, content_type="application/json")
    assert r.status_code == 404
    listing = api.get("/api/v1/screenings").json()
    assert listing["count"] == 2 and {s["outcome"] for s in listing["screenings"]} == {"eligible", "not_eligible"}
    assert api_for("nurse_rh").get("/api/v1/screenings").json()["count"] == 0
    assert api_for("monitor").get("/api/v1/screenings").json()["count"] == 2
    r = api_for("monitor").post("/api/v1/screenings", body, content_type="application/json")
    assert r.status_code == 403


def test_not_randomised_reason_and_consort(api_for, client_for, users):
    nurse = users["nurse_hgh"]
    s1 = screening(nurse)
    screening(nurse, stm_ng_ml=5)
    screening(nurse, age=17)
    screening(users["nurse_rh"], "RH")
    api = api_for("nurse_hgh")
    r = api.post(f"/api/v1/screenings/{s1.pk}/not-randomised", {"reason": "other"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "note"
    r = api.post(f"/api/v1/screenings/{s1.pk}/not-randomised", {"reason": "no_guardian"},
                 content_type="application/json")
    assert r.status_code == 200 and r.json()["outcome"] == "eligible_not_randomised"
    r = api.post(f"/api/v1/screenings/{s1.pk}/not-randomised", {"reason": "declined"}, content_type="application/json")
    assert r.status_code == 409
    summary = api_for("monitor").get("/api/v1/screenings/summary").json()
    c = summary["consort"]
    counts = (c["screened"], c["not_eligible"], c["eligible"], c["not_randomised"], c["awaiting_decision"])
    assert counts == (4, 2, 2, 1, 1)
    assert c["not_eligible_by_criterion"] == {"age": 1, "stm": 1}
    assert c["not_randomised_by_reason"] == {"no_guardian": 1}
    month = timezone.now().strftime("%Y-%m")
    assert {(m["site"], m["month"], m["screened"]) for m in summary["per_site_month"]} == {("HGH", month, 3),
                                                                                             ("RH", month, 1)}
    assert api_for("nurse_rh").get("/api/v1/screenings/summary").json()["consort"]["screened"] == 1
    page = client_for("nurse_hgh").get("/screening/").content.decode()
    assert "CONSORT" in page and "no scientific guardian available in time 1" in page and "no_guardian" not in page


def test_every_screening_write_is_audited(users):
    before = AuditEvent.objects.count()
    screening(users["nurse_hgh"])
    assert AuditEvent.objects.count() == before + 1
    assert verify().ok
