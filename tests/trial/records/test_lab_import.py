"""Lab import by FHIR R4: the API end to end, the command, the site-staff gate, the audit, and the daily form's
proposal (shown with its source, put into the form by the nurse, saved only by the nurse's save)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from shine.exchange import fhir_labs as fl
from shine.trial.audit.models import AuditEvent
from shine.trial.records import lab_import, services
from shine.trial.records.models import DailyRecord, LabObservation
from shine.trial.records.schedule import study_day_of
from tests.trial.allocation.test_blind_leak import BLINDED, check, running_trial  # noqa: F401  (fixture)

URL = "/api/v1/participants/{}/labs"
SOURCE = "urn:oid:1.2.208.176.1.2.lab-hgh"


def obs(rid, code, value, unit, at, *, status="final", version="1", system=fl.LOINC):
    return {"resourceType": "Observation", "id": rid, "meta": {"versionId": version}, "status": status,
            "code": {"coding": [{"system": system, "code": code}]},
            "effectiveDateTime": at.isoformat(),
            "valueQuantity": {"value": value, "unit": unit, "system": fl.UCUM, "code": unit}}


def bundle(*observations):
    return {"resourceType": "Bundle", "type": "collection", "meta": {"source": SOURCE},
            "entry": [{"resource": o} for o in observations]}


def day1(participant, hours):
    return participant.randomised_at + dt.timedelta(hours=hours)


def boundary_bundle(p):
    """Day 1 at the SOFA boundaries: P/F exactly 200 (60 % and 120 mmHg; 16 kPa with 60 % is 200.0099), platelets
    exactly 100, bilirubin exactly 32 µmol/L, creatinine 2.0 mg/dL (176.8 µmol/L), MAP 64, urine 480 mL."""
    return bundle(
        obs("fio2-1", "3150-0", 60, "%", day1(p, 1)),
        obs("pao2-1", "2703-7", 120, "mm[Hg]", day1(p, 2)),
        obs("pao2-2", "2703-7", 16, "kPa", day1(p, 3)),
        obs("plt-1", "777-3", 150, "10*9/L", day1(p, 2)),
        obs("plt-2", "777-3", 100, "10*9/L", day1(p, 8)),
        obs("bili-1", "14631-6", 32, "umol/L", day1(p, 2)),
        obs("crea-1", "2160-0", 2.0, "mg/dL", day1(p, 2)),
        obs("crea-2", "NPU18016", 150, "umol/L", day1(p, 9), system=fl.NPU),
        obs("map-1", "8478-0", 64, "mm[Hg]", day1(p, 4)),
        obs("uo-1", "9187-6", 280, "mL", day1(p, 6)),
        obs("uo-2", "9187-6", 200, "mL", day1(p, 18)),
        obs("lac-1", "2524-7", 3.1, "mmol/L", day1(p, 2)),
        obs("plt-day2", "777-3", 40, "10*9/L", day1(p, 25)),
    )


def post(client, p, body):
    return client.post(URL.format(p.number), data=json.dumps(body), content_type="application/fhir+json")


def test_the_api_imports_a_bundle_once_and_proposes_the_worst_of_each_day(api_for, participant):
    nurse = api_for("nurse_hgh")
    r = post(nurse, participant, boundary_bundle(participant))
    assert r.status_code == 201, r.content
    assert r.json() == {"imported": 13, "unchanged": 0, "retracted": 0, "days": [1, 2]}
    assert AuditEvent.objects.filter(object_type__icontains="labobservation", action="create").count() == 13
    again = post(nurse, participant, boundary_bundle(participant))
    assert again.json() == {"imported": 0, "unchanged": 13, "retracted": 0, "days": []}
    assert LabObservation.objects.count() == 13
    proposal = {v["input"]: v for v in nurse.get(URL.format(participant.number) + "/proposal/1").json()}
    assert proposal["pao2"]["value"] == 120 and proposal["fio2"]["value"] == pytest.approx(0.6)
    assert proposal["platelets"]["value"] == 100
    assert proposal["creatinine"]["value"] == pytest.approx(176.8)
    assert proposal["urine_output"]["value"] == 480
    assert proposal["lactate"]["on_daily_form"] is False
    src = proposal["creatinine"]["sources"][0]
    assert (src["source_system"], src["resource_id"], src["version"], src["code"], src["value_entered"],
            src["unit_entered"]) == (SOURCE, "crea-1", "1", "2160-0", 2.0, "mg/dL")
    day2 = nurse.get(URL.format(participant.number) + "/proposal/2").json()
    assert [(v["input"], v["value"]) for v in day2] == [("platelets", 40)]
    assert not DailyRecord.objects.filter(participant=participant).exists()  # never saved unseen


def test_entered_in_error_retracts_the_value_from_the_proposal(api_for, participant):
    nurse = api_for("nurse_hgh")
    post(nurse, participant, boundary_bundle(participant))
    r = post(nurse, participant, bundle(obs("plt-2", "777-3", 100, "10*9/L", day1(participant, 8), version="2",
                                            status="entered-in-error")))
    assert r.json()["retracted"] == 1
    assert lab_import.proposal(participant, 1)["platelets"].value == 150


def test_an_unknown_code_or_unit_is_refused_by_name_and_nothing_is_saved(api_for, participant):
    nurse = api_for("nurse_hgh")
    r = post(nurse, participant, bundle(obs("ok", "777-3", 90, "10*9/L", day1(participant, 1)),
                                        obs("glu", "2345-7", 6.1, "mmol/L", day1(participant, 1))))
    assert r.status_code == 400
    assert "'2345-7'" in r.content.decode() and "http://loinc.org" in r.content.decode()
    r = post(nurse, participant, bundle(obs("c", "2160-0", 2, "mmol/L", day1(participant, 1))))
    assert r.status_code == 400 and "unit 'mmol/L'" in r.content.decode()
    assert not LabObservation.objects.exists()
    r = nurse.post(URL.format(participant.number), data=b"not json", content_type="application/json")
    assert r.status_code == 400 and "not JSON" in r.content.decode()


def test_a_changed_value_under_the_same_version_is_refused(api_for, participant):
    nurse = api_for("nurse_hgh")
    post(nurse, participant, bundle(obs("x", "777-3", 90, "10*9/L", day1(participant, 1))))
    r = post(nurse, participant, bundle(obs("x", "777-3", 91, "10*9/L", day1(participant, 1))))
    assert r.status_code == 400 and "differs from the one imported before" in r.content.decode()


@pytest.mark.parametrize(("persona", "status"), [("nurse_rh", 404), ("monitor", 403), ("statistician", 403)])
def test_only_staff_of_the_site_may_import(api_for, participant, persona, status):
    r = post(api_for(persona), participant, boundary_bundle(participant))
    assert r.status_code == status
    assert not LabObservation.objects.exists()


def test_the_confirmed_proposal_scores_as_computed_by_hand(trial, participant):
    """Hand-computed SOFA of day 1 from the boundary bundle: P/F 120/0.6 = 200 with support → 2 (< 200 scores
    3); platelets 100 → 1 (< 100 scores 2); bilirubin 32 → 1 (> 32 scores 2); MAP 64 without vasopressor → 1;
    creatinine 176.8 → 2, urine 480 mL → 3: renal 3; GCS 15 → 0. Total 2+1+1+1+0+3 = 8."""
    nurse = trial["nurse_hgh"]
    lab_import.import_bundle(user=nurse, participant=participant, bundle=boundary_bundle(participant))
    values = {k: float(v) if k not in ("pao2_unit", "fio2_unit", "bilirubin_unit", "creatinine_unit") else v
              for k, v in lab_import.form_initial(participant, 1).items()}
    assert values == {"pao2": 120.0, "pao2_unit": "mmHg", "fio2": 0.6, "fio2_unit": "fraction",
                      "platelets": 100.0, "bilirubin": 32.0, "bilirubin_unit": "umol/L", "creatinine": 176.8,
                      "creatinine_unit": "umol/L", "map_mmhg": 64.0, "urine_output": 480.0}
    record = services.create_daily_record(user=nurse, participant=participant, study_day=1, values={
        **values, "respiratory_support": True, "vasopressor": False, "gcs": 15, "mechanical_ventilation": True,
        "rrt": False})
    assert (record.sofa_respiration, record.sofa_coagulation, record.sofa_liver, record.sofa_cardiovascular,
            record.sofa_cns, record.sofa_renal, record.sofa_total) == (2, 1, 1, 1, 0, 3, 8)


def test_the_daily_form_shows_the_proposal_with_its_source_and_fills_only_when_asked(client_for, trial, participant):
    lab_import.import_bundle(user=trial["nurse_hgh"], participant=participant, bundle=boundary_bundle(participant))
    c = client_for("nurse_hgh")
    page = c.get(f"/participants/{participant.number}/daily/new/?day=1").content.decode()
    assert 'id="lab-proposal"' in page and "Observation crea-1 version 1" in page and SOURCE in page
    assert 'value="176.8"' not in page
    filled = c.get(f"/participants/{participant.number}/daily/new/?day=1&labs=use").content.decode()
    assert 'id="lab-proposal-used"' in filled and 'value="176.8"' in filled
    assert not DailyRecord.objects.filter(participant=participant).exists()


def test_the_command_imports_a_file(trial, participant, tmp_path, capsys):
    path = tmp_path / "labs.json"
    path.write_text(json.dumps(boundary_bundle(participant)))
    call_command("labs", "import", str(path), "--participant", participant.number, "--user", "nurse_hgh")
    assert json.loads(capsys.readouterr().out)["imported"] == 13
    with pytest.raises(CommandError, match="does not work at the site"):
        call_command("labs", "import", str(path), "--participant", participant.number, "--user", "nurse_rh")
    path.write_text(json.dumps(bundle(obs("u", "0-0", 1, "mL", day1(participant, 1)))))
    with pytest.raises(CommandError, match="code '0-0'"):
        call_command("labs", "import", str(path), "--participant", participant.number, "--user", "nurse_hgh")


@pytest.mark.parametrize("persona", BLINDED)
def test_the_lab_proposal_shows_no_arm_to_a_blinded_role(running_trial, persona, client_for, api_for):  # noqa: F811
    from shine.trial.enrollment.models import Participant

    p = Participant.objects.filter(site__code="HGH", randomised_at__isnull=False).order_by("pk").first()
    lab_import.import_bundle(user=running_trial["nurse_hgh"], participant=p, bundle=boundary_bundle(p))
    n = p.number
    check(persona, "lab proposal", api_for(persona).get(URL.format(n) + "/proposal/1"))
    check(persona, "lab import", post(api_for(persona), p, boundary_bundle(p)))
    for url in (f"/participants/{n}/daily/new/?day=1", f"/participants/{n}/daily/new/?day=1&labs=use"):
        check(persona, url, client_for(persona).get(url))


def test_the_demo_bundle_gives_an_open_day_a_proposal(trial, participant):
    from shine.trial.records.lab_demo import load_demo_labs

    [line] = load_demo_labs(nurse=trial["nurse_hgh"])
    today = study_day_of(participant.randomised_at, timezone.now())
    day = int(line.split(", day ")[1].split(",")[0])
    assert f"for {participant.number}, day" in line and day in (today, today - 1)
    w = lab_import.proposal(participant, day)
    assert w["platelets"].value == 96  # the 9 entered in error is retracted
    assert w["creatinine"].sources[0].code == "NPU18016" and w["creatinine"].value == 182
    assert w["pao2"].value == pytest.approx(9.8 * 7.50062) and w["fio2"].value == pytest.approx(0.5)
    assert w["urine_output"].value == 390


@pytest.mark.parametrize("at", ["2026-03-28T23:29:00+01:00", "2026-03-29T00:10:00+01:00",
                                "2026-03-30T00:29:00+02:00", "2026-03-30T00:30:00+02:00",
                                "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"])
def test_the_pure_day_rule_is_the_schedules(at):
    r = dt.datetime(2026, 3, 28, 22, 30, tzinfo=dt.UTC)
    t = fl.effective_time(at)
    assert fl.study_day(r, t) == study_day_of(r, t)
