"""The adverse_events table of the analysis data set, and the blind: a blinded user's view of a SUSAR case is
the same whether the participant had the active drug or placebo (pages, API, case output, export, audit)."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from shine.analysis.dataset import load
from shine.trial.reports.exports import export_dataset
from shine.trial.safety import services
from tests.trial.allocation.test_blind_leak import BLINDED, check, readable

from .conftest import ACTIVE, CONTROL, of_arm, sae


def test_adverse_events_table_is_filled_from_the_cases(trial, participant, rsi, tmp_path):
    nurse, pv = trial["nurse_hgh"], trial["pharmacovigilance"]
    a = services.report_event(user=nurse, participant=participant, values=sae(participant, related=False))
    services.add_follow_up(user=nurse, case=a, values=sae(participant, related=False, term="bleeding, transfused",
                                                          aware_at=timezone.now()))
    services.assess(user=pv, case=a, expected=True, sponsor_related=True)
    services.report_event(user=nurse, participant=participant, values=sae(
        participant, serious=False, hospitalisation=False, prespecified="", severity="mild", outcome="recovered",
        action="none", related=False, term="rash"))
    export_dataset(tmp_path, user=None, blinded=True, parquet=False)
    ae = load(tmp_path)["adverse_events"].set_index("event_id")
    assert list(ae.index) == [f"{participant.number}-E1", f"{participant.number}-E2"]
    first = ae.loc[f"{participant.number}-E1"]
    assert first["term"] == "bleeding, transfused" and first["prespecified"] == "severe_bleeding"
    assert bool(first["serious"]) and bool(first["related"]) and bool(first["expected"])  # sponsor said related
    second = ae.loc[f"{participant.number}-E2"]
    assert not bool(second["serious"]) and not bool(second["related"])


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?|\d{1,2} \w{3} \d{4}")


@pytest.fixture
def two_susars(trial, rsi, settings):
    """The same SUSAR for a participant on the active drug and one on placebo, assessed and followed up by
    pharmacovigilance (a report to the authority for one, a closing note for the other)."""
    pv, nurse = trial["pharmacovigilance"], trial["nurse_hgh"]
    (active,), (control,) = of_arm(trial, ACTIVE), of_arm(trial, CONTROL)
    cases = {}
    for arm, p in ((ACTIVE, active), (CONTROL, control)):
        case = services.report_event(user=nurse, participant=p, values=sae(p, term="acute liver failure"))
        services.assess(user=pv, case=case, expected=False)
        if arm == ACTIVE:
            services.record_submission(user=pv, case=case, kind="initial", at=timezone.now())
        else:
            services.record_submission(user=pv, case=case, kind="close", at=timezone.now(), note="done")
        cases[arm] = (case, p)
    return cases


def _normal(body: str, case, p) -> str:
    body = body.replace(case.number, "<case>").replace(p.number, "<participant>")
    body = CSRF.sub("<csrf>", body)
    return TIME.sub("<time>", body)


def _views(persona, case, client, api):
    urls = [f"/safety/cases/{case.number}/", f"/safety/cases/{case.number}/case.json",
            f"/api/v1/safety/cases/{case.number}", f"/api/v1/safety/cases/{case.number}/output"]
    return {u.replace(case.number, "<case>"): (client if not u.startswith("/api/") else api).get(u) for u in urls}


@pytest.mark.parametrize("persona", [b for b in BLINDED if b != "pharmacovigilance"])
def test_a_blinded_view_of_a_susar_is_the_same_in_both_arms(two_susars, persona, client_for, api_for):
    c, api = client_for(persona), api_for(persona)
    seen = {}
    for arm, (case, p) in two_susars.items():
        views = _views(persona, case, c, api)
        for what, r in views.items():
            check(persona, what, r)
        seen[arm] = {what: (r.status_code, _normal(readable(r.content), case, p)) for what, r in views.items()}
    assert seen[ACTIVE] == seen[CONTROL]
    for case, _ in two_susars.values():
        check(persona, "case PDF", c.get(f"/safety/cases/{case.number}/case.pdf"))
        check(persona, "case XML", c.get(f"/safety/cases/{case.number}/case.xml"))
    today = timezone.localdate()
    for url in ("/safety/", "/api/v1/safety/worklist", "/api/v1/safety/cases", "/safety/rsi/", "/safety/annual/",
                f"/api/v1/safety/annual-report?period_start={today - dt.timedelta(days=9)}&period_end={today}"):
        r = (api if url.startswith("/api/") else c).get(url)
        check(persona, url, r)
        if r.status_code == 200:
            text = readable(r.content)
            assert "susar" not in text.lower().replace("susar assessment", ""), (persona, url)
    if persona == "auditor":  # both decisions: one create, one update, values masked
        events = api.get("/api/v1/audit?object_type=safety.susardecision&page_size=50").json()["events"]
        shapes = sorted((e["action"], sorted(e["changes"])) for e in events)
        assert len(events) == 4 and shapes[0::2] == shapes[1::2]
        assert all(e["changes"]["reportable"][1] not in (True, False) for e in events if "reportable" in e["changes"])


def test_pharmacovigilance_sees_the_difference(two_susars, client_for, api_for):
    """The comparison above is not vacuous: the unblinded user's pages differ and name the outcome."""
    c = client_for("pharmacovigilance")
    (a, _), (b, _) = two_susars[ACTIVE], two_susars[CONTROL]
    assert "SUSAR to report" in c.get(f"/safety/cases/{a.number}/").content.decode()
    assert "not reportable (placebo)" in c.get(f"/safety/cases/{b.number}/").content.decode()
    out = api_for("pharmacovigilance").get(f"/api/v1/safety/cases/{a.number}/output").json()["case"]
    assert out["active_substance"] == ACTIVE


