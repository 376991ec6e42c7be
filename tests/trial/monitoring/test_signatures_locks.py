"""Investigator signatures (password re-entered, broken by a later change) and locks (refused writes)."""

import pytest
from django.core.exceptions import PermissionDenied

from shine.trial.audit.models import AuditEvent
from shine.trial.errors import Refused
from shine.trial.monitoring import selectors, services
from shine.trial.monitoring.models import Signature
from shine.trial.records import services as records
from tests.trial.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_sign_then_a_change_breaks_the_signature(trial, day1):
    p, inv = day1.participant, trial["investigator_hgh"]
    with pytest.raises(Refused, match="password is wrong") as e:
        services.sign(user=inv, participant=p, meaning="approval", password="guess")
    assert e.value.status == 403 and not Signature.objects.exists()
    assert AuditEvent.objects.filter(action="signature_refused", actor=inv.username).count() == 1
    s = services.sign(user=inv, participant=p, meaning="approval", password=PASSWORD)
    assert s.printed_name and "21 CFR 11.100" in s.statement and "approval" in s.statement and len(s.content_hash) == 64
    assert [x.valid for x in selectors.signatures(p)] == [True]
    records.update_daily_record(user=trial["nurse_hgh"], record=day1, values={"platelets": 80}, partial=True,
                                reason="lab")
    assert [x.valid for x in selectors.signatures(p)] == [False]
    services.sign(user=inv, participant=p, meaning="approval", password=PASSWORD)
    assert sorted(x.valid for x in selectors.signatures(p)) == [False, True]


@pytest.mark.parametrize("persona", ["nurse_hgh", "monitor", "data_manager"])
def test_only_investigators_sign(trial, day1, persona):
    with pytest.raises(PermissionDenied):
        services.sign(user=trial[persona], participant=day1.participant, meaning="review", password=PASSWORD)


def test_signatures_cannot_be_edited(trial, day1):
    s = services.sign(user=trial["investigator_hgh"], participant=day1.participant, meaning="review",
                      password=PASSWORD)
    s.meaning = "approval"
    with pytest.raises(Exception):
        s.save()


def test_lock_refuses_until_unlocked(trial, day1):
    p, dm = day1.participant, trial["data_manager"]
    services.assert_not_locked(p, day1)
    one = services.lock(user=dm, participant=p, form="daily", object_id=day1.pk, reason="verified and clean")
    with pytest.raises(Refused, match="day 1 of .* is locked") as e:
        services.assert_not_locked(p, day1)
    assert e.value.status == 409
    services.assert_not_locked(p)  # the rest of the casebook is open
    with pytest.raises(Refused, match="already locked"):
        services.lock(user=dm, participant=p, form="daily", object_id=day1.pk, reason="again")
    whole = services.lock(user=dm, participant=p, reason="casebook complete")
    with pytest.raises(Refused, match="casebook of .* is locked"):
        services.assert_not_locked(p)
    with pytest.raises(PermissionDenied):
        services.unlock(user=trial["monitor"], lock=whole, reason="x")
    with pytest.raises(Refused, match="reason is required"):
        services.unlock(user=dm, lock=whole, reason=" ")
    services.unlock(user=dm, lock=whole, reason="query on day 2")
    services.unlock(user=dm, lock=one, reason="query on day 1")
    services.assert_not_locked(p, day1)
    with pytest.raises(Refused, match="already lifted"):
        services.unlock(user=dm, lock=one, reason="x")
    assert AuditEvent.objects.filter(object_type="monitoring.lock").count() == 4


