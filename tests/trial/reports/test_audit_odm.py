"""The audit trail as an ODM 1.3.2 Archival Transactional file, as an inspector asks for it on the command line:
one AuditRecord per event with user, location, time with offset, reason and EditPoint (DBAudit after the
database lock), the casebook and visit-report signatures with their SignatureDefs, no Upsert, valid against the
ODM XSD; for the whole trial or one participant, with the chain verification in the manifest."""

import datetime as dt
import hashlib
import json

import defusedxml.ElementTree as ET
import pytest
from django.core.management import CommandError, call_command

from shine.exchange import odm
from shine.trial.audit.models import AuditEvent
from shine.trial.monitoring import database_lock, visits
from shine.trial.records import services as records
from tests.trial.conftest import PASSWORD
from tests.trial.monitoring.test_database_lock import clean_trial
from tests.trial.records.conftest import trial  # noqa: F401  (fixture)
from tests.trial.records.factories import SOFA_DAY, baseline_values, randomised_ago

pytestmark = pytest.mark.django_db
Q = f"{{{odm.NS}}}"


@pytest.fixture
def history(trial):  # noqa: F811
    """A signed, verified casebook; a signed monitoring visit report; the database locked and unlocked, then
    day 2 of the clean participant corrected with a reason; a second participant."""
    p = clean_trial(trial)
    visit = visits.record_visit(user=trial["monitor"], site_code="HGH", visit_date=dt.date.today(),
                                kind="routine", findings="all consent forms present")
    visits.sign_visit(user=trial["monitor"], visit=visit, password=PASSWORD)
    database_lock.lock_database(user=trial["data_manager"], reason="final analysis")
    database_lock.unlock_database(user=trial["trial_manager"], reason="late correction")
    day1 = p.daily_records.get(study_day=1)
    records.update_daily_record(user=trial["nurse_hgh"], record=day1, values={"platelets": 123}, partial=True,
                                reason="transcription error")
    other = randomised_ago(trial["nurse_rh"], days=2, site="RH")
    records.save_baseline(user=trial["nurse_rh"], participant=other, values=baseline_values(other))
    records.create_daily_record(user=trial["nurse_rh"], participant=other, study_day=1, values=dict(SOFA_DAY))
    return p, other


def _odm(path):
    errors = odm.validate(path)
    assert errors == [], errors[:5]
    return ET.parse(str(path)).getroot()


def test_the_whole_trail_as_an_archival_odm_file(history, tmp_path):
    p, other = history
    total = AuditEvent.objects.count()
    call_command("export", "audit-trail", "--format", "odm", "--out", str(tmp_path / "a"), "--user", "auditor")
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    path = tmp_path / "a" / "audit-trail-odm.xml"
    assert manifest["format"] == "odm" and manifest["chain_verification"]["ok"] is True
    assert manifest["files"]["audit-trail-odm.xml"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["events"] == total and manifest["signatures"] == 2
    root = _odm(path)
    assert (root.get("FileType"), root.get("Archival"), root.get("Granularity")) == ("Transactional", "Yes", "All")
    records_ = list(root.iter(f"{Q}AuditRecord"))
    assert len(records_) == total == len({r.get("ID") for r in records_})
    assert all(r.find(f"{Q}DateTimeStamp").text.endswith("+00:00") for r in records_)
    text = path.read_text()
    assert "Upsert" not in text
    # no arm reaches the blinded auditor (the randomisation list is no participant's record)
    assert not any(a in text.lower() for a in ("iloprost", "placebo"))
    kinds = {e.get("TransactionType") for e in root.iter(f"{Q}ItemGroupData")}
    assert {"Insert", "Update"} <= kinds <= {"Insert", "Update", "Remove", "Context"}
    # the correction after the lock: new value, the old one, the nurse at her site, the reason, DBAudit
    lock_at = AuditEvent.objects.filter(object_type="monitoring.databaselock").order_by("id").first().at
    correction = AuditEvent.objects.get(object_type="records.dailyrecord", action="update",
                                        reason="transcription error")
    record = next(r for r in records_ if r.get("ID") == f"AR.{correction.pk}")
    group = next(g for g in root.iter(f"{Q}ItemGroupData") if g.find(f"{Q}AuditRecord") is record)
    item = next(i for i in group.iter(f"{Q}ItemData") if i.get("ItemOID").endswith(".PLATELETS"))
    assert item.get("Value") == "123.0" and "previous value:" in item.find(f"{Q}Annotation/{Q}Comment").text
    assert record.get("EditPoint") == "DBAudit" and correction.at >= lock_at
    assert record.find(f"{Q}ReasonForChange").text == "transcription error"
    assert record.find(f"{Q}UserRef").get("UserOID") == "USR.nurse_hgh"
    assert record.find(f"{Q}LocationRef").get("LocationOID") == "LOC.HGH"
    subject = next(s for s in root.iter(f"{Q}SubjectData") if group in list(s.iter(f"{Q}ItemGroupData")))
    assert subject.get("SubjectKey") == p.number
    # before the lock a monitor's verification is a Monitoring edit point at the coordinating centre
    verification = AuditEvent.objects.filter(object_type="monitoring.verification").order_by("id").first()
    vr = next(r for r in records_ if r.get("ID") == f"AR.{verification.pk}")
    assert vr.get("EditPoint") == "Monitoring" and vr.find(f"{Q}LocationRef").get("LocationOID") == "LOC.CENTRE"
    # signatures: the casebook's in the participant's SubjectData, the visit report's in ClinicalData/Signatures
    defs = {d.get("OID") for d in root.iter(f"{Q}SignatureDef")}
    assert defs == {"SD.APPROVAL", "SD.VISIT_REPORT"}
    signed = [s for s in root.iter(f"{Q}SubjectData") if s.find(f"{Q}Signature") is not None]
    assert [s.get("SubjectKey") for s in signed] == [p.number]
    assert signed[0].find(f"{Q}Signature/{Q}UserRef").get("UserOID") == "USR.investigator_hgh"
    assert root.find(f"{Q}ClinicalData/{Q}Signatures/{Q}Signature/{Q}SignatureRef").get("SignatureOID") == \
        "SD.VISIT_REPORT"
    users = {u.get("OID"): u.get("UserType") for u in root.iter(f"{Q}User")}
    assert users["USR.nurse_hgh"] == "Investigator" and users["USR.monitor"] == "Sponsor"
    assert AuditEvent.objects.filter(object_type="reports.audit_trail", actor="auditor").count() == 1


def test_one_participant_and_blinded_values(history, tmp_path):
    p, other = history
    call_command("export", "audit-trail", "--format", "odm", "--participant", other.number, "--out",
                 str(tmp_path / "b"), "--user", "auditor")
    root = _odm(tmp_path / "b" / "audit-trail-odm.xml")
    assert root.get("Granularity") == "SingleSubject"
    assert {s.get("SubjectKey") for s in root.iter(f"{Q}SubjectData")} == {other.number}
    assert root.find(f"{Q}ClinicalData/{Q}AuditRecords") is None
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["scope"] == {"participant": other.number} and manifest["chain_verification"]["ok"]
    # CSV stays the default, and takes the same scope
    call_command("export", "audit-trail", "--participant", other.number, "--out", str(tmp_path / "c"),
                 "--user", "auditor")
    assert (tmp_path / "c" / "audit-trail.csv").exists()
    with pytest.raises(CommandError, match="no participant"):
        call_command("export", "audit-trail", "--format", "odm", "--participant", "XX-9", "--out",
                     str(tmp_path / "d"), "--user", "auditor")
