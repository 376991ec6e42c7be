"""The screening log says its reasons in words on the page and in its CSV (the data set and the API keep the
stable codes); the drug is "the trial drug"; the CSV download is an audited export."""

import csv
import io

from shine.trial.audit.models import AuditEvent
from shine.trial.enrollment import reasons, services

from .factories import screening


def _log(users):
    nurse = users["nurse_hgh"]
    screening(nurse, age=17, in_icu=False)
    screening(nurse, hypersensitivity=True)
    screening(nurse, lactate_mmol_l=None, stm_ng_ml=None)
    waiting = screening(nurse)
    services.record_not_randomised(waiting, user=nurse, reason_code="no_guardian")


def test_reasons_in_words():
    assert reasons.in_words("age;icu") == ["not met: adult", "not met: in the ICU"]
    assert reasons.in_words("hypersensitivity") == ["excluded: known hypersensitivity to the trial drug or excipients"]
    assert reasons.in_words("missing:lactate_mmol_l;missing:age") == [
        "not known yet: Lactate (mmol/L) after fluids", "not known yet: Age (years)"]
    assert reasons.in_words("") == []


def test_the_log_page_says_reasons_in_words(users, client_for):
    _log(users)
    page = client_for("nurse_hgh").get("/screening/").content.decode()
    table = page[page.index('id="screening-log"'):page.index("</table>")]
    assert "not met: adult; not met: in the ICU" in table
    assert "excluded: known hypersensitivity to the trial drug or excipients" in table
    assert "not known yet: Lactate (mmol/L) after fluids; not known yet: Soluble thrombomodulin" in table
    assert "no scientific guardian available in time" in table
    for code in (">age;icu<", "missing:", "hypersensitivity<", "no_guardian", "iloprost"):
        assert code not in page, code
    consort = page[page.index('id="consort"'):]
    assert "not met: adult 1" in consort
    assert "excluded: known hypersensitivity to the trial drug or excipients 1" in consort


def test_the_log_csv_says_reasons_in_words_and_is_audited(users, client_for):
    _log(users)
    r = client_for("nurse_hgh").get("/screening/?format=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["reasons"] for row in rows] == [
        "not met: adult; not met: in the ICU", "excluded: known hypersensitivity to the trial drug or excipients",
        "not known yet: Lactate (mmol/L) after fluids; not known yet: Soluble thrombomodulin, sTM (ng/mL)",
        "no scientific guardian available in time"]
    assert [row["outcome"] for row in rows][-1] == "eligible, not randomised"
    assert "iloprost" not in r.content.decode()
    event = AuditEvent.objects.filter(action="export", object_type="enrollment.screening_log").get()
    assert event.actor == "nurse_hgh" and "4 rows" in event.reason
    # the filter applies to the CSV too; another site's nurse sees none of these rows
    only = client_for("nurse_hgh").get("/screening/?outcome=not_eligible&format=csv").content.decode("utf-8-sig")
    assert len(only.strip().splitlines()) == 1 + 2
    rh_csv = client_for("nurse_rh").get("/screening/?format=csv").content.decode("utf-8-sig")
    assert len(rh_csv.strip().splitlines()) == 1


def test_the_csv_tells_a_blinded_reader_nothing_of_the_arm(users, client_for):
    from .factories import randomised, trial_setup

    trial_setup(users["pharmacist"])
    randomised(users["nurse_hgh"])
    for persona in ("monitor", "data_manager", "trial_manager", "nurse_hgh"):
        text = client_for(persona).get("/screening/?format=csv").content.decode("utf-8-sig").lower()
        assert "randomised" in text  # the randomised row is there
        for word in ("iloprost", "placebo", "arm", "pack", "pk-"):
            assert word not in text.replace("randomised", ""), (persona, word)


def test_the_csv_is_closed_to_roles_without_the_log(users, client_for):
    assert client_for("pharmacist").get("/screening/?format=csv").status_code == 403
