"""A session that ends mid-form loses nothing: the Save after the end keeps the typed values as a draft of that
user (never a record), the next login puts them back, the save then creates the record once and removes the
draft."""

import re

from django.core import signing
from django.test import Client

from shine.trial.audit.models import AuditEvent
from shine.trial.records import drafts, selectors
from shine.trial.records.models import DailyRecord, FormDraft

from .factories import randomised_ago

TYPED = {"study_day": "2", "pao2": "9,5", "pao2_unit": "kPa", "fio2": "60", "fio2_unit": "percent",
         "respiratory_support": "true", "platelets": "95", "bilirubin": "1,4", "bilirubin_unit": "mg/dL",
         "creatinine_unit": "umol/L", "action": "save"}


def _url(p) -> str:
    return f"/participants/{p.number}/daily/new/?day=2"


def _token(html: str) -> str:
    return re.search(r'name="draft_token" value="([^"]+)"', html).group(1)


def test_a_save_after_the_session_ended_is_kept_and_put_back_after_the_login(participant, client_for, users):
    c = client_for("nurse_hgh")
    token = _token(c.get(_url(participant)).content.decode())
    c.logout()  # the session ends (idle timeout, absolute lifetime or removed on the server)
    r = c.post(_url(participant), {**TYPED, "draft_token": token})
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=")
    assert "day%3D2" in r["Location"] or "day=2" in r["Location"]  # back to this very form
    assert not DailyRecord.objects.filter(participant=participant, study_day=2).exists()  # never half-saved
    assert not AuditEvent.objects.filter(object_type="records.dailyrecord", action="create").exists()
    draft = FormDraft.objects.get()
    assert (draft.user, draft.form, draft.participant, draft.study_day) == (users["nurse_hgh"], "daily", participant, 2)
    assert "draft_token" not in draft.values and "csrfmiddlewaretoken" not in draft.values
    # a draft is not data: the day is still to be entered
    day2 = [i for i in selectors.schedule_for(participant) if getattr(i, "study_day", None) == 2]
    assert day2 and all(i.status != "done" for i in day2)

    c.force_login(users["nurse_hgh"])
    html = c.get(_url(participant)).content.decode()
    assert re.search(r"Restored unsaved values from \d\d:\d\d", html)
    assert 'value="95"' in html and 'value="1,4"' in html and 'value="9,5"' in html
    assert re.search(r'<option value="mg/dL" selected>', html)
    r = c.post(_url(participant), {**TYPED, "draft_token": _token(html)})
    assert r.status_code == 302, r.content.decode()[:2000]
    record = DailyRecord.objects.get(participant=participant, study_day=2)
    assert record.platelets == 95 and record.bilirubin_entered == 1.4
    assert AuditEvent.objects.filter(object_type="records.dailyrecord", object_id=str(record.pk),
                                     action="create").count() == 1
    assert not FormDraft.objects.exists()  # purged once saved
    assert "Restored unsaved" not in c.get(f"/participants/{participant.number}/daily/2/").content.decode()


def test_no_token_a_forged_one_or_another_forms_keeps_nothing(participant, client_for, trial):
    c = client_for("nurse_hgh")
    baseline_token = _token(c.get(f"/participants/{participant.number}/baseline/").content.decode())
    forged = signing.dumps({"u": trial["nurse_hgh"].pk, "f": "daily", "p": participant.number, "d": 2}, salt="other")
    anonymous = Client()
    for token in ("", "garbage", forged, baseline_token):
        r = anonymous.post(_url(participant), {**TYPED, "draft_token": token})
        assert r.status_code == 302 and r["Location"].startswith("/login/")
    assert not FormDraft.objects.exists()
    assert not drafts.keep(token=baseline_token, form="baseline", key="HGH-9999",
                           data=Client().get("/").wsgi_request.POST)


def test_a_draft_is_put_back_only_for_the_user_who_typed_it(participant, client_for, users):
    c = client_for("nurse_hgh")
    token = _token(c.get(_url(participant)).content.decode())
    Client().post(_url(participant), {**TYPED, "draft_token": token})
    assert FormDraft.objects.count() == 1
    other = client_for("investigator_hgh").get(_url(participant)).content.decode()
    assert "Restored unsaved" not in other and 'value="95"' not in other
    assert client_for("nurse_rh").get(_url(participant)).status_code == 404  # another site: the form stays closed


def test_the_baseline_form_keeps_its_values_too(trial, client_for):
    fresh = randomised_ago(trial["nurse_hgh"], days=1)
    c = client_for("nurse_hgh")
    url = f"/participants/{fresh.number}/baseline/"
    token = _token(c.get(url).content.decode())
    Client().post(url, {"draft_token": token, "site_of_infection": "abdominal", "comorbidities": ["diabetes", "copd"],
                        "platelets": "140", "action": "save"})
    html = c.get(url).content.decode()
    assert "Restored unsaved values" in html and 'value="140"' in html
    assert re.search(r'value="copd"[^>]*checked', html) and re.search(r'value="abdominal" selected', html)


def test_the_form_carries_the_session_timing_for_its_warning(participant, client_for, settings):
    html = client_for("nurse_hgh").get(_url(participant)).content.decode()
    assert f'data-session-idle-seconds="{settings.SESSION_COOKIE_AGE}"' in html
    assert 'id="session-warning"' in html and "session_guard.js" in html
