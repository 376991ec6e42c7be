"""The scientific guardian is two independent physicians: the same name twice is refused (service and API)."""

import pytest

from shine.trial.enrollment import services
from shine.trial.errors import Refused

from .factories import screening


@pytest.mark.parametrize("second", ["Dr A. Andersen", "a andersen", "DR. A.  ANDERSEN"])
def test_the_same_physician_twice_is_refused(users, second):
    s = screening(users["nurse_hgh"], "HGH")
    with pytest.raises(Refused, match="another person") as exc:
        services.enrol(s, user=users["nurse_hgh"], consenter_name="Dr A. Andersen", second_consenter_name=second,
                       occurred_at=s.screened_at, form_version="v1")
    assert exc.value.field == "second_consenter_name"
