"""The demo monitoring data load through the services, in every state the pages show, and the audit verifies."""

from shine.demo.trial import load_demo_trial
from shine.trial.audit.verify import verify
from shine.trial.monitoring import selectors
from shine.trial.monitoring.demo import load_demo_monitoring
from shine.trial.monitoring.models import Query, Signature
from tests.trial.conftest import PASSWORD


def test_demo_monitoring(trial):
    staff = {"HGH": trial["nurse_hgh"], "RH": trial["nurse_rh"]}
    load_demo_trial(users=staff, pharmacist=trial["pharmacist"], n_patients=12, seed=20240901)
    kw = dict(nurse=trial["nurse_hgh"], investigator=trial["investigator_hgh"], monitor=trial["monitor"],
              data_manager=trial["data_manager"], password=PASSWORD)
    lines = load_demo_monitoring(**kw)
    assert lines[0].startswith("monitoring: SDV plan v1"), lines
    states = set(Query.objects.filter(origin="manual").values_list("state", flat=True))
    assert states == {"open", "answered", "closed", "cancelled", "candidate"}
    closed = Query.objects.get(state="closed")
    assert closed.messages.get(action="answer").correction_event
    statuses = {r.status for p in closed.participant.site.participants.all() for r in selectors.sdv_rows(p)}
    assert {"verified", "re-verify", "to verify"} <= statuses
    assert Signature.objects.count() == 1 and selectors.signatures(Signature.objects.get().participant)[0].valid
    assert load_demo_monitoring(**kw)[0].endswith("already loaded")
    assert verify().ok
    # fields verified one by one, one corrected since; a signed visit report
    from shine.trial.monitoring import casebook, field_sdv, visits
    from shine.trial.monitoring.models import FieldVerification, MonitoringVisit

    fv = FieldVerification.objects.order_by("pk").first()
    entry = casebook.entry(fv.participant, fv.form, fv.object_id)
    assert {r.status for r in field_sdv.field_rows(fv.participant, entry)} >= {"verified", "re-verify", "not verified"}
    visit = MonitoringVisit.objects.get()
    assert visit.signed_at and visit.content_hash == visits.content_hash(visit) and visit.action_list
