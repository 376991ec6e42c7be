"""randomise: the bedside answer, idempotent retries, and every refusal with nothing written."""

import pytest
from django.http import Http404
from django.utils import timezone

from shine import protocol
from shine.trial.allocation import services
from shine.trial.allocation.models import Allocation, Pack, PackEvent, RandomisationList, Slot
from shine.trial.audit.models import AuditEvent
from shine.trial.audit.verify import verify
from shine.trial.enrollment import services as enrolment
from shine.trial.errors import Refused
from tests.trial.enrollment.factories import enrolled, randomised, screening

ARMS = protocol.load().arms


def test_randomise_page_gives_pack_rate_and_volume(trial, client_for):
    p = enrolled(trial["nurse_hgh"])
    c = client_for("nurse_hgh")
    form = c.get(f"/participants/{p.number}/randomise/").content.decode()
    assert 'name="request_id"' in form
    data = {"weight_kg": "70", "weight_estimated": "true", "request_id": "form-abc-1"}
    r = c.post(f"/participants/{p.number}/randomise/", data)
    assert r.status_code == 200, r.content.decode()[:3000]
    page = r.content.decode()
    a = Allocation.objects.get()
    assert a.pack.number in page and "2.10 mL/h" in page and "151.2 mL" in page
    assert str(a.randomisation_number) in page and a.randomisation_number == 30001  # HGH is the 3rd site
    assert a.slot.site.code == "HGH" and a.slot.position == 1 and a.pack.arm == a.slot.arm
    assert a.pack.status == "dispensed" and a.pack.site.code == "HGH"
    p.refresh_from_db()
    assert (p.weight_kg, p.weight_estimated, p.randomisation_number) == (70.0, True, 30001)
    assert p.screening.outcome == "randomised"
    # a double submit of the same form returns the same answer and writes nothing
    n = AuditEvent.objects.count()
    again = c.post(f"/participants/{p.number}/randomise/", data)
    assert again.status_code == 200 and a.pack.number in again.content.decode()
    assert AuditEvent.objects.count() == n and Allocation.objects.count() == 1
    detail = c.get(f"/participants/{p.number}/").content.decode()
    assert a.pack.number in detail and "2.10 mL/h" in detail and "Randomise</a>" not in detail
    assert verify().ok


