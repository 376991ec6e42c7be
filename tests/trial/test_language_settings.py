"""The language of the pages: the user's own setting (audited), else the browser's; the login page's switch; the
API always in English."""

import json
import re

import pytest
from django.core import mail
from django.test import Client

from shine.trial.accounts import services
from shine.trial.audit import services as audit
from shine.trial.audit.models import AuditEvent
from shine.trial.errors import Refused

from .conftest import PASSWORD, SYSTEM


def danish(user):
    return audit.update(user, actor=SYSTEM, reason="test", language="da")


def test_a_danish_user_sees_danish_pages_and_navigation(users, client_for):
    danish(users["nurse_hgh"])
    page = client_for("nurse_hgh").get("/")
    text = page.content.decode()
    assert page.status_code == 200 and page["Content-Language"] == "da"
    assert '<html lang="da">' in text
    assert "Logget ind som" in text and "Forskningssygeplejerske" in text and "Log ud" in text
    assert ">Deltagere</a>" in text and ">Screeningslog</a>" in text  # the navigation
    assert "Dine centre" in text and "se deltagere" in text  # the role's permissions, as words
    assert "Signed in as" not in text and "Research nurse" not in text


def test_the_login_page_follows_the_language_switch(users):
    c = Client()
    english = c.get("/login/").content.decode()
    assert "Username" in english and 'action="/i18n/setlang/"' in english
    switched = c.post("/i18n/setlang/", {"language": "da", "next": "/login/"})
    assert switched.status_code == 302 and switched["Location"] == "/login/"
    page = c.get("/login/")
    text = page.content.decode()
    assert page["Content-Language"] == "da" and "Brugernavn" in text and "Adgangskode" in text
    assert 'lang="en">English</button>' in text  # each language named in itself
    # a plain form: no inline script (the page's only script is the shared static one), the CSP kept
    assert re.findall(r"<script[^>]*>", text) == ['<script src="/static/tables.js" defer>']
    assert "Content-Security-Policy" in page.headers
    wrong = c.post("/login/", {"username": "nurse_hgh", "password": "not-the-password"})
    assert wrong.status_code == 400 and "forkert brugernavn eller adgangskode" in wrong.content.decode()
    assert c.post("/login/", {"username": "nurse_hgh", "password": PASSWORD}).status_code == 302
    assert "Logget ind som" in c.get("/").content.decode()  # the browser's choice, for a user with none


@pytest.mark.parametrize(("accept", "expected", "absent"), [
    ("da", "Logget ind som", "Signed in as"),
    ("da-DK,da;q=0.9,en;q=0.5", "Logget ind som", "Signed in as"),
    ("en", "Signed in as", "Logget ind som"),
    ("", "Signed in as", "Logget ind som"),  # neither: the fallback, English
])
def test_a_user_with_no_setting_gets_the_browser_language(users, accept, expected, absent):
    assert users["monitor"].language == ""
    c = Client(headers={"Accept-Language": accept} if accept else {})
    c.force_login(users["monitor"])
    text = c.get("/").content.decode()
    assert expected in text and absent not in text


def test_the_users_setting_wins_over_the_browser(users):
    c = Client(headers={"Accept-Language": "da"})
    c.force_login(audit.update(users["monitor"], actor=SYSTEM, reason="test", language="en"))
    assert "Signed in as" in c.get("/").content.decode()


def test_a_user_sets_their_language_on_the_account_page_and_it_is_audited(users, client_for):
    c = client_for("nurse_hgh")
    page = c.get("/account/password/").content.decode()
    assert 'name="language"' in page and "Browser default" in page and "Dansk" in page
    saved = c.post("/account/password/", {"language": "da", "language_form": "1"})
    assert saved.status_code == 302 and saved["Location"] == "/account/password/"
    ev = AuditEvent.objects.order_by("-id").first()
    assert (ev.action, ev.actor, ev.object_type, ev.object_id) == ("update", "nurse_hgh", "accounts.user",
                                                                    str(users["nurse_hgh"].pk))
    assert json.loads(ev.changes) == {"language": ["", "da"]} and ev.reason == "language setting"
    users["nurse_hgh"].refresh_from_db()
    assert users["nurse_hgh"].language == "da"
    after = c.get("/account/password/").content.decode()
    assert "Dit sprogvalg er gemt." in after and "Skift din adgangskode" in after
    assert '<option value="da" selected' in after
    back = c.post("/account/password/", {"language": "", "language_form": "1"})  # back to the browser's
    assert back.status_code == 302
    users["nurse_hgh"].refresh_from_db()
    assert users["nurse_hgh"].language == ""
    assert "Your language setting is saved." in c.get("/account/password/").content.decode()


