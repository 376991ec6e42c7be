"""Reporting, follow-ups as versions, seriousness rules, causality, RSI versioning, exempt events, the SUSAR
decision through the allocation app, and the after-commit mail."""

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from shine.trial.allocation.models import Unblinding
from shine.trial.allocation.selectors import arm_for
from shine.trial.audit.models import AuditEvent
from shine.trial.audit.verify import verify
from shine.trial.errors import Refused
from shine.trial.safety import selectors, services
from shine.trial.safety.models import Case, CaseVersion, SusarDecision

from .conftest import ACTIVE, CONTROL, of_arm, sae


def test_an_sae_is_a_case_with_its_first_version_audited(trial, participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    assert case.number == f"{participant.number}-E1"
    v = services.latest(case)
    assert v.version == 1 and v.criteria == ["hospitalisation"] and v.prespecified == "severe_bleeding"
    assert case.site_aware_at == v.aware_at and case.sponsor_aware_at is not None
    assert AuditEvent.objects.filter(object_type="safety.caseversion", action="create").count() == 1
    assert len(mail.outbox) == 1 and case.number in mail.outbox[0].subject
    assert mail.outbox[0].to == ["pharmacovigilance@localhost"]
    assert ACTIVE not in mail.outbox[0].body.lower() and CONTROL not in mail.outbox[0].body.lower()
    assert verify().ok


def test_no_mail_for_a_rolled_back_transaction(trial, participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
                raise RuntimeError("the surrounding work failed")
    assert mail.outbox == [] and not Case.objects.exists()


def test_a_non_serious_event_sends_no_mail_and_has_no_clock(trial, participant, django_capture_on_commit_callbacks):
    values = sae(participant, serious=False, hospitalisation=False, severity="mild", outcome="recovered",
                 action="none", prespecified="", related=False, term="rash")
    with django_capture_on_commit_callbacks(execute=True):
        case = services.report_event(user=trial["nurse_hgh"], participant=participant, values=values)
    assert mail.outbox == [] and case.site_aware_at is None


@pytest.mark.parametrize(("over", "field"), [
    ({"hospitalisation": False}, "serious"),                           # serious without a criterion
    ({"serious": False}, "serious"),                                   # not serious with a criterion
    ({"serious": None}, "serious"),                                    # unknown is not no
    ({"related": None}, "related"),
    ({"prespecified": None}, "prespecified"),
    ({"prespecified": "headache"}, "prespecified"),
    ({"outcome": "dead"}, "outcome"),
    ({"severity": ""}, "severity"),
    ({"term": "  "}, "term"),
    ({"term": "x" * 201}, "term"),
    ({"onset_at": timezone.now() + dt.timedelta(hours=1)}, "onset_at"),
    ({"onset_at": timezone.now() - dt.timedelta(days=30)}, "onset_at"),  # before randomisation
    ({"aware_at": timezone.now() - dt.timedelta(hours=6)}, "aware_at"),  # before the onset
    ({"meddra_code": "10019021"}, "meddra_version"),                   # a code needs its version
    ({"meddra_code": "1001", "meddra_version": "27.0"}, "meddra_code"),
    ({"meddra_version": "27.0"}, "meddra_code"),
    ({"exempt": "septic_shock_progression"}, "exempt"),                # a prespecified event is never exempt
])
def test_refusals_name_the_field_and_save_nothing(trial, participant, over, field):
    with pytest.raises(Refused) as e:
        services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant, **over))
    assert e.value.field == field
    assert not Case.objects.exists() and not CaseVersion.objects.exists()


def test_death_with_another_outcome_is_flagged(trial, participant):
    case = services.report_event(user=trial["nurse_hgh"], participant=participant,
                                 values=sae(participant, death=True, outcome="not_recovered"))
    assert "outcome is not fatal" in services.latest(case).flags


def test_other_sites_and_other_roles(trial, participant):
    with pytest.raises(Http404):
        services.report_event(user=trial["nurse_rh"], participant=participant, values=sae(participant))
    with pytest.raises(Exception) as e:
        services.report_event(user=trial["monitor"], participant=participant, values=sae(participant))
    assert e.type.__name__ in ("PermissionDenied", "Http404")
    case = services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    with pytest.raises(Http404):
        selectors.case_for_user(trial["nurse_rh"], case.number)
    assert selectors.case_for_user(trial["monitor"], case.number) == case
    assert selectors.case_for_user(trial["pharmacovigilance"], case.number) == case
    with pytest.raises(Exception):
        selectors.case_for_user(trial["statistician"], case.number)


