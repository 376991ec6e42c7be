"""In Chromium on a phone (390 x 844): a monitor raises a query on a daily value, the site nurse corrects the
value on its form and answers, the monitor closes the query; the monitor verifies the corrected record
against the source, and the site's casebook shows it verified."""

import re

import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser

# an HGH daily record the nurse may still change: consent allows new data, platelets entered, no death
FIND = """
from shine.trial.records.models import DailyRecord
r = (DailyRecord.objects.filter(participant__site__code="HGH", participant__new_data_allowed=True,
     participant__death__isnull=True, platelets__isnull=False, needs_review=False)
     .order_by("participant__randomised_at", "study_day").first())
print(r.participant.number, r.study_day, r.pk, r.platelets)
"""


def test_query_raised_answered_with_a_correction_closed_and_verified_on_a_phone(phone_page, chromium, live_app):
    number, day, pk, platelets = live_app.shine("shell", "-c", FIND).stdout.strip().splitlines()[-1].split()
    monitor = phone_page
    log_in(monitor, "monitor", live_app.password)
    monitor.wait_for_url("**/")
    monitor.click("header >> text=Queries")
    monitor.wait_for_url("**/monitoring/queries/")
    monitor.goto(f"/participants/{number}/queries/")
    monitor.select_option("#id_record", f"daily:{pk}")
    monitor.fill("#id_field", "platelets")
    monitor.fill("#id_text", f"Platelets {platelets} on day {day}: the lab report says otherwise, please check.")
    monitor.click("main button[type=submit]")
    monitor.wait_for_url("**/monitoring/queries/*/")
    query_url = monitor.url
    assert "open" in monitor.locator("h1").inner_text()
    assert monitor.evaluate("document.documentElement.scrollWidth") <= 390

    nurse_context = chromium.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844},
                                         is_mobile=True, has_touch=True)
    nurse = nurse_context.new_page()
    log_in(nurse, "nurse", live_app.password)
    nurse.wait_for_url("**/")
    nurse.click("header >> text=Queries")
    nurse.wait_for_url("**/monitoring/queries/")
    label = re.search(r"/monitoring/queries/(\d+)/", query_url).group(1)
    nurse.click(f"a[href='/monitoring/queries/{label}/']")
    nurse.click("text=open the form")
    nurse.wait_for_url(f"**/participants/{number}/daily/{day}/")
    corrected = str(int(float(platelets)) + 7)
    nurse.fill("#id_platelets", corrected)
    nurse.fill("#id_reason", "query: platelets copied from the wrong lab report")
    nurse.click("#save-button")
    nurse.wait_for_url(f"**/participants/{number}/records/")
    nurse.goto(query_url)
    nurse.fill("#id_text", f"Corrected to {corrected} from the lab report of day {day}.")
    nurse.check("#id_corrected")
    nurse.click("button[value=answer]")
    nurse.wait_for_url(query_url)
    assert "answered" in nurse.locator("h1").inner_text()
    assert "Value corrected (audit event" in nurse.content()
    assert nurse.evaluate("document.documentElement.scrollWidth") <= 390
    nurse_context.close()

    monitor.goto(query_url)
    monitor.fill("#id_text", "Matches the lab report now.")
    monitor.click("button[value=close]")
    monitor.wait_for_url(query_url)
    assert "closed" in monitor.locator("h1").inner_text()

    monitor.goto(f"/participants/{number}/sdv/")
    row = monitor.locator(f"tr:has(a[href='/participants/{number}/daily/{day}/'])")
    assert row.locator(".badge").inner_text() in ("to verify", "re-verify", "not required")
    row.locator("button").click()
    monitor.wait_for_url(f"**/participants/{number}/sdv/")
    row = monitor.locator(f"tr:has(a[href='/participants/{number}/daily/{day}/'])")
    assert row.locator(".badge").inner_text() == "verified"
    assert monitor.evaluate("document.documentElement.scrollWidth") <= 390


# an HGH daily record with platelets and MAP that no earlier step verified field by field or changed
FIND_FIELDS = """
from shine.trial.monitoring.models import FieldVerification
from shine.trial.records.models import DailyRecord
done = set(FieldVerification.objects.values_list("object_id", flat=True))
r = next(r for r in DailyRecord.objects.filter(participant__site__code="HGH", participant__new_data_allowed=True,
         participant__death__isnull=True, platelets__isnull=False, map_mmhg__isnull=False, needs_review=False)
         .order_by("-participant__randomised_at", "study_day") if str(r.pk) not in done)
print(r.participant.number, r.study_day, r.pk, r.platelets)
"""


