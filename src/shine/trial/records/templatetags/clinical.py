"""``{{ value|clinical:"pao2_fio2" }}``: a derived number at its clinical precision (shine.clinical.precision),
the same table the API uses, with the reader's decimal separator (a comma in Danish); empty for no value.
A number written into an input's value or a data-* attribute for the page's script is not localised: use
``|unlocalize`` there. ``{{ code|word }}``: a stored code (a stop reason, a vital status) in words."""

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from shine.clinical.precision import DECIMALS, shown

from ..words import COMPONENT_WORDS
from ..words import word as code_word

register = template.Library()


@register.filter
def clinical(value, quantity: str) -> str:
    if value is None or value == "":
        return ""
    return number_format(shown(quantity, float(value)), DECIMALS[quantity])


@register.filter
def word(code) -> str:
    return "" if code in (None, "") else str(code_word(str(code)))


@register.filter
def sofa_component(name) -> str:
    """A SOFA component (respiration, coagulation, …) in words."""
    return str(COMPONENT_WORDS.get(name, name))


@register.filter
def sofa_components(names) -> str:
    return ", ".join(sofa_component(n) for n in names or ())


@register.filter
def comorbidity_words(codes: str) -> str:
    """The ";"-separated comorbidity codes of a baseline, in words."""
    return ", ".join(str(code_word(c)) for c in (codes or "").split(";") if c)


@register.filter
def input_word(name) -> str:
    """A captured input of the SOFA forms (pao2_fio2, platelets, …) in words."""
    from ..edit_checks import INPUT_LABELS

    return str(INPUT_LABELS.get(name, name))


@register.filter
def missing_code_word(code) -> str:
    """A missing-data code (not_done, unknown, not_applicable) in words."""
    from ..edit_checks import CODE_LABELS

    return str(CODE_LABELS.get(code, code))


FORM_WORDS = {"daily": _("daily record"), "baseline": _("baseline"), "infusion": _("infusion"),
              "sample": _("blood sample"), "followup": _("follow-up")}


@register.filter
def form_word(form) -> str:
    """A form's code (daily, baseline, …) in words."""
    return str(FORM_WORDS.get(form, form))


@register.simple_tag
def form_script_words():
    """The words the SOFA form's scripts show (sofa_form.js, session_guard.js), in the reader's language, as a
    JSON block the scripts read: no text in the static files. ``{missing}``, ``{score}``, ``{inputs}`` and
    ``{time}`` are filled in by the scripts."""
    from django.utils.html import json_script
    from django.utils.translation import gettext

    words = {
        "not_scored": gettext("Modified SOFA not scored: missing {missing}"),
        "modified": gettext("Modified SOFA {score}/20"),
        "incomplete": gettext("Incomplete: no value or code for {inputs}"),
        "cannot_compute": gettext("cannot compute"),
        "bilirubin": gettext("Bilirubin") + " (µmol/L)", "creatinine": gettext("Creatinine") + " (µmol/L)",
        "sofa_total": gettext("SOFA total"),
        "components": {k: str(v) for k, v in COMPONENT_WORDS.items()},
        "session_ended": gettext("Your session has ended. What you typed is kept: press Save, log in again, and the "
                                 "values are put back into this form."),
        "session_absolute": gettext("Your session ends at {time} (the longest a login lasts). Save before then; if "
                                    "it ends, what you typed is kept and put back after you log in again."),
        "session_idle": gettext("Your session ends at {time} unless you stay signed in. If it ends, what you typed "
                                "is kept and put back after you log in again."),
    }
    return json_script(words, "form-words")


@register.filter
def lab_input_word(value) -> str:
    """A laboratory value's input (a proposal's row) in words."""
    from ..words import LAB_INPUT_WORDS

    return str(LAB_INPUT_WORDS.get(value.get("input"), value.get("label", "")))


@register.filter
def stored_warnings(text) -> str:
    """A record's stored warnings (kept in English) in the reader's language."""
    from ..edit_checks import shown_warnings

    return shown_warnings(str(text or ""))
