"""Emergency unblinding: investigator, reason, password; the arm to that user only; audited; sponsor told."""

from django.core import mail

from shine import protocol
from shine.trial.accounts.services import create_user
from shine.trial.allocation.models import Allocation, Unblinding
from shine.trial.audit.models import AuditEvent
from shine.trial.audit.verify import verify
from tests.trial.conftest import PASSWORD, SYSTEM
from tests.trial.enrollment.factories import enrolled, randomised

ARMS = protocol.load().arms


def test_unblinding_through_the_page(trial, client_for, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SPONSOR_EMAILS = ["sponsor@example.org", "qa@example.org"]
    p, _ = randomised(trial["nurse_hgh"])
    arm = Allocation.objects.get(participant=p).slot.arm
    c = client_for("investigator_hgh")
    assert "Emergency unblinding" in c.get(f"/participants/{p.number}/").content.decode()
    url = f"/participants/{p.number}/unblind/"
    r = c.post(url, {"reason": "bleeding", "password": PASSWORD})
    assert r.status_code == 400 and "at least 10 characters" in r.content.decode()
    r = c.post(url, {"reason": "severe bleeding, surgeon asks", "password": "wrong-password"})
    assert r.status_code == 403 and "password is wrong" in r.content.decode()
    assert not any(a in r.content.decode().lower() for a in ARMS)
    assert AuditEvent.objects.filter(action="unblind_refused", actor="investigator_hgh").count() == 1
    assert not Unblinding.objects.exists() and not mail.outbox
    r = c.post(url, {"reason": "severe bleeding, surgeon asks", "password": PASSWORD})
    assert r.status_code == 200 and f'<strong class="big" id="arm">{arm}</strong>' in r.content.decode()
    u = Unblinding.objects.get()
    assert (u.user.username, u.participant, u.clinical_reason) == ("investigator_hgh", p,
                                                                   "severe bleeding, surgeon asks")
    # the sponsor is told, without the arm
    assert len(mail.outbox) == 1
    m = mail.outbox[0]
    assert m.to == ["sponsor@example.org", "qa@example.org"] and p.number in m.subject
    assert "severe bleeding" in m.body and not any(a in (m.subject + m.body).lower() for a in ARMS)
    assert AuditEvent.objects.filter(action="sponsor_notified", object_id=str(u.pk)).exists()
    # the arm stays on this investigator's page of this participant only
    assert f'id="arm">{arm}<' in c.get(f"/participants/{p.number}/").content.decode()
    other_inv, _ = create_user(actor=SYSTEM, username="investigator2_hgh", role="investigator", sites=["HGH"],
                               password=PASSWORD)
    c2 = client_for("nurse_hgh")
    c2.force_login(other_inv)
    assert arm not in c2.get(f"/participants/{p.number}/").content.decode().lower()
    assert arm not in client_for("nurse_hgh").get(f"/participants/{p.number}/").content.decode().lower()
    q, _ = randomised(trial["nurse_hgh"])
    assert 'id="arm"' not in c.get(f"/participants/{q.number}/").content.decode()
    assert verify().ok


def test_unblinding_api_and_list(trial, api_for, client_for, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    p, _ = randomised(trial["nurse_hgh"])
    url = f"/api/v1/participants/{p.number}/unblind"
    body = {"reason": "anaphylaxis, need to know", "password": PASSWORD}
    assert api_for("nurse_hgh").post(url, body, content_type="application/json").status_code == 403
    assert api_for("nurse_rh").post(url, body, content_type="application/json").status_code == 404
    assert api_for("monitor").post(url, body, content_type="application/json").status_code == 403
    r = api_for("investigator_hgh").post(url, {**body, "password": ""}, content_type="application/json")
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "password"
    not_randomised = enrolled(trial["nurse_hgh"])
    r = api_for("investigator_hgh").post(f"/api/v1/participants/{not_randomised.number}/unblind", body,
                                         content_type="application/json")
    assert r.status_code == 409 and "not randomised" in r.json()["detail"]
    r = api_for("investigator_hgh").post(url, body, content_type="application/json")
    assert r.status_code == 200 and r.json()["allocation"] in ARMS
    detail = api_for("investigator_hgh").get(f"/api/v1/participants/{p.number}").json()
    assert detail["allocation_unblinded"] == r.json()["allocation"]
    assert api_for("nurse_hgh").get(f"/api/v1/participants/{p.number}").json()["allocation_unblinded"] is None
    for persona in ("dsmb_statistician", "trial_manager"):
        rows = api_for(persona).get("/api/v1/unblindings").json()
        assert [(u["participant"], u["investigator"]) for u in rows] == [(p.number, "investigator_hgh")]
        page = client_for(persona).get("/unblindings/").content.decode()
        assert p.number in page and "anaphylaxis" in page and 'href="/unblindings/"' in page
    for persona in ("nurse_hgh", "investigator_hgh", "monitor", "statistician", "auditor"):
        assert api_for(persona).get("/api/v1/unblindings").status_code == 403
        assert client_for(persona).get("/unblindings/").status_code == 403


def test_a_failing_mail_server_does_not_stop_the_unblinding(trial, api_for, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    p, _ = randomised(trial["nurse_hgh"])
    r = api_for("investigator_hgh").post(f"/api/v1/participants/{p.number}/unblind",
                                         {"reason": "cardiac arrest, need to know", "password": PASSWORD},
                                         content_type="application/json")
    assert r.status_code == 200
    assert AuditEvent.objects.filter(action="sponsor_notification_failed").count() == 1
    assert verify().ok
