"""The central monitoring page and report: every site's signals from the trial's records, blinded; monitors
and data managers only."""

import pytest

from shine.trial.monitoring import central
from shine.trial.records import services as records
from tests.trial.records.factories import SOFA_DAY, baseline_values, randomised_ago

pytestmark = pytest.mark.django_db


def test_report_reads_every_site_and_the_page_shows_it(trial, client_for):
    nurse = trial["nurse_hgh"]
    for i in range(3):
        p = randomised_ago(nurse, days=5 - i * 0.1)
        records.save_baseline(user=nurse, participant=p, values=baseline_values(p))
        for day in (1, 2, 3):
            records.create_daily_record(user=nurse, participant=p, study_day=day,
                                        values=dict(SOFA_DAY, map_mmhg=60 + day + i))
    signals = central.report(trial["monitor"])
    assert {s.check for s in signals} >= {"mean", "variability", "missing", "lag", "sae"}
    assert all(s.p is None for s in signals)  # one site only: nothing to compare with, said so
    page = client_for("monitor").get("/monitoring/central/")
    assert page.status_code == 200 and "not checked" in page.content.decode()
    assert client_for("data_manager").get("/monitoring/central/").status_code == 200
    for persona in ("nurse_hgh", "investigator_hgh", "statistician"):
        assert client_for(persona).get("/monitoring/central/").status_code == 403