def test_blinded_export_with_safety_cases_names_no_arm(two_susars, client_for):
    for persona in ("data_manager", "statistician"):
        r = client_for(persona).post("/exports/analysis-dataset.zip", {"blinded": "true"})
        assert r.status_code == 200
        check(persona, "blinded export", r)
        again = client_for(persona).post("/exports/analysis-dataset.zip", {"blinded": "true"})
        body = b"".join(again.streaming_content) if again.streaming else again.content
        assert "acute liver failure" in readable(body)


def test_a_life_threatening_susar_leaves_the_same_trail_in_both_arms(trial, rsi):
    """The follow-up step exists on placebo too ("nothing sent"), so the number, kind and reasons of
    pharmacovigilance's audited entries do not tell the arm (they once differed by the follow-up report)."""
    from shine.trial.audit.models import AuditEvent
    from shine.trial.safety import clocks as clk
    from shine.trial.safety import selectors
    from shine.trial.safety.models import SusarDecision

    pv, nurse = trial["pharmacovigilance"], trial["nurse_hgh"]
    (active,), (control,) = of_arm(trial, ACTIVE), of_arm(trial, CONTROL)
    shapes = {}
    for arm, p in ((ACTIVE, active), (CONTROL, control)):
        case = services.report_event(user=nurse, participant=p, values=sae(p, term="anaphylaxis",
                                                                              life_threatening=True))
        services.assess(user=pv, case=case, expected=False)
        # the unblinded pharmacovigilance user sees the same steps due in both outcomes
        now = timezone.now()
        due = [c.kind for c in selectors.case_clocks(case, pv) if c.met_at is None]
        assert due == [clk.SUSAR_INITIAL, clk.SUSAR_FOLLOWUP], (arm, due)
        first = {ACTIVE: {"kind": "initial"}, CONTROL: {"kind": "close", "note": "placebo: nothing to send"}}[arm]
        services.record_submission(user=pv, case=case, at=timezone.now(), **first)
        services.record_submission(user=pv, case=case, kind="followup", at=timezone.now())
        decision = SusarDecision.objects.get(case=case)
        shapes[arm] = [(e.action, e.reason, sorted(__import__("json").loads(e.changes)))
                       for e in AuditEvent.objects.filter(object_type="safety.susardecision",
                                                          object_id=str(decision.pk)).order_by("id")]
        assert not [c.kind for c in selectors.case_clocks(case, pv) if c.met_at is None and c.state(now) != "met"
                    and c.kind != clk.SAE_REPORT]
    assert shapes[ACTIVE] == shapes[CONTROL] and len(shapes[ACTIVE]) == 3
