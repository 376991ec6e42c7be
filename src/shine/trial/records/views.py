"""Pages of the case report forms and the worklist: thin views over the services."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shine import protocol as protocol_mod
from shine.trial.accounts.roles import Perm, may_review
from shine.trial.accounts.selectors import require, site_filter
from shine.trial.audit.services import ReasonRequired
from shine.trial.errors import Refused, refuse, rid
from shine.trial.monitoring.deviations import flagged

from . import api as out
from . import drafts, lab_import, selectors, services
from . import forms as f
from .labels import labels_pdf
from .models import Baseline, Death, IcuStay


def _attempt(form, action) -> tuple[object | None, int]:
    """Run a service call; put a refusal on the form's field (or the form). Returns (result, status)."""
    try:
        return action(), 200
    except ReasonRequired as exc:
        form.add_error("reason" if "reason" in form.fields else None, str(exc))
        return None, 400
    except Refused as exc:
        name = exc.field or ""
        field = ("code_" + name[6:] if name.startswith("codes.") else
                 "note_" + name[9:] if name.startswith("comments.") else name)
        return None, refuse(form, exc, field=field)


def _local(t):
    return timezone.localtime(t) if t else None


# ---------------------------------------------------------------- participant data page

def _chart(days) -> dict:
    """Bars of the daily modified SOFA (0–20) as SVG coordinates."""
    width, height, bar = max(len(days), 1) * 14 + 30, 130, 10
    bars = []
    for i, (day, score, source) in enumerate(days):
        h = 0 if score is None else score / 20 * 100
        bars.append({"x": 30 + i * 14, "y": 110 - h, "h": h, "day": day, "score": score, "source": source,
                     "w": bar})
    return {"width": width, "height": height, "bars": bars}


@login_required
def participant_records(request, key):
    p = selectors.randomised_participant(request.user, key)
    o = selectors.outcomes(p)
    return render(request, "records/participant.html", {
        "p": p, "items": selectors.schedule_for(p), "outcomes": o, "chart": _chart(o.daily),
        "baseline": Baseline.objects.filter(participant=p).first(),
        "daily": p.daily_records.select_related("entered_by").order_by("study_day"),
        "infusion": out.infusion_out(p), "stays": IcuStay.objects.filter(participant=p).order_by("stay"),
        "death": Death.objects.filter(participant=p).first(), "samples": p.blood_samples.order_by("study_day"),
        "visits": p.follow_ups.order_by("visit_day"), "deviations": p.deviations.order_by("number"),
        "can_write": selectors.may_write(request.user, p), "followup_days": protocol_mod.load().schedule.followup_days,
    })


# ---------------------------------------------------------------- SOFA forms

COMMA_LANGUAGES = ("da", "de", "nl", "sv", "nb", "nn", "no", "fi", "fr", "es", "it", "pt", "pl", "is")


def decimal_comma(request) -> bool:
    """Whether the user writes decimal commas: the page's language (the user's own setting or the browser's),
    or the browser's first language (Accept-Language)."""
    first = request.META.get("HTTP_ACCEPT_LANGUAGE", "").split(",")[0].strip().lower()
    page = (translation.get_language() or "").split("-")[0]
    return first.split("-")[0] in COMMA_LANGUAGES or page in COMMA_LANGUAGES


def _shown(value, comma: bool) -> str:
    """A saved number as the user writes it (no trailing zeros; a comma where the user writes one)."""
    if value is None:
        return ""
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return text.replace(".", ",") if comma else text


def _tri(value, code: str | None) -> str:
    return "unknown" if code == "unknown" else {True: "true", False: "false"}.get(value, "")


