"""Demo safety data, loaded through the services: an RSI version, a non-serious AE, a prespecified SAE with a
follow-up, an exempt disease-related SAE, and a serious, related, unexpected event assessed as a SUSAR."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from shine.trial.accounts.models import User
from shine.trial.enrollment.models import Participant

from . import services
from .models import Case, ReferenceSafetyInformation

RSI_REACTIONS = "headache\nflushing\nhypotension\nnausea\njaw pain\nthrombocytopenia"


def _values(p: Participant, hours: float, now: dt.datetime, **over) -> dict:
    onset = min(p.randomised_at + dt.timedelta(hours=hours), now - dt.timedelta(hours=2))
    return {"onset_at": onset, "aware_at": onset + dt.timedelta(hours=1), "serious": True, "severity": "severe",
            "outcome": "recovering", "action": "none", "prespecified": "", "related": False, **over}


def load_demo_safety(*, nurse: User, pharmacovigilance: User) -> list[str]:
    if Case.objects.exists():
        return ["safety: demo cases already loaded"]
    now = timezone.now()
    people = [p for p in Participant.objects.filter(site__memberships__user=nurse, randomised_at__isnull=False)
              .order_by("randomised_at") if not hasattr(p, "death")][:4]
    if len(people) < 4:
        return ["safety: too few participants for the demo cases"]
    if not ReferenceSafetyInformation.objects.exists():
        services.add_rsi(user=pharmacovigilance, version="Ilomedin SmPC 2019-03", approved_on=dt.date(2019, 3, 1),
                         in_force_from=dt.datetime(2019, 3, 1, tzinfo=dt.UTC),
                         expected_reactions=RSI_REACTIONS)
    a, b, c, d = people
    services.report_event(user=nurse, participant=a, values=_values(
        a, 6, now, term="flushing of face and neck", serious=False, severity="mild", outcome="recovered",
        related=True))
    bleed = services.report_event(user=nurse, participant=b, values=_values(
        b, 20, now, term="gastrointestinal bleeding, haemoglobin fall 2 mmol/L", hospitalisation=True,
        prespecified="severe_bleeding", action="interrupted"))
    later = services.latest(bleed)
    services.add_follow_up(user=nurse, case=bleed, values=_values(
        b, 20, now, term="gastrointestinal bleeding, gastroscopy: duodenal ulcer", hospitalisation=True,
        prespecified="severe_bleeding", action="interrupted", outcome="recovered",
        aware_at=min(later.aware_at + dt.timedelta(hours=30), now)))
    services.assess(user=pharmacovigilance, case=bleed, expected=True, comment="not related; no SUSAR")
    services.report_event(user=nurse, participant=c, values=_values(
        c, 30, now, term="progression of septic shock with multi-organ failure", life_threatening=True,
        exempt="septic_shock_progression", outcome="not_recovered"))
    susar = services.report_event(user=nurse, participant=d, values=_values(
        d, 10, now, term="acute mesenteric ischaemia", life_threatening=True, prespecified="ischaemic_event",
        action="stopped", related=True))
    services.assess(user=pharmacovigilance, case=susar, expected=False,
                    comment="mesenteric ischaemia is not listed in the SmPC")
    return [f"safety: 4 cases ({susar.number} assessed as serious, related, unexpected: "
            "unblinded for pharmacovigilance)"]
