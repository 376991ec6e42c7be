import pytest

from shine.trial.records import services as records
from tests.trial.records.conftest import participant, trial  # noqa: F401  (fixtures)
from tests.trial.records.factories import SOFA_DAY


@pytest.fixture
def day1(participant):  # noqa: F811
    """Day 1 of the HGH participant, entered by the HGH nurse."""
    from shine.trial.accounts.models import User

    nurse = User.objects.get(username="nurse_hgh")
    return records.create_daily_record(user=nurse, participant=participant, study_day=1, values=dict(SOFA_DAY))