def test_casebook_page_and_api(trial, day1, client_for, api_for):
    p = day1.participant
    inv = client_for("investigator_hgh")
    assert "Sign the casebook" in inv.get(f"/participants/{p.number}/casebook/").content.decode()
    r = inv.post(f"/participants/{p.number}/casebook/", {"action": "sign", "meaning": "review", "password": "no"})
    assert r.status_code == 403 and "password is wrong" in r.content.decode()
    r = inv.post(f"/participants/{p.number}/casebook/", {"action": "sign", "meaning": "review", "password": PASSWORD})
    assert r.status_code == 302
    page = inv.get(f"/participants/{p.number}/casebook/").content.decode()
    assert "valid" in page and "broken" not in page
    dm = client_for("data_manager")
    r = dm.post(f"/participants/{p.number}/casebook/", {"action": "lock", "record": "", "reason": "done"})
    assert r.status_code == 302
    assert client_for("nurse_rh").get(f"/participants/{p.number}/casebook/").status_code == 404
    assert client_for("statistician").get(f"/participants/{p.number}/casebook/").status_code == 403
    r = inv.post(f"/participants/{p.number}/casebook/", {"action": "lock", "reason": "x"})
    assert r.status_code == 403
    api = api_for("data_manager")
    book = api.get(f"/api/v1/participants/{p.number}/casebook").json()
    assert book["signatures"][0]["valid"] is True and book["locks"][0]["record"] == "whole casebook"
    r = api.post(f"/api/v1/monitoring/locks/{book['locks'][0]['id']}/unlock", {"reason": "reopen"},
                 content_type="application/json")
    assert r.status_code == 200 and r.json()["locks"][0]["unlocked_at"]
    r = api_for("investigator_hgh").post(f"/api/v1/participants/{p.number}/signatures",
                                         {"meaning": "approval", "password": PASSWORD}, content_type="application/json")
    assert r.status_code == 201 and len(r.json()["signatures"]) == 2
    r = api_for("monitor").post(f"/api/v1/participants/{p.number}/signatures",
                                {"meaning": "approval", "password": PASSWORD}, content_type="application/json")
    assert r.status_code == 403



def test_a_lock_is_enforced_where_the_forms_write(trial, day1, api_for):
    """The data manager's locks refuse the records services themselves (pages and API alike), with no extra
    statement on an unlocked save: the casebook lock is read in the participant's locking statement."""
    p, dm, nurse = day1.participant, trial["data_manager"], trial["nurse_hgh"]
    one = services.lock(user=dm, participant=p, form="daily", object_id=day1.pk, reason="verified and clean")
    with pytest.raises(Refused, match="day 1 of .* is locked") as e:
        records.update_daily_record(user=nurse, record=day1, values={"platelets": 80}, partial=True, reason="lab")
    assert e.value.status == 409
    r = api_for("nurse_hgh").patch(f"/api/v1/participants/{p.number}/daily-records/1",
                                   {"platelets": 80, "reason": "lab"}, content_type="application/json")
    assert r.status_code == 409 and "locked" in r.json()["detail"]
    services.unlock(user=dm, lock=one, reason="query on day 1")
    records.update_daily_record(user=nurse, record=day1, values={"platelets": 80}, partial=True, reason="lab")
    services.lock(user=dm, participant=p, reason="casebook complete")
    with pytest.raises(Refused, match="casebook of .* is locked"):
        records.update_daily_record(user=nurse, record=day1, values={"platelets": 81}, partial=True, reason="lab")
    day1.refresh_from_db()
    assert day1.platelets == 80


def test_the_casebook_names_each_record_once_in_either_language(trial, day1, client_for):
    """'Consent: scientific guardian consent', 'Eligibility (screening)' and 'ICU stay 1', not
    'Consent: consent: …', 'Eligibility (screening): eligibility' or 'ICU stay: ICU stay 1'."""
    import re

    from tests.language import danish

    url = f"/participants/{day1.participant.number}/casebook/"
    english = client_for("monitor").get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    names = re.findall(r'<li><a href="[^"]*">([^<]+)</a></li>', english)
    assert "Consent: scientific guardian consent" in names and "Eligibility (screening)" in names
    assert "Daily record: day 1" in names and "ICU stay 1" in names
    words = [danish(w) for w in ("Consent", "Eligibility (screening)", "scientific guardian consent")]
    page = client_for("monitor").get(url, HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert f"{words[0]}: {words[2]}" in page and f">{words[1]}</a>" in page
    danish_names = re.findall(r'<li><a href="[^"]*">([^<]+)</a></li>', page)
    assert len(danish_names) == len(names) == 5
    twice = [n for n in names + danish_names if re.match(r"(.+): \1(:| \d|$)", n, re.IGNORECASE)]
    assert not twice, twice
    sdv = client_for("monitor").get(f"/participants/{day1.participant.number}/sdv/", HTTP_ACCEPT_LANGUAGE="da")
    assert ">Registrering</th>" in sdv.content.decode()  # the noun, not the buttons' verb "Registrér"
