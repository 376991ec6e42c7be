"""Times the forms prefill (to the minute) are never refused for the randomisation's seconds."""

import datetime as dt

from django.utils import timezone

from shine.clinical import dosing
from shine.trial.records import services
from tests.trial.enrollment.factories import randomised


def test_infusion_start_and_sample_in_the_minute_of_randomisation(trial):
    nurse = trial["nurse_hgh"]
    at = timezone.now().replace(second=41, microsecond=250000) - dt.timedelta(minutes=3)
    p, _ = randomised(nurse, "HGH", weight=70.0, hours_ago=1, at=at)
    p.refresh_from_db()
    minute = p.randomised_at.replace(second=0, microsecond=0)  # what the form shows and posts back
    assert minute < p.randomised_at
    seg = services.record_infusion_event(user=nurse, participant=p, kind="start", at=minute,
                                         rate_ml_per_h=dosing.infusion_rate_ml_per_h(70.0))
    assert seg.started_at == p.randomised_at
    s = services.record_blood_sample(user=nurse, participant=p, study_day=1, drawn_at=minute)
    assert s.drawn_at == p.randomised_at
