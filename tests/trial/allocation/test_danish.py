"""The allocation pages, refusals, mail and list checks in Danish: the user's language or the browser's, a
decimal comma in what is shown (never in values for scripts), and the same words whatever the arm."""

from pathlib import Path

import polib
import pytest
from django.core import mail
from django.utils import translation

from shine import protocol
from shine.trial.allocation import lists, services
from shine.trial.allocation.models import Allocation, Pack, RandomisationList, Unblinding
from shine.trial.audit import services as audit
from shine.trial.errors import Refused
from shine.web.formats import local_datetime
from tests.support import ARM_WORDS
from tests.trial.conftest import PASSWORD, SYSTEM
from tests.trial.enrollment.factories import enrolled, randomised, trial_setup

P = protocol.load()
CATALOGUE = Path(__file__).parents[3] / "src/shine/trial/allocation/locale/da/LC_MESSAGES/django.po"


def danish(users, name):
    audit.update(users[name], actor=SYSTEM, reason="test: Danish pages", language="da")


def test_randomisation_page_and_pump_rate_in_danish_with_a_decimal_comma(trial, client_for):
    danish(trial, "nurse_hgh")
    p = enrolled(trial["nurse_hgh"])
    c = client_for("nurse_hgh")
    form = c.get(f"/participants/{p.number}/randomise/").content.decode()
    assert f"Randomisér {p.number}" in form and "Vægt (kg)" in form
    r = c.post(f"/participants/{p.number}/randomise/",
               {"weight_kg": "70", "weight_estimated": "true", "request_id": "da-form-1"})
    assert r.status_code == 200, r.content.decode()[:3000]
    page = r.content.decode()
    a = Allocation.objects.get()
    assert "Pumpehastighed" in page and "Pakkenummer" in page and a.pack.number in page
    assert "2,10 mL/h" in page and "151,2 mL" in page and "2.10 mL/h" not in page
    assert not any(w in page.lower() for w in ARM_WORDS)


def test_a_randomisation_refusal_names_the_field_in_danish(trial, client_for):
    p = enrolled(trial["nurse_hgh"])
    c = client_for("nurse_hgh")
    r = c.post(f"/participants/{p.number}/randomise/",
               {"weight_kg": "500", "weight_estimated": "false", "request_id": "da-form-2"},
               HTTP_ACCEPT_LANGUAGE="da")
    assert r.status_code == 400
    page = r.content.decode()
    assert "vægten skal ligge mellem 30 og 300 kg" in page and "weight must" not in page
    assert not Allocation.objects.exists()


def test_the_out_of_packs_refusal_reads_the_same_in_danish_whatever_the_next_arm(users):
    trial_setup(users["pharmacist"], length_per_site=30, packs=1)
    randomised(users["nurse_hgh"])  # one arm has no pack left at HGH
    with translation.override("da"), pytest.raises(Refused) as e:
        randomised(users["nurse_hgh"])
    assert str(e.value) == ("der er ingen pakke med forsøgsmedicin på HGH: apoteket skal sende pakker før "
                            "randomisering")


def test_the_danish_catalogue_has_no_arm_word_and_no_arm_placeholder():
    """Arm names are data shown only to unblinded roles; no translated text may name or depend on an arm."""
    po = polib.pofile(str(CATALOGUE))
    assert po.percent_translated() == 100 and not po.fuzzy_entries()
    for e in po:
        text = (e.msgid + " " + e.msgstr).lower()
        assert not any(w in text for w in ARM_WORDS), e.msgid
        assert "%(arm)s" not in text, e.msgid


