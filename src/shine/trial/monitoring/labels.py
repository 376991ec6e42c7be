"""The words the monitoring pages show for codes and stored names, in the reader's language: query states and
thread actions, SDV statuses, casebook forms and records, fields. The codes themselves (stored, in the API
and in exports) stay as they are; only what people read is translated."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

FORM_LABELS = {
    "eligibility": gettext_lazy("Eligibility (screening)"),
    "consent": gettext_lazy("Consent"),
    "baseline": gettext_lazy("Baseline"),
    "daily": gettext_lazy("Daily record"),
    "infusion": gettext_lazy("Infusion"),
    "sample": gettext_lazy("Blood sample"),
    "icu": gettext_lazy("ICU stay"),
    "death": gettext_lazy("Death"),
    "followup": gettext_lazy("Follow-up"),
    "deviation": gettext_lazy("Deviation"),
}
SDV_STATUS = {
    "to verify": gettext_lazy("to verify"),
    "verified": gettext_lazy("verified"),
    "re-verify": gettext_lazy("re-verify"),
    "not required": gettext_lazy("not required"),
    "not verified": gettext_lazy("not verified"),
}
# a thread message's action, as the thread shows it (English: the code itself)
THREAD_ACTIONS = {
    "raise": pgettext_lazy("query thread", "raise"),
    "open": pgettext_lazy("query thread", "open"),
    "answer": pgettext_lazy("query thread", "answer"),
    "requery": pgettext_lazy("query thread", "requery"),
    "close": pgettext_lazy("query thread", "close"),
    "cancel": pgettext_lazy("query thread", "cancel"),
    "resolve": pgettext_lazy("query thread", "resolve"),
}


DEVIATION_CATEGORIES = {
    "eligibility": gettext_lazy("eligibility"),
    "consent": gettext_lazy("consent"),
    "randomisation": gettext_lazy("randomisation"),
    "intervention": gettext_lazy("intervention"),
    "data_collection": gettext_lazy("data collection"),
    "other": gettext_lazy("other"),
}


def deviation_category(code: str):
    """A deviation's category in words (lazy: a form's choices are built once)."""
    return DEVIATION_CATEGORIES.get(code, (code or "").replace("_", " "))


_SYSTEM_RAISE = re.compile(r"^Edit check: (.*)\. Please check the value against the source and correct it, or "
                           r"confirm it\.$", re.S)
_SYSTEM_RESOLVE = "The edit check no longer fires on the current value."


def thread_text(message) -> str:
    """A message of a query's thread: as written by its author; the edit check's own messages (stored in the
    trial's language) in the reader's."""
    text = message.text or ""
    if message.author_id is not None:
        return text
    if text == _SYSTEM_RESOLVE:
        return _("The edit check no longer fires on the current value.")
    m = _SYSTEM_RAISE.match(text)
    if m:
        return _("Edit check: %(rule)s. Please check the value against the source and correct it, or confirm it.") % {
            "rule": m.group(1)}
    return text


def form_label(form: str) -> str:
    return str(FORM_LABELS.get(form, form))


def sdv_status(status: str) -> str:
    return str(SDV_STATUS.get(status, status))


def thread_action(action: str) -> str:
    return str(THREAD_ACTIONS.get(action, action))


FIELDS = {"codes": gettext_lazy("codes"), "comments": gettext_lazy("comments"),
          "sofa_cardiovascular": gettext_lazy("SOFA cardiovascular"), "sofa_cns": gettext_lazy("SOFA CNS"),
          "sofa_coagulation": gettext_lazy("SOFA coagulation"), "sofa_liver": gettext_lazy("SOFA liver"),
          "sofa_renal": gettext_lazy("SOFA renal"), "sofa_respiration": gettext_lazy("SOFA respiration"),
          "sofa_total": gettext_lazy("SOFA total"), "sofa_modified": gettext_lazy("SOFA modified")}


def field_label(name: str) -> str:
    """A record's field in words (the case report forms' own label where they have one)."""
    from shine.trial.records import edit_checks

    name = name or ""
    if name in edit_checks.LABELS:
        return str(edit_checks.LABELS[name])
    if name in FIELDS:
        return str(FIELDS[name])
    if name.endswith("_entered") and name.removesuffix("_entered") in edit_checks.LABELS:
        return _("%(field)s as entered") % {"field": edit_checks.LABELS[name.removesuffix("_entered")]}
    return name.replace("_", " ")


def field_value(value) -> str:
    """A field's value as the audit trail encodes it, yes/no for a tick box."""
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    return value


_NUMBERED = [
    (re.compile(r"^sample day (-?\d+)$"), lambda n: _("sample day %(day)s") % {"day": n}),
    (re.compile(r"^day (-?\d+)$"), lambda n: _("day %(day)s") % {"day": n}),
    (re.compile(r"^day-(\d+) follow-up$"), lambda n: _("day-%(day)s follow-up") % {"day": n}),
    (re.compile(r"^infusion segment (\d+)$"), lambda n: _("infusion segment %(number)s") % {"number": n}),
    (re.compile(r"^ICU stay (\d+)$"), lambda n: _("ICU stay %(number)s") % {"number": n}),
]
_PLAIN = {"eligibility": gettext_lazy("eligibility"), "baseline": gettext_lazy("baseline"),
          "death": gettext_lazy("death"), "participant": gettext_lazy("participant")}


VARIABLES = {"lactate_mmol_l": gettext_lazy("lactate"),
             "serious adverse events": gettext_lazy("serious adverse events"),
             "daily record": gettext_lazy("daily record")}


def variable_label(name: str) -> str:
    """A variable (or form) of central monitoring in words."""
    return str(VARIABLES[name]) if name in VARIABLES else field_label(name)


def record_label(label: str) -> str:
    """A casebook record's name ("day 3", "ICU stay 1", as the casebook and the queries store it) in words."""
    label = label or ""
    for pattern, words in _NUMBERED:
        m = pattern.match(label)
        if m:
            return words(m.group(1))
    if label in _PLAIN:
        return str(_PLAIN[label])
    if label.startswith("consent: "):
        return _("consent: %(kind)s") % {"kind": label.removeprefix("consent: ")}
    return label


def entry_label(entry) -> str:
    """A casebook entry named once: 'Daily record: day 3', 'Consent: patient consent', 'Infusion: segment 1',
    'ICU stay 2'; a form held once by its name alone ('Baseline', not 'Baseline: baseline')."""
    r = entry.instance
    match entry.form:
        case "eligibility" | "baseline" | "death":
            return form_label(entry.form)
        case "icu":
            return record_label(entry.label)
        case "consent":
            record = r.get_kind_display()
        case "daily" | "sample":
            record = _("day %(day)s") % {"day": r.study_day}
        case "followup":
            record = _("day %(day)s") % {"day": r.visit_day}
        case "infusion":
            record = _("segment %(number)s") % {"number": r.segment}
        case _:
            record = record_label(entry.label)
    return _("%(form)s: %(record)s") % {"form": form_label(entry.form), "record": record}


def query_target(query) -> str:
    """What a query is on: the participant, a record, or one field of a record."""
    parts = [record_label(query.record_label) if query.record_label else str(_PLAIN["participant"])]
    if query.field:
        parts.append(field_label(query.field))
    return " · ".join(parts)
