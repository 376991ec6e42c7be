"""The screening log's reasons in words, for its page and its CSV. The log stores the stable criterion codes
(``shine.clinical.eligibility.CRITERIA``) and ``missing:<fact>``; people read what they mean. The drug is "the
trial drug" here as on every page a blinded role sees.

The words are in the reader's language; the CSV export renders them under ``translation.override(None)``, so
the file says the same (English) whatever the language of the person who downloads it."""

from __future__ import annotations

from django.utils.translation import gettext as _

from shine import protocol as protocol_mod
from shine.clinical.eligibility import EXCLUSION, INCLUSION

from .models import Screening


def _fact_labels() -> dict[str, str]:
    from .forms import ScreeningForm

    return {name: str(field.label) for name, field in ScreeningForm.base_fields.items()}


def without_drug_name(text: str) -> str:
    """The drug's name (iloprost) written as "the trial drug", in the reader's language."""
    drug = protocol_mod.load().intervention.drug
    return text.replace(drug.capitalize(), _("The trial drug")).replace(drug, _("the trial drug"))


def _criterion(text) -> str:
    """A criterion's words from shine.clinical.eligibility, in the reader's language (the pure core's
    catalogue holds their translation; a text already translated passes through)."""
    return _(str(text))


def criterion_in_words(code: str) -> str:
    if code in INCLUSION:
        return _("not met: %(criterion)s") % {"criterion": _criterion(INCLUSION[code])}
    if code in EXCLUSION:
        return without_drug_name(_("excluded: %(criterion)s") % {"criterion": _criterion(EXCLUSION[code])})
    return code.replace("_", " ")


def in_words(reasons: str) -> list[str]:
    """``"icu;pregnancy"`` → ``["not met: in the ICU", "excluded: pregnancy"]``; ``"missing:age"`` → ``["not
    known yet: Age (years)"]``."""
    labels = _fact_labels()
    out = []
    for part in (r for r in reasons.split(";") if r):
        if part.startswith("missing:"):
            fact = part.removeprefix("missing:")
            out.append(_("not known yet: %(fact)s") % {"fact": labels.get(fact, fact.replace("_", " "))})
        else:
            out.append(criterion_in_words(part))
    return out


def of_screening(s: Screening) -> str:
    """A log row's reasons: the reason not randomised, or the failed criteria, or the facts still unknown."""
    if s.outcome == Screening.Outcome.ELIGIBLE_NOT_RANDOMISED:
        return s.get_not_randomised_reason_display() or _("awaiting decision")
    return "; ".join(in_words(s.reasons))


def not_randomised_in_words(code: str) -> str:
    return str(dict(Screening.NotRandomisedReason.choices).get(code, code.replace("_", " ")))