def test_an_unknown_language_is_refused(users, client_for):
    with pytest.raises(Refused, match="unknown language 'xx'"):
        services.set_language(users["nurse_hgh"], actor=SYSTEM, language="xx")
    refused = client_for("nurse_hgh").post("/account/password/", {"language": "xx", "language_form": "1"})
    assert refused.status_code == 400
    users["nurse_hgh"].refresh_from_db()
    assert users["nurse_hgh"].language == ""


def test_a_refusal_on_the_password_page_is_danish(users):
    danish(users["nurse_hgh"])
    c = Client()
    assert c.post("/login/", {"username": "nurse_hgh", "password": PASSWORD}).status_code == 302
    wrong = c.post("/account/password/", {"current_password": "not-it-at-all",
                                          "new_password": "a long new passphrase for the ward"})
    text = wrong.content.decode()
    assert wrong.status_code == 400 and "den nuværende adgangskode er forkert" in text
    assert "Nuværende adgangskode" in text and "current password is wrong" not in text


def test_the_api_answers_in_english_for_a_danish_user(users, api_for):
    danish(users["nurse_hgh"])
    api = api_for("nurse_hgh")
    me = api.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["role_label"] == "Research nurse"
    assert me["Content-Language"] == "en"
    session = Client()
    session.force_login(users["nurse_hgh"])
    refused = session.post("/api/v1/me/password", {"current_password": "not-it-at-all",
                                                   "new_password": "a long new passphrase for the ward"},
                           content_type="application/json")
    assert "current password is wrong" in refused.content.decode()


def test_the_lockout_mail_is_in_each_recipients_language(users, settings, django_capture_on_commit_callbacks):
    settings.LOGIN_MAX_FAILURES = 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    audit.update(users["admin"], actor=SYSTEM, reason="mail", email="admin@hospital.example")
    audit.update(users["nurse_hgh"], actor=SYSTEM, reason="mail", email="nurse@hospital.example", language="da")
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(2):
            Client().post("/login/", {"username": "nurse_hgh", "password": f"wrong-{i}-guess"})
    by_address = {m.to[0]: m for m in mail.outbox}
    assert sorted(by_address) == ["admin@hospital.example", "nurse@hospital.example"]
    assert "locked for 15 minutes" in by_address["admin@hospital.example"].body
    assert "er låst i 15 minutter" in by_address["nurse@hospital.example"].body
    assert "forkerte adgangskoder" in by_address["nurse@hospital.example"].body


def test_the_progress_and_recommendation_pages_are_danish_for_a_danish_user(users, client_for):
    danish(users["trial_manager"])
    progress = client_for("trial_manager").get("/reports/progress/").content.decode()
    assert "Fremdrift mod interimanalysen" in progress and "Dage fra besøg til indtastning" in progress
    assert "Progress to the interim" not in progress
    danish(users["dsmb_statistician"])
    page = client_for("dsmb_statistician").get("/reports/recommendations/").content.decode()
    assert "Registrér en anbefaling" in page and "fortsæt uændret" in page and "Mødedato" in page


def test_a_danish_request_leaves_the_next_work_of_its_thread_in_english(users, client_for):
    from django.utils import translation

    client = client_for("nurse_hgh")
    assert "lang=\"da\"" in client.get("/", headers={"Accept-Language": "da"}).content.decode()
    assert translation.get_language() == "en"  # a mail or a command run next in this thread is not Danish
    client.get("/screening", headers={"Accept-Language": "da"})  # answered by a redirect before the page
    assert translation.get_language() == "en"
