"""Plain helpers that walk a patient through the services (screen → guardian consent → randomise)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from shine.demo.randomisation import setup_randomisation
from shine.trial.allocation import services as allocation
from shine.trial.enrollment import services

NO = False
ELIGIBLE = dict(age=69, sex="M", in_icu=True, infection=True, vasopressor=True, lactate_mmol_l=4.1, stm_ng_ml=14.0,
                withdrawal_from_active_therapy=NO, hypersensitivity=NO, life_threatening_bleeding=NO,
                severe_heart_failure=NO, acute_coronary_syndrome=NO, previously_included=NO,
                consent_unobtainable=NO, other_prostacyclin_trial=NO)
_requests = itertools.count(1)


def screening(user, site="HGH", *, hours_ago: float = 0.0, **overrides):
    now = timezone.now() - dt.timedelta(hours=hours_ago)
    facts = {**ELIGIBLE, "shock_diagnosed_at": now - dt.timedelta(hours=3), **overrides}
    s, _ = services.screen(user=user, site_code=site, screened_at=now - dt.timedelta(minutes=5), **facts)
    return s


def enrolled(user, site="HGH", *, cpr: str = "", hours_ago: float = 0.0, **overrides):
    s = screening(user, site, hours_ago=hours_ago, **overrides)
    return services.enrol(s, user=user, consenter_name="Dr A. Andersen", second_consenter_name="Dr B. Berg",
                          occurred_at=s.screened_at + dt.timedelta(seconds=10), form_version="v2.1", cpr=cpr)


def randomised(user, site="HGH", *, weight=70.0, at=None, **kw):
    """An enrolled participant randomised now (or ``at``: the randomisation's clock)."""
    p = enrolled(user, site, **kw)
    r = allocation.randomise(p, user=user, weight_kg=weight, weight_estimated=False,
                             request_id=f"req-{next(_requests)}",
                             clock=None if at is None else (lambda: at))
    p.refresh_from_db()
    return p, r


def trial_setup(pharmacist, *, length_per_site=6, packs=3):
    return setup_randomisation(pharmacist=pharmacist, length_per_site=length_per_site, packs_per_arm_per_site=packs)
