"""A note beside a value on the daily form ("blood gas from 04:10, machine down"): stored in the record's
comments, audited with the record, kept through a correction, shown in words to a monitor; a note too long is
refused naming the field."""

import json

from shine.trial.audit.models import AuditEvent
from shine.trial.records.models import DailyRecord

FORM = {"study_day": "1", "pao2": "9,5", "pao2_unit": "kPa", "fio2": "60", "fio2_unit": "percent",
        "respiratory_support": "true", "platelets": "95", "bilirubin_unit": "umol/L", "creatinine_unit": "umol/L",
        "action": "save"}
URL = "/participants/{}/daily/new/?day=1"


def test_every_sofa_input_has_a_note_field_after_it(participant, client_for):
    html = client_for("nurse_hgh").get(URL.format(participant.number)).content.decode()
    for name in ("pao2_fio2", "respiratory_support", "platelets", "bilirubin", "map_mmhg", "vasopressor",
                 "vasopressor_doses", "gcs", "creatinine", "urine_output", "mechanical_ventilation", "rrt"):
        assert f'name="note_{name}"' in html, name
    assert html.index('name="code_bilirubin"') < html.index('name="note_bilirubin"') < html.index('name="map_mmhg"')
    assert "Add note" in html


def test_a_note_is_stored_audited_and_shown_to_a_monitor(participant, client_for):
    c = client_for("nurse_hgh")
    r = c.post(URL.format(participant.number), {**FORM, "note_pao2_fio2": "blood gas from 04:10, machine down"})
    assert r.status_code == 302
    record = DailyRecord.objects.get(participant=participant, study_day=1)
    assert record.comments == {"pao2_fio2": "blood gas from 04:10, machine down"}
    create = AuditEvent.objects.get(object_type="records.dailyrecord", object_id=str(record.pk), action="create")
    assert json.loads(create.changes)["comments"][1] == {"pao2_fio2": "blood gas from 04:10, machine down"}
    # the edit page shows it open, and a correction of another value keeps it
    edit = c.get(f"/participants/{participant.number}/daily/1/").content.decode()
    assert 'value="blood gas from 04:10, machine down"' in edit
    values = {**FORM, "platelets": "90", "note_pao2_fio2": "blood gas from 04:10, machine down",
              "note_platelets": "repeat count", "reason": "lab corrected the count"}
    assert c.post(f"/participants/{participant.number}/daily/1/", values).status_code == 302
    record.refresh_from_db()
    assert record.comments == {"pao2_fio2": "blood gas from 04:10, machine down", "platelets": "repeat count"}
    update = AuditEvent.objects.get(object_type="records.dailyrecord", object_id=str(record.pk), action="update")
    assert "comments" in json.loads(update.changes) and update.reason == "lab corrected the count"
    page = client_for("monitor").get(f"/participants/{participant.number}/records/").content.decode()
    notes = page[page.index('id="notes-day-1"'):]
    assert "<b>PaO2 and FiO2</b>: blood gas from 04:10, machine down" in notes
    assert "<b>Platelets</b>: repeat count" in notes


def test_a_note_too_long_is_refused_naming_the_field(participant, client_for):
    r = client_for("nurse_hgh").post(URL.format(participant.number), {**FORM, "note_bilirubin": "x" * 201})
    html = r.content.decode()
    assert r.status_code == 400 and 'href="#id_note_bilirubin"' in html and "Note on bilirubin" in html
    assert not DailyRecord.objects.filter(participant=participant).exists()