def test_monitor_verifies_fields_the_nurse_edits_one_it_shows_re_verify(phone_page, chromium, live_app):
    number, day, pk, platelets = live_app.shine("shell", "-c", FIND_FIELDS).stdout.strip().splitlines()[-1].split()
    monitor = phone_page
    log_in(monitor, "monitor", live_app.password)
    monitor.wait_for_url("**/")
    monitor.goto(f"/participants/{number}/sdv/")
    monitor.click(f"a[href='/participants/{number}/sdv/daily/{pk}/']")
    monitor.wait_for_url(f"**/participants/{number}/sdv/daily/{pk}/")
    monitor.check("#f-platelets")
    monitor.check("#f-map_mmhg")
    monitor.fill("#id_note", "ICU chart and lab report")
    monitor.click("#verify-fields")
    monitor.wait_for_url(f"**/participants/{number}/sdv/daily/{pk}/")
    badge = lambda field: monitor.locator(f"tr[data-field='{field}'] .badge").inner_text()  # noqa: E731
    assert badge("platelets") == badge("map_mmhg") == "verified"
    assert monitor.evaluate("document.documentElement.scrollWidth") <= 390

    nurse_context = chromium.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844},
                                         is_mobile=True, has_touch=True)
    nurse = nurse_context.new_page()
    log_in(nurse, "nurse", live_app.password)
    nurse.wait_for_url("**/")
    nurse.goto(f"/participants/{number}/daily/{day}/")
    nurse.fill("#id_platelets", str(int(float(platelets)) + 3))
    nurse.fill("#id_reason", "platelets copied from the wrong lab report")
    nurse.click("#save-button")
    nurse.wait_for_url(f"**/participants/{number}/records/")
    nurse_context.close()

    monitor.reload()
    assert badge("platelets") == "re-verify" and badge("map_mmhg") == "verified"
    assert "changed by audit event" in monitor.locator("tr[data-field='platelets']").inner_text()
    monitor.goto(f"/participants/{number}/sdv/")
    assert "1 re-verify" in monitor.locator(f"a[href='/participants/{number}/sdv/daily/{pk}/']").inner_text()


# a trial of one participant whose casebook is complete, verified and signed, with one open query
CLEAN = """
from shine.trial.accounts.models import User
from tests.trial.monitoring.test_database_lock import clean_trial
from shine.trial.monitoring import services
u = {k: User.objects.get(username=v) for k, v in (("nurse_hgh", "nurse"), ("investigator_hgh", "investigator"),
     ("monitor", "monitor"), ("data_manager", "data_manager"))}
p = clean_trial(u, password="%s")
q = services.raise_query(user=u["monitor"], participant=p, text="Which version of the consent form was used?")
print(p.number, q.number)
"""


@pytest.fixture(scope="module")
def small_app(tmp_path_factory):
    """A server of its own (the lock would stop every other test's writes): demo users, no participants."""
    from .conftest import serve_demo

    with serve_demo(tmp_path_factory.mktemp("locked"), SHINE_DEMO_PARTICIPANTS="0") as app:
        yield app


def test_database_lock_refused_while_a_query_is_open_then_locked_and_writes_refused(chromium, small_app):
    number, query = small_app.shine("shell", "-c", CLEAN % small_app.password).stdout.strip().splitlines()[-1].split()
    context = chromium.new_context(base_url=small_app.url, viewport={"width": 390, "height": 844},
                                   is_mobile=True, has_touch=True)
    dm = context.new_page()
    dm.goto("/login/")
    dm.fill("#id_username", "data_manager")
    dm.fill("#id_password", small_app.password)
    dm.click("button[type=submit]")
    if dm.url.split("?")[0].endswith("/login/code/"):  # the data manager's authenticator, in this app's database
        from .conftest import totp_code

        dm.fill("#id_code", totp_code(small_app, "data_manager"))
        dm.click("button[type=submit]")
    dm.wait_for_url("**/")
    dm.goto("/monitoring/database-lock/")
    assert dm.locator("#lock-state").inner_text() == "open"
    dm.fill("#id_reason", "final analysis")
    dm.click("#lock-database")
    summary = dm.locator("#error-summary").inner_text()
    assert "1 item of the checklist failing" in summary and f"Q-{int(query):05d} is open" in summary
    assert dm.locator("li[data-item='queries']").get_attribute("class") == "warning"
    assert dm.locator("li[data-item='signatures']").get_attribute("class") == "ok"
    assert dm.evaluate("document.documentElement.scrollWidth") <= 390

    small_app.shine("shell", "-c", f"""
from shine.trial.accounts.models import User
from shine.trial.monitoring import services
from shine.trial.monitoring.models import Query
services.transition(user=User.objects.get(username="nurse"), query=Query.objects.get(number={query}),
                    action="answer", text="Version 3, as in the ISF.")""")
    dm.goto(f"/monitoring/queries/{query}/")
    dm.fill("#id_text", "Matches the ISF copy.")
    dm.click("button[value=close]")
    dm.wait_for_url(f"**/monitoring/queries/{query}/")
    assert "closed" in dm.locator("h1").inner_text()

    dm.goto("/monitoring/database-lock/")
    dm.fill("#id_reason", "final analysis")
    dm.click("#lock-database")
    dm.wait_for_url("**/monitoring/database-lock/")
    assert dm.locator("#lock-state").inner_text() == "locked"

    dm.goto(f"/participants/{number}/queries/")
    dm.fill("#id_text", "One more question after the lock.")
    dm.click("main button[type=submit]")
    assert "database is locked" in dm.locator("#error-summary").inner_text()
    refused = small_app.shine("shell", "-c", f"""
from shine.trial.accounts.models import User
from shine.trial.enrollment.models import Participant
from shine.trial.monitoring import services
try:
    services.raise_query(user=User.objects.get(username="monitor"), participant=Participant.objects.get(
        number="{number}"), text="from a command")
except Exception as exc:
    print("refused:", exc)""").stdout
    assert "refused: the trial database is locked" in refused
    context.close()
