"""The demo's optional interim step (``SHINE_DEMO_INTERIM=1``): a trial past the interim — simulated
participants at all six sites, entered by a demo nurse per site through the records demo's loader — then a
freeze of it and the interim on it, so that the progress page shows the interim reached and the DSMB page has
reports to download."""

from __future__ import annotations

from shine import protocol as protocol_mod
from shine.trial.accounts.models import User
from shine.trial.accounts.services import create_user
from shine.trial.audit.services import Actor
from shine.trial.errors import Refused

from . import services
from .models import InterimFreeze

INTERIM_PARTICIPANTS = 260  # with the records demo's seed, about 230 of them past day 90


def load_interim_ready_trial(*, pharmacist: User, password: str, n_patients: int = INTERIM_PARTICIPANTS) -> list[str]:
    """Site nurses ``nurse_<site>`` at the sites without demo staff, and ``n_patients`` simulated participants
    spread over all six sites (nothing when participants are randomised already)."""
    from shine.demo.trial import load_demo_trial

    staff = {}
    for code in protocol_mod.load().site_codes:
        username = {"HGH": "nurse", "RH": "nurse_rh"}.get(code, f"nurse_{code.lower()}")
        user = User.objects.filter(username=username).first()
        if user is None:
            user, _ = create_user(actor=Actor.system("demo"), username=username, role="nurse", sites=[code],
                                  password=password, full_name=f"Nurse {code}")
        staff[code] = user
    return load_demo_trial(users=staff, pharmacist=pharmacist, n_patients=n_patients)


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