def test_randomise_api_is_idempotent_per_request_id(trial, api_for):
    p = enrolled(trial["nurse_hgh"])
    api = api_for("nurse_hgh")
    url = f"/api/v1/participants/{p.number}/randomise"
    r = api.post(url, {"weight_kg": 82.5, "weight_estimated": False}, content_type="application/json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "request_id"
    first = api.post(url, {"weight_kg": 82.5, "weight_estimated": False}, content_type="application/json",
                     headers={"Idempotency-Key": "key-0001"})
    assert first.status_code == 200, first.content
    out = first.json()
    assert out["infusion_rate_ml_per_h"] == pytest.approx(2.475) and out["planned_volume_ml"] == pytest.approx(178.2)
    assert out["duration_hours"] == 72 and out["pack_number"].startswith("PK-")
    retry = api.post(url, {"weight_kg": 82.5, "weight_estimated": False, "request_id": "key-0001"},
                     content_type="application/json")
    assert retry.json() == out
    other = api.post(url, {"weight_kg": 82.5, "weight_estimated": False, "request_id": "key-0002"},
                     content_type="application/json")
    assert other.status_code == 409 and "already randomised" in other.json()["detail"]
    q = enrolled(trial["nurse_hgh"])
    reuse = api.post(f"/api/v1/participants/{q.number}/randomise", {"weight_kg": 60, "weight_estimated": False,
                     "request_id": "key-0001"}, content_type="application/json")
    assert reuse.status_code == 409 and reuse.json()["errors"][0]["field"] == "request_id"
    detail = api.get(f"/api/v1/participants/{p.number}").json()
    assert detail["randomisation"]["pack_number"] == out["pack_number"]
    assert detail["allocation_unblinded"] is None


def nothing_written(fn, refusal=Refused):
    counts = (AuditEvent.objects.count(), Allocation.objects.count(), PackEvent.objects.count())
    used = Slot.objects.filter(used_at__isnull=False).count()
    with pytest.raises(refusal) as e:
        fn()
    assert (AuditEvent.objects.count(), Allocation.objects.count(), PackEvent.objects.count()) == counts
    assert Slot.objects.filter(used_at__isnull=False).count() == used
    return e.value


def call(p, user, weight=70, rid="r-1", estimated=False):
    return lambda: services.randomise(p, user=user, weight_kg=weight, weight_estimated=estimated, request_id=rid)


@pytest.mark.parametrize("weight", [29.9, 300.5, -1, "heavy", None, float("nan")])
def test_weight_out_of_range_is_refused(trial, weight):
    p = enrolled(trial["nurse_hgh"])
    e = nothing_written(call(p, trial["nurse_hgh"], weight=weight))
    assert e.field == "weight_kg" and "between 30 and 300 kg" in str(e)


def test_refusals_write_nothing(trial, api_for, client_for):
    nurse = trial["nurse_hgh"]
    p = enrolled(nurse)
    # consent refused before randomisation
    enrolment.record_consent(p, user=nurse, kind="next_of_kin_refusal", occurred_at=timezone.now(),
                             consenter_name="Eva", use_data_collected=False, continue_vital_status_follow_up=False)
    p.refresh_from_db()
    assert "refused or withdrawn" in str(nothing_written(call(p, nurse)))
    # twice
    q, r = randomised(nurse)
    assert "already randomised" in str(nothing_written(call(q, nurse, rid="another")))
    # another site's participant: 404 in pages and the API, refused in the service
    assert client_for("nurse_rh").post(f"/participants/{q.number}/randomise/", {}).status_code == 404
    assert api_for("nurse_rh").post(f"/api/v1/participants/{q.number}/randomise", {"weight_kg": 70,
                                    "weight_estimated": False, "request_id": "x"},
                                    content_type="application/json").status_code == 404
    s = enrolled(nurse)
    nothing_written(call(s, trial["nurse_rh"]), Http404)  # the service's own gate: as for no participant
    # roles that may not randomise
    for persona in ("monitor", "pharmacist"):
        assert client_for(persona).get(f"/participants/{s.number}/randomise/").status_code == 403
    # an eligible screening is no participant: there is nothing to randomise without the guardian's consent
    sc = screening(nurse)
    assert api_for("nurse_hgh").post(f"/api/v1/participants/S-{sc.pk}/randomise", {"weight_kg": 70,
                                     "weight_estimated": False, "request_id": "y"},
                                     content_type="application/json").status_code == 404
    assert verify().ok


def test_no_pack_at_the_site_is_refused_in_the_same_words_for_either_arm(trial):
    nurse = trial["nurse_hgh"]
    pharmacist = trial["pharmacist"]
    at_site = list(Pack.objects.filter(site__code="HGH", status="at_site").values_list("number", flat=True))
    services.pack_event(user=pharmacist, numbers=at_site, kind="returned", note="cold chain broken")
    p = enrolled(nurse)
    e = nothing_written(call(p, nurse))
    assert str(e) == "no trial drug pack is available at HGH: the pharmacy must send packs before randomisation"
    assert e.status == 409 and not any(arm in str(e).lower() for arm in ARMS)
    # packs of one arm only: the participant whose slot needs the other arm gets the same message
    services.create_packs(user=pharmacist, count_per_arm=2)
    slot = Slot.objects.filter(site__code="HGH", used_at__isnull=True).order_by("position").first()
    other = ARMS[1] if slot.arm == ARMS[0] else ARMS[0]
    central = list(Pack.objects.filter(status="central", arm=other).values_list("number", flat=True)[:2])
    services.pack_event(user=pharmacist, numbers=central, kind="received", site_code="HGH")
    assert str(nothing_written(call(p, nurse))) == str(e)
    central = list(Pack.objects.filter(status="central", arm=slot.arm).values_list("number", flat=True)[:1])
    services.pack_event(user=pharmacist, numbers=central, kind="received", site_code="HGH")
    assert services.randomise(p, user=nurse, weight_kg=70, weight_estimated=False, request_id="ok").pack_number == \
        central[0]


def test_no_active_list_and_a_used_up_list(users):
    from shine.demo.randomisation import setup_randomisation

    nurse = users["nurse_hgh"]
    p = enrolled(nurse)
    assert "no randomisation list is active" in str(nothing_written(call(p, nurse)))
    # as many packs of each arm as the longest block, so the list runs out before any arm does
    setup_randomisation(pharmacist=users["pharmacist"], length_per_site=2, packs_per_arm_per_site=6)
    size = Slot.objects.filter(site__code="HGH").count()
    for _ in range(size):
        randomised(nurse)
    assert "used up" in str(nothing_written(call(p, nurse)))
    rlist = RandomisationList.objects.get()
    services.retire_list(rlist, user=users["pharmacist"], reason="used up")
    assert not RandomisationList.objects.get().active


def test_slots_are_taken_in_order_per_site(trial):
    for site, nurse in (("HGH", "nurse_hgh"), ("RH", "nurse_rh"), ("HGH", "nurse_hgh")):
        randomised(trial[nurse], site)
    got = sorted(Allocation.objects.values_list("slot__site__code", "slot__position"))
    assert got == [("HGH", 1), ("HGH", 2), ("RH", 1)]
    for a in Allocation.objects.select_related("slot", "pack"):
        assert a.slot.arm == a.pack.arm


def test_pack_ledger_is_append_only_and_checked(trial, client_for, api_for):
    pharmacist = trial["pharmacist"]
    services.create_packs(user=pharmacist, count_per_arm=1)
    n = PackEvent.objects.count()
    pack = Pack.objects.filter(status="central").first()
    with pytest.raises(Refused, match="cannot be returned"):
        services.pack_event(user=pharmacist, numbers=[pack.number], kind="returned")
    with pytest.raises(Refused, match="unknown pack"):
        services.pack_event(user=pharmacist, numbers=["PK-000000"], kind="destroyed")
    services.pack_event(user=pharmacist, numbers=[pack.number], kind="destroyed", note="label misprint")
    assert PackEvent.objects.count() == n + 1
    assert list(pack.events.values_list("kind", flat=True)) == ["created", "destroyed"]
    with pytest.raises(Exception):
        services.pack_event(user=trial["nurse_hgh"], numbers=[pack.number], kind="returned")
    c = client_for("pharmacist")
    page = c.get("/allocation/packs/").content.decode()
    assert pack.number in page and "label misprint" in page
    r = c.post("/allocation/packs/", {"action": "create", "count_per_arm": "2"})
    assert r.status_code == 302
    r = c.post("/allocation/packs/", {"action": "event", "kind": "received", "site": "", "numbers": "PK-1"})
    assert r.status_code == 400 and "unknown site" in r.content.decode()
    stock = api_for("pharmacist").get("/api/v1/allocation/packs?site=HGH&status=at_site").json()
    assert len(stock) == 6 and {p["arm"] for p in stock} == set(ARMS)
    assert client_for("nurse_hgh").get("/allocation/packs/").status_code == 403
    assert verify().ok
