"""The demo's optional interim step (``SHINE_DEMO_INTERIM=1``): a freeze of the demo data and the interim on
it, so that the DSMB page has reports to download. With ``SHINE_DEMO_PARTICIPANTS=260`` the demo trial is past
the interim (about 230 participants with day-90 follow-up)."""

from __future__ import annotations

from shine.trial.accounts.models import User
from shine.trial.errors import Refused

from . import services
from .models import InterimFreeze


def load_demo_interim(*, dsmb: User) -> list[str]:
    if InterimFreeze.objects.exists():
        return ["interim: a freeze exists already; nothing done"]
    freeze = services.take_freeze(user=dsmb)
    lines = [f"interim: freeze {freeze.pk}, {freeze.n_randomised} randomised, {freeze.n_day90_complete} with the "
             "day-90 outcome known"]
    try:
        run = services.run_interim(freeze, user=dsmb)
    except Refused as exc:
        return [*lines, f"interim: not run ({exc})"]
    return [*lines, f"interim: run on {run.n_analysed} participants; reports on the DSMB page (/reports/interim/)"]
