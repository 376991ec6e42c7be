"""Pages of the screening log, participants and consent: thin views over the services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shine import protocol as protocol_mod
from shine.clinical import eligibility
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require, site_filter
from shine.trial.errors import Refused, refuse, rid

from . import consent as rules
from . import reasons, selectors, services
from .forms import ConsentForm, EnrolForm, NotRandomisedForm, RandomiseForm, ScreeningEditForm, ScreeningForm
from .models import Screening


def reason_text(failure: eligibility.Failure) -> str:
    """A criterion's reason for blinded pages: the drug is 'the trial drug', never its name."""
    return reasons.without_drug_name(str(failure.reason))


def assessment_context(a: eligibility.Assessment) -> dict:
    """The assessment for the page: failed criteria with their reasons, and the missing facts in words (the
    screening form's labels), each beside its code."""
    labels = {name: str(field.label) for name, field in ScreeningForm.base_fields.items()}
    return {"eligible": a.eligible, "failed": [(f.code, reason_text(f)) for f in a.failed],
            "missing": [(m, labels.get(m, m.replace("_", " "))) for m in a.missing]}


# ---------------------------------------------------------------- screening log

@login_required
def screening_log(request):
    qs = selectors.screenings_for(request.user).select_related("participant", "site")
    outcome = request.GET.get("outcome", "")
    if outcome in Screening.Outcome.values:
        qs = qs.filter(outcome=outcome)
    if request.GET.get("format") == "csv":
        return _screening_log_csv(request, qs, outcome)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for s in page.object_list:
        s.reasons_in_words = reasons.of_screening(s)
    consort = selectors.consort(request.user)
    return render(request, "enrollment/screening_log.html", {
        "page": page, "outcome": outcome, "outcomes": Screening.Outcome.choices,
        "counts": selectors.counts_per_site_month(request.user), "consort": consort,
        "not_eligible_by_criterion": [(reasons.criterion_in_words(k), v)
                                      for k, v in consort.not_eligible_by_criterion.items()],
        "not_randomised_by_reason": [(reasons.not_randomised_in_words(k), v)
                                     for k, v in consort.not_randomised_by_reason.items()],
        "can_screen": request.user.can(Perm.SCREEN) and bool(selectors.member_site_ids(request.user)),
    })


