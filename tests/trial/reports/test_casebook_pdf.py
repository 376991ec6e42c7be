"""The casebook PDF, as a monitor makes it on the command line and an investigator downloads it: the text of the
PDF holds a changed value's old and new value with the user and the reason, the open query, the SDV status, the
signature, the missing-data code and the nurse's note; it is audited; a nurse may not have it."""

import hashlib
import json

import pytest
from django.core.management import CommandError, call_command

from shine.trial.audit.models import AuditEvent
from shine.trial.monitoring import services
from shine.trial.records import services as records
from tests.trial.allocation.test_blind_leak import readable
from tests.trial.conftest import PASSWORD
from tests.trial.records.conftest import participant, trial  # noqa: F401  (fixtures)
from tests.trial.records.factories import SOFA_DAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def casebook(trial, participant):  # noqa: F811
    nurse = trial["nurse_hgh"]
    values = {**SOFA_DAY, "platelets": 77, "gcs": None}
    values["codes"] = {"gcs": "not_done"}
    values["comments"] = {"platelets": "clumped sample"}
    day1 = records.create_daily_record(user=nurse, participant=participant, study_day=1, values=values)
    records.update_daily_record(user=nurse, record=day1, values={"platelets": 123}, partial=True,
                                reason="transcription")
    services.create_plan(user=trial["data_manager"], rules=services.DEFAULT_RULES)
    services.verify(user=trial["monitor"], participant=participant, form="baseline",
                    object_id=participant.baseline.pk)
    services.raise_query(user=trial["monitor"], participant=participant, form="daily", object_id=day1.pk,
                         field="platelets", text="Platelets on the source?")
    services.sign(user=trial["investigator_hgh"], participant=participant, meaning="review", password=PASSWORD)
    return participant


def test_the_casebook_pdf_holds_values_history_queries_sdv_and_signatures(casebook, tmp_path, client_for):
    call_command("export", "casebook", "--participant", casebook.number, "--out", str(tmp_path), "--user",
                 "monitor")
    raw = (tmp_path / f"casebook-{casebook.number}.pdf").read_bytes()
    assert raw.startswith(b"%PDF-")
    text = readable(raw)
    assert f"Casebook of participant {casebook.number}" in text and "Certified copy made" in text
    # the changed value: old and new, who, why
    for words in ("Platelets", "(77)", "(123)", "nurse_hgh", "transcription"):
        assert words in text, words
    assert "not done" in text and "clumped sample" in text  # the missing-data code and the note
    assert "Q-00001" in text and "Platelets on the source?" in text  # the open query
    assert "verified" in text and "to verify" in text  # SDV: baseline verified, the daily record not yet
    assert "Signatures" in text and "investigator_hgh" in text and "changed since signed" not in text
    event = AuditEvent.objects.get(object_type="reports.casebook_pdf")
    assert json.loads(event.changes)["sha256"][1] == hashlib.sha256(raw).hexdigest()
    assert event.actor == "monitor" and event.object_id == casebook.number

    r = client_for("investigator_hgh").get(f"/participants/{casebook.number}/casebook.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert "attachment" in r["Content-Disposition"]
    assert client_for("nurse_hgh").get(f"/participants/{casebook.number}/casebook.pdf").status_code == 403
    with pytest.raises(CommandError, match="no participant XX-1"):
        call_command("export", "casebook", "--participant", "XX-1", "--out", str(tmp_path), "--user", "monitor")


def test_the_casebook_page_links_its_pdf_for_the_roles_that_see_it(world, client_for):
    page = f"/participants/{world['key']}/casebook/"
    html = client_for("investigator_hgh").get(page).content.decode()
    link = f'href="/participants/{world["key"]}/casebook.pdf"'
    assert link in html
    pdf = client_for("investigator_hgh").get(f"/participants/{world['key']}/casebook.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client_for("nurse_hgh").get(page).status_code == 403
    assert client_for("nurse_hgh").get(f"/participants/{world['key']}/casebook.pdf").status_code == 403


def test_the_casebook_pdf_in_danish_names_records_queries_and_actions_in_danish(casebook, client_for):
    from django.utils import translation

    from shine.trial.monitoring import labels
    from shine.trial.monitoring.models import Query
    from tests.language import danish

    r = client_for("investigator_hgh").get(f"/participants/{casebook.number}/casebook.pdf", HTTP_ACCEPT_LANGUAGE="da")
    text = readable(r.content)
    with translation.override("da"):
        day1 = translation.gettext("%(form)s: %(record)s") % {"form": danish("Daily record"),
                                                              "record": translation.gettext("day %(day)s") % {"day": 1}}
    assert day1 in text and "Baseline: baseline" not in text  # the records' headings, each named once
    assert "Daily record" not in text and "day 1" not in text
    with translation.override("da"):
        target = labels.query_target(Query.objects.get(participant=casebook))  # "dag 1 · trombocytter"
    assert target.startswith(danish("day %(day)s") % {"day": 1})
    assert target.replace("·", "\\267") in text  # the query's target ("·" as the PDF's octal escape)
    assert "Platelets on the source?" in text  # the monitor's words as written
