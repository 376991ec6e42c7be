"""Pages of safety reporting: thin views over the services (phone first: one column, large targets)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from shine.trial.accounts.roles import Perm
from shine.trial.enrollment.selectors import participant_for_user
from shine.trial.errors import Refused, attempt, rid

from . import forms as f
from . import output, selectors, services


def _can_report(user) -> bool:
    return user.can(Perm.REPORT_SAFETY) and not user.role_def.cross_site


@login_required
def safety_home(request):
    user = request.user
    if not selectors.may_view(user):
        raise PermissionDenied(_("your role may not view safety cases"))
    cases = list(selectors.cases_for(user).prefetch_related("versions")[:200])
    rows = [(c, max(c.versions.all(), key=lambda v: v.version)) for c in cases]
    return render(request, "safety/home.html", {"items": selectors.worklist(user), "rows": rows,
                                                "now": timezone.now(), "can_report": _can_report(user),
                                                "can_assess": user.can(Perm.ASSESS_SAFETY)})


def _event_initial(version=None) -> dict:
    if version is None:
        return {"aware_at": timezone.localtime().replace(second=0, microsecond=0)}
    initial = {k: getattr(version, k) for k in f.EventForm.base_fields if hasattr(version, k)}
    initial["serious"] = "true" if version.serious else "false"
    initial["related"] = "true" if version.related else "false"
    initial["prespecified"] = version.prespecified or "none"
    initial["onset_at"] = timezone.localtime(version.onset_at)
    initial["aware_at"] = timezone.localtime().replace(second=0, microsecond=0)
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def safety_new(request):
    user = request.user
    if not _can_report(user):
        raise PermissionDenied(_("only site staff report adverse events"))
    initial = _event_initial() | {"participant": request.GET.get("participant", "")[:12]}
    form = f.NewEventForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            def act():
                key = form.cleaned_data["participant"].strip()
                if not key:
                    raise Refused(_("participant number is required"), field="participant")
                try:
                    p = participant_for_user(user, key, write=True)
                except Exception:
                    raise Refused(_("no participant %(number)s at your sites") % {"number": key},
                                  field="participant") from None
                return services.report_event(user=user, participant=p, values=form.values(), request_id=rid(request))
            case, status = attempt(form, act)
            if case is not None:
                return redirect("safety_case", case=case.number)
    return render(request, "safety/event_form.html", {"form": form, "title": _("Report an adverse event")},
                  status=status)


@login_required
def safety_case(request, case):
    user = request.user
    c = selectors.case_for_user(user, case)
    versions = list(c.versions.select_related("entered_by").order_by("-version"))
    return render(request, "safety/case.html", {
        "case": c, "versions": versions, "latest": versions[0],
        "assessments": c.assessments.select_related("rsi", "assessed_by").order_by("-number"),
        "clocks": [(k, state, selectors.STATE_WORDS[state]) for k in selectors.case_clocks(c, user)
                   for state in [k.state(timezone.now())]],
        "susar": selectors.susar_status(c, user), "can_report": _can_report(user),
        "can_assess": user.can(Perm.ASSESS_SAFETY) and versions[0].serious,
        "can_submit": user.can(Perm.ASSESS_SAFETY) and hasattr(c, "susar") and selectors.sees_arm(user, c),
        "assess_form": f.AssessForm(), "submission_form": f.SubmissionForm(
            initial={"at": timezone.localtime().replace(second=0, microsecond=0)}),
    })


@login_required
@require_http_methods(["GET", "POST"])
def safety_follow_up(request, case):
    user = request.user
    c = selectors.case_for_user(user, case, write=True)
    if not _can_report(user):
        raise PermissionDenied(_("only site staff add follow-ups"))
    form = f.EventForm(request.POST or None, initial=_event_initial(services.latest(c)))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            saved, status = attempt(form, lambda: services.add_follow_up(user=user, case=c, values=form.values(),
                                                                         request_id=rid(request)))
            if saved is not None:
                return redirect("safety_case", case=c.number)
    title = _("Follow-up of %(case)s") % {"case": c.number}
    return render(request, "safety/event_form.html", {"form": form, "title": title, "case": c}, status=status)


@login_required
@require_http_methods(["POST"])
def safety_assess(request, case):
    user = request.user
    c = selectors.case_for_user(user, case)
    if not user.can(Perm.ASSESS_SAFETY):
        raise PermissionDenied(_("your role may not assess safety cases"))
    form = f.AssessForm(request.POST)
    saved, status = None, 400
    if form.is_valid():
        d = form.cleaned_data
        saved, status = attempt(form, lambda: services.assess(
            user=user, case=c, expected=d["expected"], sponsor_related=d["sponsor_related"], comment=d["comment"],
            request_id=rid(request)))
    if saved is not None:
        return redirect("safety_case", case=c.number)
    title = _("Assess %(case)s") % {"case": c.number}
    return render(request, "safety/simple_form.html", {"form": form, "title": title, "case": c}, status=status)


@login_required
@require_http_methods(["POST"])
def safety_submission(request, case):
    user = request.user
    c = selectors.case_for_user(user, case)
    if not user.can(Perm.ASSESS_SAFETY):
        raise PermissionDenied(_("your role may not record reports to the authority"))
    form = f.SubmissionForm(request.POST)
    saved, status = None, 400
    if form.is_valid():
        d = form.cleaned_data
        saved, status = attempt(form, lambda: services.record_submission(
            user=user, case=c, kind=d["kind"], at=d["at"], note=d["note"], request_id=rid(request)))
    if saved is not None:
        return redirect("safety_case", case=c.number)
    title = _("Report of %(case)s") % {"case": c.number}
    return render(request, "safety/simple_form.html", {"form": form, "title": title, "case": c}, status=status)


@login_required
def safety_case_json(request, case):
    c = selectors.case_for_user(request.user, case)
    out = output.case_output(c, request.user)
    missing = output.missing_elements(out)
    body = json.dumps({"case": out, "valid": not missing, "missing": missing}, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{c.number}-v{out["case_version"]}.json"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def safety_rsi(request):
    user = request.user
    versions = selectors.rsi_versions(user)
    form = f.RsiForm(request.POST or None) if user.can(Perm.ASSESS_SAFETY) else None
    status = 200
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(_("your role may not add reference safety information"))
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            saved, status = attempt(form, lambda: services.add_rsi(
                user=user, version=d["version"], approved_on=d["approved_on"], in_force_from=d["in_force_from"],
                expected_reactions=d["expected_reactions"], request_id=rid(request)))
            if saved is not None:
                return redirect("safety_rsi")
    return render(request, "safety/rsi.html", {"versions": versions, "form": form}, status=status)


@login_required
def safety_case_pdf(request, case):
    from shine import protocol as protocol_mod

    from .pdf import case_pdf

    c = selectors.case_for_user(request.user, case)
    out = output.case_output(c, request.user)
    # the labels in the reader's language; the values are the case output's (language-independent)
    response = HttpResponse(case_pdf(out, trial=protocol_mod.load().name), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{c.number}-v{out["case_version"]}.pdf"'
    return response


def _period(form) -> tuple:
    today = timezone.localdate()
    start = form.cleaned_data.get("period_start") or today.replace(year=today.year - 1)
    end = form.cleaned_data.get("period_end") or today
    tz = timezone.get_current_timezone()
    import datetime as dt

    return (dt.datetime.combine(start, dt.time.min, tzinfo=tz), dt.datetime.combine(end, dt.time.max, tzinfo=tz))


@login_required
def safety_annual(request):
    from .report import annual_report

    user = request.user
    if not (user.can(Perm.ASSESS_SAFETY) or user.can(Perm.VIEW_SAFETY)):
        raise PermissionDenied(_("your role may not view the annual safety report"))
    form = f.PeriodForm(request.GET or None)
    report, status = None, 200
    if not request.GET or form.is_valid():
        if not request.GET:
            form = f.PeriodForm({})
            form.is_valid()
        start, end = _period(form)
        report, status = attempt(form, lambda: annual_report(selectors.cases_for(user), period_start=start,
                                                              period_end=end))
    else:
        status = 400
    return render(request, "safety/annual.html", {"form": form, "report": report}, status=status)


@login_required
def safety_case_xml(request, case):
    from .e2b import case_xml

    c = selectors.case_for_user(request.user, case)
    out = output.case_output(c, request.user)
    missing = output.missing_elements(out)
    if missing:
        return HttpResponse(f"the case output lacks {', '.join(missing)}", status=409, content_type="text/plain")
    response = HttpResponse(case_xml(out), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{c.number}-v{out["case_version"]}.xml"'
    return response
