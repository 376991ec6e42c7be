"""The analysis data set says "not yet assessed" for expectedness as an empty value, never as "expected": a
SAR awaiting the sponsor is neither a SUSAR nor "no SUSAR" for ``shine analyse``."""

import datetime as dt

from django.utils import timezone

from shine.trial.safety import services
from shine.trial.safety.export import adverse_event_rows

from .conftest import sae


def test_unassessed_expectedness_is_empty_and_the_sponsor_s_answer_is_kept(trial, participant, rsi):
    nurse, pv = trial["nurse_hgh"], trial["pharmacovigilance"]
    waiting = services.report_event(user=nurse, participant=participant, values=sae(participant))
    unexpected = services.report_event(user=nurse, participant=participant,
                                       values=sae(participant, term="acute liver failure", prespecified=""))
    services.assess(user=pv, case=unexpected, expected=False)
    rows = {r[1]: r for r in adverse_event_rows([participant.pk], timezone.now() + dt.timedelta(seconds=1),
                                                lambda t: t)}
    assert rows[waiting.number][7] is None                 # not assessed: unknown
    assert rows[unexpected.number][7] is False             # the sponsor's "unexpected": a SUSAR
    assert rows[waiting.number][5] is True and rows[waiting.number][6] is True  # a SAR all the same