def test_pharmacy_pages_in_danish(trial, client_for):
    danish(trial, "pharmacist")
    c = client_for("pharmacist")
    home = c.get("/allocation/").content.decode()
    assert "Randomiseringslister" in home and "Pakker til rådighed på centrene" in home and "Side 1 af 1" in home
    assert "dannet i appen" in home  # the list's source, in words
    packs = c.get("/allocation/packs/").content.decode()
    assert "Mærk nye pakker på apoteket" in packs and "på centret, tilgængelig" in packs
    assert "Pakkenumre (adskilt med mellemrum eller komma)" in packs and "mærket på apoteket" in packs
    r = c.post("/allocation/packs/", {"action": "event", "kind": "received", "site": "", "numbers": "PK-000001"})
    assert r.status_code == 400 and "ukendt center" in r.content.decode()
    pack = Pack.objects.filter(status="central").first() or Pack.objects.filter(status="at_site").first()
    services.pack_event(user=trial["pharmacist"], numbers=[pack.number], kind="destroyed")
    r = c.post("/allocation/packs/", {"action": "event", "kind": "returned", "numbers": pack.number})
    assert r.status_code == 409 and f"pakke {pack.number} er destrueret; den kan ikke returneres" in r.content.decode()
    rlist = RandomisationList.objects.get()
    detail = c.get(f"/allocation/lists/{rlist.pk}/").content.decode()
    assert f"Randomiseringsliste {rlist.pk}" in detail and "Alle blokke er i balance." in detail
    assert "shine-pbr-1</code>: for hvert center i protokollens rækkefølge: permuterede blokke" in detail
    assert "CSV-fil med de samme kolonner som en listes manifest" in c.get("/allocation/lists/import/").content.decode()


def test_unblinding_page_in_danish_and_the_sponsor_mail_in_the_trial_language(trial, client_for, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SPONSOR_EMAILS = ["sponsor@example.org"]
    danish(trial, "investigator_hgh")
    p, _ = randomised(trial["nurse_hgh"])
    c = client_for("investigator_hgh")
    url = f"/participants/{p.number}/unblind/"
    form = c.get(url).content.decode()
    assert "Klinisk begrundelse for nødafblinding" in form and "Afblind" in form
    r = c.post(url, {"reason": "kort", "password": PASSWORD})
    assert r.status_code == 400 and "mindst 10 tegn" in r.content.decode()
    r = c.post(url, {"reason": "svær blødning, kirurgen spørger", "password": PASSWORD})
    assert r.status_code == 200 and "Vist kun for dig. Sponsor har fået besked." in r.content.decode()
    # the sponsor's configured address gets the trial's language (English here), not the investigator's
    m = mail.outbox[-1]
    assert "emergency unblinding of" in m.subject and "Investigator: " in m.body
    assert not any(w in (m.subject + m.body).lower() for w in ARM_WORDS)
    u = Unblinding.objects.get()
    with translation.override("en"):
        assert local_datetime(u.at) in m.body


def test_sponsor_mail_in_danish_when_the_trial_language_is_danish(trial, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SPONSOR_EMAILS = ["sponsor@example.org"]
    settings.LANGUAGE_CODE = "da"
    p, _ = randomised(trial["nurse_hgh"])
    services.emergency_unblind(p, user=trial["investigator_hgh"], reason="svær blødning, kirurgen spørger",
                               password=PASSWORD)
    m = mail.outbox[-1]
    assert f"nødafblinding af {p.number}" in m.subject and f"Deltager: {p.number} (center HGH)" in m.body
    with translation.override("da"):
        when = local_datetime(Unblinding.objects.get().at)
    assert f"Tidspunkt: {when}" in m.body and "." in when.split(" ")[0]  # 01.12.2026
    assert not any(w in (m.subject + m.body).lower() for w in ARM_WORDS)


def test_list_checks_and_weight_limits_in_danish():
    text = lists.manifest(lists.generate(seed=3, sites=("RH",), length=4, block_sizes=(2, 4), arms=P.arms))
    with translation.override("da"), pytest.raises(ValueError, match="linje 2: ukendt center 'XX'"):
        lists.parse(text.replace("\nRH,", "\nXX,", 1), sites=P.site_codes, arms=P.arms, block_sizes=(2, 4))
    with translation.override("da"):
        assert services._number(2.5) == "2,5" and services._number(30.0) == "30"
    assert services._number(2.5) == "2.5"


def test_the_allocation_command_in_danish(users, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    with translation.override("da"):
        with pytest.raises(CommandError, match="kan ikke læse"):
            call_command("allocation", "import", str(tmp_path / "none.csv"), "--user", "pharmacist")
        with pytest.raises(CommandError, match="ingen aktiv bruger 'nobody'"):
            call_command("allocation", "generate", "--user", "nobody", "--length", "4")
        out = StringIO()
        call_command("allocation", "verify", stdout=out)
    assert "OK: 0 lister passer med deres manifests SHA-256" in out.getvalue()