def _screening_log_csv(request, qs, outcome: str):
    """The screening log as the page shows it (reasons in words), every row, one audited export."""
    import csv
    import io

    from django.db import transaction
    from django.http import HttpResponse
    from django.utils import timezone

    from shine.trial.audit import services as audit

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["screening", "site", "screened_at", "outcome", "reasons", "participant"])
    n = 0
    # the file is language-independent: the words of the log in English whoever downloads it
    with translation.override(None):
        for s in qs.order_by("screened_at", "pk"):
            writer.writerow([s.label, s.site.code, timezone.localtime(s.screened_at).strftime("%Y-%m-%d %H:%M"),
                             s.get_outcome_display(), reasons.of_screening(s),
                             s.participant.number if hasattr(s, "participant") else ""])
            n += 1
    with transaction.atomic():
        audit.record(actor=audit.Actor.of(request.user, rid(request)), action="export",
                     object_type="enrollment.screening_log", reason=f"screening log CSV: {n} rows"
                     + (f", outcome {outcome}" if outcome else ""))
    response = HttpResponse(out.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="screening-log.csv"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def screening_new(request):
    require(request.user, Perm.SCREEN)
    sites = list(selectors.sites_for_work(request.user))
    form = ScreeningForm(request.POST or None, sites=sites)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                s, _assessment = services.screen(user=request.user, site_code=form.cleaned_data["site"],
                                       screened_at=form.cleaned_data["screened_at"], request_id=rid(request),
                                       **form.facts())
            except Refused as exc:
                status = refuse(form, exc)
            else:
                return redirect("screening_detail", pk=s.pk)
    return render(request, "enrollment/screening_form.html", {"form": form, "title": _("Screen a patient"),
                                                               **_screening_page()}, status=status)


def _screening_page() -> dict:
    import json

    return {"pregnancy_exempt_age": protocol_mod.load().eligibility.pregnancy_exempt_age_female,
            "exclusions_json": json.dumps(list(ScreeningForm.EXCLUSIONS))}


@login_required
def screening_detail(request, pk):
    s = selectors.screening_for_user(request.user, pk)
    participant = getattr(s, "participant", None) if hasattr(s, "participant") else None
    staff = selectors.works_at(request.user, s.site_id)
    return render(request, "enrollment/screening_detail.html", {
        "s": s, "a": assessment_context(services.assessment_of(s)), "participant": participant,
        "can_enrol": staff and request.user.can(Perm.CONSENT) and s.outcome == Screening.Outcome.ELIGIBLE
        and participant is None,
        "can_decline": staff and request.user.can(Perm.SCREEN) and s.outcome == Screening.Outcome.ELIGIBLE,
        "can_edit": staff and request.user.can(Perm.SCREEN) and participant is None
        and s.outcome != Screening.Outcome.RANDOMISED,
        "not_randomised_form": NotRandomisedForm(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def screening_edit(request, pk):
    s = selectors.screening_for_user(request.user, pk, write=True)
    initial = {k: getattr(s, k) for k in services.FACTS}
    if s.shock_diagnosed_at:
        from django.utils import timezone

        initial["shock_diagnosed_at"] = timezone.localtime(s.shock_diagnosed_at).strftime("%Y-%m-%dT%H:%M")
    form = ScreeningEditForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.update_screening(s, user=request.user, reason=form.cleaned_data["reason"],
                                          request_id=rid(request), **form.facts())
            except Refused as exc:
                status = refuse(form, exc)
            else:
                return redirect("screening_detail", pk=s.pk)
    return render(request, "enrollment/screening_form.html", {"form": form, "s": s,
                                                              "title": _("Complete screening %(screening)s") % {
                                                                  "screening": s.label},
                                                              **_screening_page()}, status=status)


@login_required
@require_http_methods(["POST"])
def screening_not_randomised(request, pk):
    s = selectors.screening_for_user(request.user, pk, write=True)
    form = NotRandomisedForm(request.POST)
    if form.is_valid():
        try:
            services.record_not_randomised(s, user=request.user, reason_code=form.cleaned_data["reason"],
                                           note=form.cleaned_data["note"], request_id=rid(request))
        except Refused as exc:
            status = refuse(form, exc)
        else:
            return redirect("screening_detail", pk=s.pk)
    else:
        status = 400
    return render(request, "enrollment/screening_detail.html", {
        "s": s, "a": assessment_context(services.assessment_of(s)), "not_randomised_form": form,
        "can_decline": True}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def screening_enrol(request, pk):
    s = selectors.screening_for_user(request.user, pk, write=True)
    require(request.user, Perm.CONSENT)
    form = EnrolForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                p = services.enrol(s, user=request.user, request_id=rid(request), **form.cleaned_data)
            except Refused as exc:
                status = refuse(form, exc)
            else:
                return redirect("participant", key=p.number)
    return render(request, "enrollment/enrol_form.html", {"form": form, "s": s}, status=status)


# ---------------------------------------------------------------- participants

@login_required
def participant_list(request):
    qs = selectors.participants_for(request.user)
    site = site_filter(request.GET)
    if site:
        qs = qs.filter(site__code=site)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for p in page.object_list:
        p.consent_label = rules.STATUS_LABELS.get(p.consent_status, p.consent_status)
    return render(request, "enrollment/participants.html", {"page": page, "site": site})


@login_required
def consent_worklist(request):
    return render(request, "enrollment/worklist.html", {"rows": selectors.worklist(request.user)})


@login_required
def participant_detail(request, key):
    from shine.trial.allocation import selectors as allocation

    p = selectors.participant_for_user(request.user, key)
    staff = selectors.works_at(request.user, p.site_id)
    return render(request, "enrollment/participant.html", {
        "p": p, "events": p.consent_events.select_related("entered_by"), "status": rules.STATUS_LABELS.get(
            p.consent_status, p.consent_status),
        "allocation": allocation.blinded_allocation(p), "arm": allocation.arm_for(request.user, p),
        "cpr": selectors.cpr_for(request.user, p),
        "can_consent": staff and request.user.can(Perm.CONSENT),
        "can_randomise": staff and request.user.can(Perm.RANDOMISE) and p.randomised_at is None,
        "can_unblind": staff and request.user.can(Perm.EMERGENCY_UNBLIND) and p.randomised_at is not None,
    })


@login_required
@require_http_methods(["GET", "POST"])
def participant_consent(request, key):
    p = selectors.participant_for_user(request.user, key, write=True)
    require(request.user, Perm.CONSENT)
    form = ConsentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = dict(form.cleaned_data)
            if data["kind"] != rules.WITHDRAWAL:
                data["consenter_role"] = ""  # the form's "withdrawn by" applies to a withdrawal only
            try:
                services.record_consent(p, user=request.user, request_id=rid(request), **data)
            except Refused as exc:
                status = refuse(form, exc)
            else:
                return redirect("participant", key=p.number)
    return render(request, "enrollment/consent_form.html", {"form": form, "p": p}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def participant_randomise(request, key):
    from shine.trial.allocation import services as allocation

    p = selectors.participant_for_user(request.user, key, write=True)
    require(request.user, Perm.RANDOMISE)
    form = RandomiseForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                result = allocation.randomise(p, user=request.user, **form.cleaned_data)
            except Refused as exc:
                status = refuse(form, exc)
            else:
                return render(request, "enrollment/randomised.html", {"p": p, "r": result})
    return render(request, "enrollment/randomise_form.html", {"form": form, "p": p}, status=status)