def _sofa_initial(record, comma: bool = False) -> dict:
    if record is None:
        return {}
    codes = record.codes or {}
    init = {k: _shown(getattr(record, k), comma) for k in ("platelets", "map_mmhg", "gcs", "urine_output")}
    if not (getattr(record, "vasopressor", None) is False or codes.get("vasopressor_doses") == "not_applicable"):
        init.update({d: _shown(getattr(record, d), comma) for d in ("norepinephrine", "epinephrine", "dopamine",
                                                                    "dobutamine")})
    init.update(pao2=_shown(record.pao2_entered, comma), pao2_unit=record.pao2_unit or "kPa",
                fio2=_shown(record.fio2_entered, comma), fio2_unit=record.fio2_unit or "percent",
                bilirubin=_shown(record.bilirubin_entered, comma), bilirubin_unit=record.bilirubin_unit or "umol/L",
                creatinine=_shown(record.creatinine_entered, comma),
                creatinine_unit=record.creatinine_unit or "umol/L",
                respiratory_support=_tri(record.respiratory_support, codes.get("respiratory_support")))
    init.update({f"note_{k}": t for k, t in (record.comments or {}).items()})
    init.update({f"code_{k}": c for k, c in codes.items() if c != "unknown" or k not in (
        "respiratory_support", "vasopressor", "mechanical_ventilation", "rrt")})
    return init


def _saved(request, record) -> None:
    """The "saved" confirmation, with what still needs a value and any soft-limit warning."""
    from .edit_checks import INPUT_LABELS, shown_warnings

    if hasattr(record, "study_day"):
        text = _("Saved: day %(day)s of %(participant)s.") % {"day": record.study_day,
                                                             "participant": record.participant.number}
    else:
        text = _("Saved: baseline of %(participant)s.") % {"participant": record.participant.number}
    missing = getattr(record, "missing_input_list", [])
    if missing:
        text += " " + _("Still incomplete: %(inputs)s.") % {"inputs": ", ".join(str(INPUT_LABELS[i])
                                                                               for i in missing)}
    if getattr(record, "warnings", ""):
        text += " " + _("Warnings (flagged for review): %(warnings)s.") % {"warnings": shown_warnings(record.warnings)}
    messages.success(request, text)


@drafts.keeps_typed_values("baseline")
@login_required
@require_http_methods(["GET", "POST"])
def baseline_form(request, key):
    p = selectors.randomised_participant(request.user, key, write=True)
    require(request.user, Perm.ENTER_DATA)
    existing = Baseline.objects.filter(participant=p).first()
    comma = decimal_comma(request)
    if existing:
        initial = {**_sofa_initial(existing, comma), **{k: getattr(existing, k) for k in (
            "age", "sex", "site_of_infection")}, "weight_kg": _shown(existing.weight_kg, comma),
            "weight_estimated": "true" if existing.weight_estimated else "false",
            "comorbidities": [c for c in existing.comorbidities.split(";") if c],
            "icu_admitted_at": _local(existing.icu_admitted_at)}
    else:
        s = p.screening
        initial = {"age": s.age, "sex": s.sex, "weight_kg": _shown(p.weight_kg, comma),
                   "weight_estimated": {True: "true", False: "false"}.get(p.weight_estimated, "")}
    restored = _restore(request, "baseline", p, 0, f.BaselineForm, initial)
    form = f.BaselineForm(request.POST or None, initial=initial)
    status, preview = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            values = form.values()
            if request.POST.get("action") == "preview":
                preview, status = _attempt(form, lambda: services.preview(values, daily=False))
            else:
                saved, status = _attempt(form, lambda: services.save_baseline(
                    user=request.user, participant=p, values=values, reason=form.cleaned_data["reason"],
                    request_id=rid(request)))
                if saved:
                    drafts.discard(user=request.user, form="baseline", participant=p, study_day=0)
                    _saved(request, saved)
                    return redirect("participant_records", key=p.number)
    return render(request, "records/sofa_form.html", {
        "p": p, "form": form, "title": _("Baseline (day 0) of %(participant)s") % {"participant": p.number},
        "editing": existing is not None,
        "preview": preview, "daily": False, "restored": restored, **_draft_context(request, "baseline", p, 0)},
        status=status)


