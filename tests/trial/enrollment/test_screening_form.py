"""The screening page for a phone: "none of the exclusion criteria apply" in one tap; an untouched form is not
logged."""

from shine.trial.enrollment.models import Screening

from .factories import ELIGIBLE
from .test_screening import form_data

EXCLUSIONS = [k for k in ELIGIBLE if k not in ("age", "sex", "in_icu", "infection", "vasopressor", "lactate_mmol_l",
                                               "stm_ng_ml")]


def test_none_of_the_exclusions_answers_each_one_no(client_for, users):
    data = {k: v for k, v in form_data().items() if k not in EXCLUSIONS}
    r = client_for("nurse_hgh").post("/screening/new/", {**data, "none_of_the_exclusions": "on"})
    assert r.status_code == 302, r.content.decode()[:2000]
    s = Screening.objects.get()
    assert s.outcome == "eligible" and s.hypersensitivity is False and s.other_prostacyclin_trial is False


def test_none_of_the_exclusions_with_one_answered_yes_is_refused(client_for, users):
    r = client_for("nurse_hgh").post("/screening/new/", {**form_data(hypersensitivity=True),
                                                         "none_of_the_exclusions": "on"})
    assert r.status_code == 400 and "is answered yes" in r.content.decode()
    assert not Screening.objects.exists()


def test_an_untouched_form_is_not_logged(client_for, users):
    page = client_for("nurse_hgh").get("/screening/new/").content.decode()
    assert 'type="radio"' in page and 'id="id_none_of_the_exclusions"' in page
    r = client_for("nurse_hgh").post("/screening/new/", {"site": "HGH", "screened_at": form_data()["screened_at"]})
    assert r.status_code == 400 and "untouched form is not logged" in r.content.decode()
    assert not Screening.objects.exists()