def test_follow_ups_are_new_versions_and_never_move_a_deadline(trial, participant):
    nurse = trial["nurse_hgh"]
    case = services.report_event(user=nurse, participant=participant, values=sae(participant))
    first = services.latest(case)
    before = (case.site_aware_at, case.sponsor_aware_at)
    services.add_follow_up(user=nurse, case=case, values=sae(participant, term="upper GI bleeding, gastroscopy done",
                                                             outcome="recovered", aware_at=timezone.now()))
    case.refresh_from_db()
    assert (case.site_aware_at, case.sponsor_aware_at) == before
    assert [v.version for v in case.versions.all()] == [1, 2]
    first.refresh_from_db()
    assert first.term == "severe bleeding from the gastrointestinal tract"  # nothing overwritten
    with pytest.raises(Refused) as e:
        services.add_follow_up(user=nurse, case=case,
                               values=sae(participant, aware_at=first.aware_at - dt.timedelta(minutes=1)))
    assert e.value.field == "aware_at"


def test_a_follow_up_that_makes_the_event_serious_starts_the_clock(trial, participant):
    nurse = trial["nurse_hgh"]
    case = services.report_event(user=nurse, participant=participant, values=sae(
        participant, serious=False, hospitalisation=False, prespecified="", severity="mild", outcome="recovering"))
    assert case.site_aware_at is None
    later = timezone.now() - dt.timedelta(minutes=30)
    services.add_follow_up(user=nurse, case=case, values=sae(participant, aware_at=later))
    case.refresh_from_db()
    assert case.site_aware_at == later


def test_exempt_events_are_stored_and_counted_but_have_no_clock(trial, participant):
    case = services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(
        participant, prespecified="", exempt="septic_shock_progression", term="refractory septic shock"))
    assert case.site_aware_at is None and selectors.case_clocks(case, trial["pharmacovigilance"]) == []
    assert Case.objects.count() == 1


def test_expectedness_against_the_rsi_in_force_at_onset_and_a_new_rsi_never_reclassifies(trial, participant, rsi):
    pv = trial["pharmacovigilance"]
    case = services.report_event(user=trial["nurse_hgh"], participant=participant,
                                 values=sae(participant, related=False))
    first = services.assess(user=pv, case=case, expected=True)
    assert first.rsi == rsi
    new = services.add_rsi(user=pv, version="SmPC 2026-11", approved_on=timezone.localdate(),
                           in_force_from=timezone.now(), expected_reactions="headache")
    first.refresh_from_db()
    assert first.rsi == rsi and first.expected is True
    again = services.assess(user=pv, case=case, expected=True, comment="follow-up reviewed")
    assert again.rsi == rsi  # the onset was before the new version came into force
    assert selectors.rsi_versions(pv).first() == new
    with pytest.raises(Refused) as e:
        services.add_rsi(user=pv, version="SmPC 2026-11", approved_on=timezone.localdate(),
                         in_force_from=timezone.now(), expected_reactions="x")
    assert e.value.field == "version"


def test_no_rsi_in_force_refuses_the_assessment(trial, participant):
    case = services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    with pytest.raises(Refused) as e:
        services.assess(user=trial["pharmacovigilance"], case=case, expected=False)
    assert "reference safety information" in str(e.value)


def test_the_sponsor_never_downgrades_the_investigators_causality(trial, participant, rsi):
    pv = trial["pharmacovigilance"]
    case = services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    with pytest.raises(Refused) as e:
        services.assess(user=pv, case=case, expected=True, sponsor_related=False)
    assert e.value.field == "sponsor_related"
    a = services.assess(user=pv, case=case, expected=True, sponsor_related=True)
    assert a.sponsor_related is True and services.latest(case).related is True
    # the sponsor may upgrade "not related"; both opinions stay
    other = services.report_event(user=trial["nurse_hgh"], participant=participant,
                                  values=sae(participant, related=False))
    b = services.assess(user=pv, case=other, expected=True, sponsor_related=True)
    assert services.latest(other).related is False and b.sponsor_related is True


def test_only_pharmacovigilance_assesses(trial, participant, rsi):
    case = services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    for who in ("investigator_hgh", "monitor", "trial_manager"):
        with pytest.raises(Exception) as e:
            services.assess(user=trial[who], case=case, expected=True)
        assert e.type.__name__ == "PermissionDenied"