def _restore(request, form_name, p, study_day, form_class, initial):
    """On opening a form: the values of this user's draft (typed before the session ended) put back."""
    if request.method != "GET" or study_day is None:
        return None
    found = drafts.restore(user=request.user, form=form_name, participant=p, study_day=study_day,
                           form_class=form_class)
    if found is None:
        return None
    initial.update(found[0])
    return _local(found[1])


def _draft_context(request, form_name, p, study_day) -> dict:
    return {"draft_token": drafts.token_for(user=request.user, form=form_name, participant=p, study_day=study_day),
            "session": drafts.session_timing(request)}


def _day_asked(request) -> int | None:
    day = request.GET.get("day", "")
    return int(day) if day.isdigit() else None


@drafts.keeps_typed_values("daily")
@login_required
@require_http_methods(["GET", "POST"])
def daily_form(request, key, day=None):
    p = selectors.randomised_participant(request.user, key, write=True)
    require(request.user, Perm.ENTER_DATA)
    if request.method == "POST" and request.headers.get(PREVIEW_HEADER) == "json":
        return _live_preview(request.POST)
    record = selectors.daily_record(p, day) if day is not None else None
    initial = _sofa_initial(record, decimal_comma(request))
    if record:
        codes = record.codes or {}
        initial.update(study_day=record.study_day, **{k: _tri(getattr(record, k), codes.get(k)) for k in (
            "vasopressor", "mechanical_ventilation", "rrt")})
    else:
        initial["study_day"] = request.GET.get("day") or ""
    needs_baseline = record is None and not Baseline.objects.filter(participant=p).exists()
    draft_day = record.study_day if record else _day_asked(request)
    labs_used = False
    if draft_day and request.method == "GET" and request.GET.get("labs") == "use":
        lab_values = lab_import.form_initial(p, draft_day)  # for the nurse to check and save; nothing saved here
        initial.update(lab_values)
        labs_used = bool(lab_values)
    restored = _restore(request, "daily", p, draft_day, f.DailyForm, initial)
    form = f.DailyForm(request.POST or None, initial=initial)
    status, preview = 200, None
    if request.method == "POST":
        status = 400
        if record is not None:
            form.data = form.data.copy()
            form.data["study_day"] = str(record.study_day)
        if form.is_valid():
            values = form.values()
            if request.POST.get("action") == "preview":
                preview, status = _attempt(form, lambda: services.preview(values, daily=True))
            elif record is None:
                saved, status = _attempt(form, lambda: services.create_daily_record(
                    user=request.user, participant=p, study_day=form.cleaned_data["study_day"], values=values,
                    request_id=rid(request)))
            else:
                saved, status = _attempt(form, lambda: services.update_daily_record(
                    user=request.user, record=record, values=values, reason=form.cleaned_data["reason"],
                    request_id=rid(request)))
            if request.POST.get("action") != "preview" and status == 200:
                drafts.discard(user=request.user, form="daily", participant=p, study_day=saved.study_day)
                _saved(request, saved)
                return redirect("participant_records", key=p.number)
        if form.errors and request.POST.get("action") != "preview":
            preview = _keep_preview(form)
    title = (_("Daily ICU record of %(participant)s, day %(day)s") % {"participant": p.number, "day": record.study_day}
             if record else _("Daily ICU record of %(participant)s") % {"participant": p.number})
    return render(request, "records/sofa_form.html", {
        "p": p, "form": form, "title": title, "editing": record is not None, "record": record, "preview": preview,
        "daily": True, "needs_baseline": needs_baseline, "restored": restored,
        "labs": lab_import.proposal_json(p, draft_day) if draft_day else [], "labs_day": draft_day,
        "labs_used": labs_used, "preview_url": request.path, "preview_header": PREVIEW_HEADER,
        **_draft_context(request, "daily", p, draft_day)}, status=status)


PREVIEW_HEADER = "X-Shine-Preview"  # sofa_form.js: the SOFA of the typed values, as JSON, while the nurse types


