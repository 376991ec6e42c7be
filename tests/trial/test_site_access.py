"""Who may read and act on a site's records: every role × the record endpoints × the participant's site.

The one rule (docs/architecture.md, "Reads and access"): a record at a site the user may not see is 404 (no
hint that it exists); an action the role may not take on a record it may see is 403. Real requests through
the test client (pages) and the API (bearer token). The expectations are written out here from the trial's
roles, not computed from shine.trial.accounts.roles, so a changed permission shows as a failure.
"""

import pytest

from shine.demo.randomisation import setup_randomisation
from shine.trial.records import services as records
from tests.trial.enrollment.factories import enrolled, screening
from tests.trial.records.factories import SOFA_DAY, baseline_values, randomised_ago

from .conftest import PERSONAS

SITE_STAFF = {"investigator_hgh": "HGH", "nurse_hgh": "HGH", "nurse_rh": "RH"}
SEE_PARTICIPANTS = {"trial_manager", "data_manager", "monitor"}  # cross-site roles that read case report forms
REVIEWERS = {"trial_manager", "data_manager", "monitor"}  # clear a soft-limit flag
EXPORTERS = {"pharmacist", "data_manager", "statistician", "dsmb_statistician"}  # the blinded export
READS = {"records_page", "schedule_api", "deviations_api"}
# what an allowed request answers (randomise: the site's second randomiser finds the participant randomised)
ALLOWED = {"records_page": 200, "schedule_api": 200, "deviations_api": 200, "daily_api": 201,
           "deviation_api": 201, "deviation_page": 302, "screening_api": 200, "randomise_api": 200}


def expected(persona: str, action: str, site: str, randomised: set) -> int:
    if action == "export_page":
        return 200 if persona in EXPORTERS else 403
    staff_site = SITE_STAFF.get(persona)
    if staff_site is None:  # a cross-site role sees every site or none of the records, and works at none
        if persona not in SEE_PARTICIPANTS or action not in READS | {"review_api"}:
            return 403
        return 200 if action in READS or persona in REVIEWERS else 403
    if staff_site != site:
        return 404
    if action == "review_api":
        return 403
    if action == "randomise_api" and site in randomised:
        return 409
    return ALLOWED[action]


def request(action, persona, people, client_for, api_for):
    p, enrolled_p, screened = people
    api = api_for(persona)
    day = {"investigator_hgh": 2, "nurse_hgh": 3}.get(persona, 2)
    if action == "records_page":
        return client_for(persona).get(f"/participants/{p.number}/records/")
    if action == "deviation_page":
        return client_for(persona).post(f"/participants/{p.number}/deviations/",
                                        {"category": "other", "major": "false", "description": "label torn"})
    if action == "export_page":
        return client_for(persona).get("/exports/")
    base = f"/api/v1/participants/{p.number}"
    calls = {
        "schedule_api": lambda: api.get(f"{base}/schedule"),
        "deviations_api": lambda: api.get(f"{base}/deviations"),
        "daily_api": lambda: api.post(f"{base}/daily-records", {**SOFA_DAY, "study_day": day},
                                      content_type="application/json"),
        "deviation_api": lambda: api.post(f"{base}/deviations", {"category": "other", "major": False,
                                                                 "description": "pack label torn"},
                                          content_type="application/json"),
        "review_api": lambda: api.post(f"{base}/daily-records/1/review", {"note": "checked with the lab"},
                                       content_type="application/json"),
        "screening_api": lambda: api.patch(f"/api/v1/screenings/{screened.pk}", {"lactate_mmol_l": 3.1,
                                                                                 "reason": "lab result corrected"},
                                           content_type="application/json"),
        "randomise_api": lambda: api.post(f"/api/v1/participants/{enrolled_p.number}/randomise",
                                          {"weight_kg": 72, "weight_estimated": False,
                                           "request_id": f"matrix-{persona}"}, content_type="application/json"),
    }
    return calls[action]()


ACTIONS = [*READS, "daily_api", "deviation_api", "deviation_page", "review_api", "screening_api", "randomise_api",
           "export_page"]


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_role_by_endpoint_by_site(action, users, client_for, api_for):
    setup_randomisation(pharmacist=users["pharmacist"], length_per_site=12, packs_per_arm_per_site=4)
    people = {}
    for site, nurse in (("HGH", users["nurse_hgh"]), ("RH", users["nurse_rh"])):
        p = randomised_ago(nurse, days=3, site=site)
        records.save_baseline(user=nurse, participant=p, values=baseline_values(p))
        flagged = records.create_daily_record(user=nurse, participant=p, study_day=1,
                                              values={**SOFA_DAY, "platelets": 1500})  # a soft-limit warning
        assert flagged.needs_review
        people[site] = (p, enrolled(nurse, site), screening(nurse, site))
    randomised: set = set()
    wrong = []
    for persona in PERSONAS:  # the site's investigator before its nurse (the randomise expectation)
        for site in ("HGH", "RH") if action != "export_page" else ("HGH",):
            want = expected(persona, action, site, randomised)
            got = request(action, persona, people[site], client_for, api_for).status_code
            if got != want:
                wrong.append(f"{persona} {action} at {site}: {got}, expected {want}")
            if action == "randomise_api" and got == 200:
                randomised.add(site)
    assert not wrong, "\n".join(wrong)


def test_a_site_filter_is_a_trial_site_or_no_filter():
    from shine.trial.accounts.selectors import site_filter

    assert site_filter({"site": " hgh "}) == "HGH"
    assert site_filter({"site": "ab\x00cd"}) == site_filter({"site": "XYZ"}) == site_filter({}) == ""