@pytest.mark.parametrize("arm", [ACTIVE, CONTROL])
def test_a_susar_unblinds_one_participant_for_pharmacovigilance_only(trial, rsi, arm):
    pv = trial["pharmacovigilance"]
    p, bystander = of_arm(trial, arm, 2)
    case = services.report_event(user=trial["nurse_hgh"], participant=p, values=sae(p, term="acute liver failure"))
    services.assess(user=pv, case=case, expected=False)
    decision = SusarDecision.objects.get(case=case)
    assert decision.reportable is (arm == ACTIVE)
    assert Unblinding.objects.filter(participant=p, user=pv).count() == 1
    assert arm_for(pv, p) == arm and arm_for(pv, bystander) is None
    assert arm_for(trial["nurse_hgh"], p) is None and arm_for(trial["monitor"], p) is None
    pv_line = selectors.susar_status(case, pv)
    assert pv_line == ("SUSAR to report" if arm == ACTIVE else "not reportable (placebo)")
    blinded_line = selectors.susar_status(case, trial["monitor"])
    assert blinded_line.startswith("serious, related and unexpected: assessed by pharmacovigilance")
    kinds = [c.kind for c in selectors.case_clocks(case, pv)]
    assert kinds == ["sae_report", "susar_initial"]  # on placebo the step records that nothing is sent
    assert [c.kind for c in selectors.case_clocks(case, trial["nurse_hgh"])] == ["sae_report"]
    # a second assessment does not unblind again
    services.assess(user=pv, case=case, expected=False)
    assert Unblinding.objects.filter(participant=p).count() == 1
    assert verify().ok


def test_expected_or_unrelated_events_open_no_unblinding(trial, participant, rsi):
    pv = trial["pharmacovigilance"]
    case = services.report_event(user=trial["nurse_hgh"], participant=participant,
                                 values=sae(participant, related=False))
    services.assess(user=pv, case=case, expected=False)
    case2 = services.report_event(user=trial["nurse_hgh"], participant=participant, values=sae(participant))
    services.assess(user=pv, case=case2, expected=True)
    assert not SusarDecision.objects.exists() and not Unblinding.objects.exists()
    # the sponsor's "related" makes an unrelated, unexpected event a SUSAR
    services.assess(user=pv, case=case, expected=False, sponsor_related=True)
    assert SusarDecision.objects.filter(case=case).exists()


def test_susar_submissions_and_the_restart_when_it_becomes_fatal(trial, rsi):
    pv, nurse = trial["pharmacovigilance"], trial["nurse_hgh"]
    (p,) = of_arm(trial, ACTIVE)
    case = services.report_event(user=nurse, participant=p, values=sae(p, term="acute liver failure"))
    services.assess(user=pv, case=case, expected=False)
    decision = SusarDecision.objects.get(case=case)
    assert not decision.fatal
    due_before = [c.due for c in selectors.case_clocks(case, pv)]
    services.add_follow_up(user=nurse, case=case, values=sae(p, term="acute liver failure", death=True,
                                                             outcome="fatal", aware_at=timezone.now()))
    decision.refresh_from_db()
    assert decision.restart_from is not None
    clocks = selectors.case_clocks(case, pv)
    assert [c.due for c in clocks[:2]] == due_before and clocks[2].kind == "susar_restart"
    with pytest.raises(Refused):
        services.record_submission(user=pv, case=case, kind="followup", at=timezone.now())
    services.record_submission(user=pv, case=case, kind="initial", at=timezone.now())
    services.record_submission(user=pv, case=case, kind="restart", at=timezone.now())
    assert all(not c.running() for c in selectors.case_clocks(case, pv))
    with pytest.raises(Refused):
        services.record_submission(user=pv, case=case, kind="initial", at=timezone.now())


def test_a_placebo_decision_is_closed_not_reported(trial, rsi):
    pv = trial["pharmacovigilance"]
    (p,) = of_arm(trial, CONTROL)
    case = services.report_event(user=trial["nurse_hgh"], participant=p, values=sae(p))
    services.assess(user=pv, case=case, expected=False)
    with pytest.raises(Refused, match="follow-up report is due only"):
        services.record_submission(user=pv, case=case, kind="followup", at=timezone.now())
    with pytest.raises(Refused, match="note is required"):
        services.record_submission(user=pv, case=case, kind="close", at=timezone.now())
    services.record_submission(user=pv, case=case, kind="close", at=timezone.now(), note="placebo: not a SUSAR")
    assert "closed" in selectors.susar_status(case, pv)
    for kind in ("close", "initial"):  # the initial step is taken: closing was it
        with pytest.raises(Refused):
            services.record_submission(user=pv, case=case, kind=kind, at=timezone.now(), note="again")
    assert all(c.met_at is not None for c in selectors.case_clocks(case, pv) if c.kind != "sae_report")