def _live_preview(data) -> JsonResponse:
    """The live SOFA preview of the daily form (sofa_form.js posts the form as it is): the preview API's answer,
    in the page's language (the API's words are always English). Nothing is saved."""
    form = f.DailyForm(data)
    form.is_valid()  # the values typed so far; the study day and the reason do not matter for a preview
    errors = [{"field": name, "message": f"{form.fields[name].label}: {e}" if name in form.fields else str(e)}
              for name, es in form.errors.items() if name not in ("study_day", "reason") for e in es]
    if errors:
        return JsonResponse({"detail": errors[0]["message"], "errors": errors}, status=400)
    try:
        result = services.preview(form.values(), daily=True)
    except Refused as exc:
        return JsonResponse({"detail": str(exc), "errors": [{"field": exc.field, "message": str(exc)}]}, status=400)
    out = result.as_json()
    out["warnings"] = [str(w) for w in result.warnings]  # in the reader's words (the stored text is English)
    return JsonResponse(out)


def _keep_preview(form):
    """After a refused save, the SOFA preview of the values typed (when they can be scored at all)."""
    if not hasattr(form, "cleaned_data"):
        return None
    try:
        return services.preview(form.values(), daily=True)
    except Refused:
        return None


# ---------------------------------------------------------------- infusion, samples, stays, death, follow-up

