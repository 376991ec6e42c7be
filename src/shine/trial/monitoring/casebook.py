"""The records that make up a participant's casebook, named as the audit trail names them, with the version
of each (the audit event that last changed it) and the SHA-256 of its audited content."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db.models import Max
from django.urls import reverse

from shine.trial.audit.chain import canonical_json
from shine.trial.audit.models import AuditEvent
from shine.trial.audit.services import object_type, snapshot
from shine.trial.enrollment.models import ConsentEvent, Participant, Screening
from shine.trial.errors import Refused
from shine.trial.records.models import (
    Baseline,
    BloodSample,
    DailyRecord,
    Death,
    Deviation,
    FollowUp,
    IcuStay,
    InfusionSegment,
)

# form code -> (model, label); the order is the casebook's
FORMS: dict[str, tuple[type, str]] = {
    "eligibility": (Screening, "Eligibility (screening)"),
    "consent": (ConsentEvent, "Consent"),
    "baseline": (Baseline, "Baseline"),
    "daily": (DailyRecord, "Daily record"),
    "infusion": (InfusionSegment, "Infusion"),
    "sample": (BloodSample, "Blood sample"),
    "icu": (IcuStay, "ICU stay"),
    "death": (Death, "Death"),
    "followup": (FollowUp, "Follow-up"),
    "deviation": (Deviation, "Deviation"),
}
FORM_OF_TYPE = {object_type(model): code for code, (model, _) in FORMS.items()}


@dataclass(frozen=True)
class Entry:
    """One record of a casebook in its current version."""

    form: str
    object_type: str
    object_id: str
    label: str
    url: str
    version_event: int | None  # None only for a record written before the audit trail (never in this platform)
    content_hash: str
    instance: object


def content_hash(instance) -> str:
    return hashlib.sha256(canonical_json(snapshot(instance)).encode("utf-8")).hexdigest()


# bookkeeping the services write, not values a site enters (never queried or verified on their own)
BOOKKEEPING = ("entered_at", "warnings", "needs_review", "missing_inputs")


def record_fields(instance) -> list[str]:
    """The entered fields of a record, by the audit trail's names: what a query or a verification may name."""
    hidden = set(type(instance).audit_blinded)
    return sorted(n for n in snapshot(instance) if not n.endswith("_id") and n not in BOOKKEEPING
                  and n not in hidden)


def _label(form: str, r) -> str:
    if form == "daily":
        return f"day {r.study_day}"
    if form == "sample":
        return f"sample day {r.study_day}"
    if form == "followup":
        return f"day-{r.visit_day} follow-up"
    if form == "infusion":
        return f"infusion segment {r.segment}"
    if form == "icu":
        return f"ICU stay {r.stay}"
    if form == "deviation":
        return r.label
    if form == "consent":
        return f"consent: {r.get_kind_display()}"
    return FORMS[form][1].lower() if form != "eligibility" else "eligibility"


def _url(form: str, p: Participant, r) -> str:
    key = p.number
    match form:
        case "eligibility":
            return reverse("screening_detail", args=[r.pk])
        case "consent":
            return reverse("participant", args=[key])
        case "baseline":
            return reverse("records_baseline", args=[key])
        case "daily":
            return reverse("records_daily", args=[key, r.study_day])
        case "infusion":
            return reverse("records_infusion", args=[key])
        case "sample":
            return reverse("records_sample", args=[key, r.study_day])
        case "icu":
            return reverse("records_icu", args=[key])
        case "death":
            return reverse("records_death", args=[key])
        case "followup":
            return reverse("records_followup", args=[key, r.visit_day])
        case _:
            return reverse("records_deviations", args=[key])


def _instances(p: Participant):
    yield "eligibility", [Screening.objects.get(pk=p.screening_id)]
    yield "consent", list(p.consent_events.order_by("occurred_at", "pk"))
    yield "baseline", list(Baseline.objects.filter(participant=p))
    for form in ("daily", "infusion", "sample", "icu", "death", "followup", "deviation"):
        model = FORMS[form][0]
        yield form, list(model.objects.filter(participant=p).order_by("pk"))


def latest_events(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The id of the audit event that last changed each (object_type, object_id)."""
    out: dict[tuple[str, str], int] = {}
    by_type: dict[str, list[str]] = {}
    for t, i in pairs:
        by_type.setdefault(t, []).append(i)
    for t, ids in by_type.items():
        rows = (AuditEvent.objects.filter(object_type=t, object_id__in=ids).values("object_id")
                .annotate(last=Max("id")).values_list("object_id", "last"))
        out.update({(t, i): last for i, last in rows})
    return out


def entries(p: Participant) -> list[Entry]:
    """Every record of the participant's casebook, in casebook order."""
    found = [(form, r) for form, rows in _instances(p) for r in rows]
    events = latest_events([(object_type(type(r)), str(r.pk)) for _, r in found])
    return [Entry(form, object_type(type(r)), str(r.pk), _label(form, r), _url(form, p, r),
                  events.get((object_type(type(r)), str(r.pk))), content_hash(r), r) for form, r in found]


def entry(p: Participant, form: str, object_id: str) -> Entry | None:
    return next((e for e in entries(p) if e.form == form and e.object_id == str(object_id)), None)


def entry_or_refuse(p: Participant, form: str, object_id) -> Entry:
    """The record a query or a verification names, refused in words when its form or the record is unknown."""
    if form not in FORMS:
        raise Refused(f"form must be one of {', '.join(FORMS)}", field="form")
    e = entry(p, form, str(object_id or ""))
    if e is None:
        raise Refused(f"{p.number} has no {FORMS[form][1].lower()} record {object_id}", field="object_id")
    return e


def casebook_hash(rows: list[Entry]) -> str:
    """SHA-256 of the casebook as signed: every record's name, version and content hash, in order."""
    content = [[e.object_type, e.object_id, e.version_event, e.content_hash] for e in rows]
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()