@login_required
@require_http_methods(["GET", "POST"])
def infusion(request, key):
    p = selectors.randomised_participant(request.user, key)
    form = f.InfusionEventForm(request.POST or None, initial={"at": _local(timezone.now())})
    status = 200
    if request.method == "POST":
        p = selectors.randomised_participant(request.user, key, write=True)
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            seg, status = _attempt(form, lambda: services.record_infusion_event(
                user=request.user, participant=p, kind=d["kind"], at=d["at"], rate_ml_per_h=d["rate_ml_per_h"],
                stop_reason=d["stop_reason"], note=d["note"], request_id=rid(request)))
            if seg is not None:
                return redirect("records_infusion", key=p.number)
    return render(request, "records/infusion.html", {"p": p, "form": form, "infusion": out.infusion_out(p),
                                                     "can_write": selectors.may_write(request.user, p)}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def sample_form(request, key, day=None):
    p = selectors.randomised_participant(request.user, key, write=True)
    require(request.user, Perm.ENTER_DATA)
    sample = selectors.blood_sample(p, day) if day is not None else None
    if sample:
        initial = {"study_day": sample.study_day, "sample_id": sample.sample_id, "drawn_at": _local(sample.drawn_at),
                   "frozen_at": _local(sample.frozen_at), "comments": sample.comments}
    else:
        d = request.GET.get("day") or "1"
        initial = {"study_day": d, "sample_id": services.default_sample_id(p, int(d)) if d.isdigit() else ""}
    form = f.SampleForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            c = form.cleaned_data
            if sample is None:
                saved, status = _attempt(form, lambda: services.record_blood_sample(
                    user=request.user, participant=p, study_day=c["study_day"], sample_id=c["sample_id"],
                    drawn_at=c["drawn_at"], frozen_at=c["frozen_at"], comments=c["comments"],
                    request_id=rid(request)))
            else:
                saved, status = _attempt(form, lambda: services.update_blood_sample(
                    user=request.user, sample=sample, drawn_at=c["drawn_at"], frozen_at=c["frozen_at"],
                    comments=c["comments"], reason=c["reason"], request_id=rid(request)))
            if saved is not None:
                return redirect("participant_records", key=p.number)
    return render(request, "records/simple_form.html", {
        "p": p, "form": form, "title": _("Blood sample of %(participant)s") % {"participant": p.number},
        "editing": sample is not None},
        status=status)


@login_required
def sample_labels(request, key):
    p = selectors.randomised_participant(request.user, key, write=True)
    require(request.user, Perm.ENTER_DATA)
    days = protocol_mod.load().schedule.biobank_days
    taken = {s.study_day: s.sample_id for s in p.blood_samples.all()}
    labels = [(d, taken.get(d) or services.default_sample_id(p, d)) for d in days]
    response = FileResponse(io.BytesIO(labels_pdf(p, labels)), content_type="application/pdf",
                            filename=f"{p.number}-sample-labels.pdf")
    return response


@login_required
@require_http_methods(["GET", "POST"])
def icu_stay(request, key):
    p = selectors.randomised_participant(request.user, key, write=True)
    require(request.user, Perm.ENTER_DATA)
    stays = list(IcuStay.objects.filter(participant=p).order_by("stay"))
    in_icu = bool(stays) and stays[-1].discharge == "in_icu"
    form_class = f.DischargeForm if in_icu else f.ReadmissionForm
    form = form_class(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            if in_icu:
                action = lambda: services.record_icu_discharge(  # noqa: E731
                    user=request.user, participant=p, discharged_at=form.cleaned_data["discharged_at"],
                    request_id=rid(request))
            else:
                action = lambda: services.record_icu_readmission(  # noqa: E731
                    user=request.user, participant=p, admitted_at=form.cleaned_data["admitted_at"],
                    request_id=rid(request))
            saved, status = _attempt(form, action)
            if saved is not None:
                return redirect("participant_records", key=p.number)
    title = (_("ICU discharge of %(participant)s") if in_icu else _("ICU readmission of %(participant)s")) % {
        "participant": p.number}
    return render(request, "records/simple_form.html", {"p": p, "form": form, "title": title, "stays": stays,
                                                        "no_stay": not stays}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def death_form(request, key):
    p = selectors.randomised_participant(request.user, key, write=True)
    require(request.user, Perm.ENTER_DATA)
    existing = Death.objects.filter(participant=p).first()
    initial = {"died_at": _local(existing.died_at), "cause": existing.cause} if existing else {}
    form = f.DeathForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            c = form.cleaned_data
            saved, status = _attempt(form, lambda: services.record_death(
                user=request.user, participant=p, died_at=c["died_at"], cause=c["cause"], reason=c["reason"],
                request_id=rid(request)))
            if saved is not None:
                return redirect("participant_records", key=p.number)
    title = _("Death of %(participant)s") % {"participant": p.number}
    return render(request, "records/simple_form.html", {"p": p, "form": form, "title": title,
                                                        "editing": existing is not None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def followup_form(request, key, day):
    p = selectors.randomised_participant(request.user, key, write=True)
    require(request.user, Perm.ENTER_DATA)
    if day not in protocol_mod.load().schedule.followup_days:
        raise Http404(_("no such visit"))
    visit = p.follow_ups.filter(visit_day=day).first()
    initial = {k: getattr(visit, k) for k in f.FollowUpForm.base_fields if k != "reason"} if visit else {}
    if visit:
        initial["assessed_at"] = _local(visit.assessed_at)
    form = f.FollowUpForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
            if visit is None:
                saved, status = _attempt(form, lambda: services.record_follow_up(
                    user=request.user, participant=p, visit_day=day, values=values, request_id=rid(request)))
            else:
                saved, status = _attempt(form, lambda: services.update_follow_up(
                    user=request.user, visit=visit, values=values, reason=form.cleaned_data["reason"],
                    request_id=rid(request)))
            if saved is not None:
                return redirect("participant_records", key=p.number)
    return render(request, "records/simple_form.html", {
        "p": p, "form": form,
        "title": _("Day-%(day)s follow-up of %(participant)s") % {"day": day, "participant": p.number},
        "editing": visit is not None},
        status=status)


# ---------------------------------------------------------------- worklist

@login_required
def worklist(request):
    require(request.user, Perm.VIEW_PARTICIPANTS)
    site = site_filter(request.GET)
    items = selectors.worklist(request.user, site=site)
    return render(request, "records/worklist.html", {
        "items": items, "flagged": flagged(request.user), "site": site,
        "can_review": may_review(request.user)})
