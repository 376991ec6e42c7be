from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from shine.trial.errors import rid

from . import second_factor, selectors, services
from .forms import LANGUAGE_CHOICES, CodeForm, LanguageForm, LoginForm, PasswordChangeForm
from .roles import PERM_LABELS, Perm


def _next(request) -> str:
    target = request.GET.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else ""


def _with_next(name: str, request) -> str:
    target = _next(request)
    return reverse(name) + (f"?{urlencode({'next': target})}" if target else "")


def _refused_on(form, exc) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc))


@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            step = services.login(request, **form.cleaned_data)
        except services.Refused as exc:
            _refused_on(form, exc)
        else:
            if step == "code":
                return redirect(_with_next("login_code", request))
            if step == "enrol":
                return redirect(_with_next("login_enrol", request))
            return redirect(_next(request) or "home")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login.html", {
        "form": form, "here": request.get_full_path(),
        "languages": [(code, name) for code, name in LANGUAGE_CHOICES if code]}, status=status)  # each in itself


@require_http_methods(["GET", "POST"])
def login_code(request):
    """The second step of a login: a code from the authenticator app or a recovery code."""
    user = services.pending_login(request)
    if user is None:
        return redirect(_with_next("login", request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.login_with_code(request, code=form.cleaned_data["code"])
        except services.Refused as exc:
            if services.pending_login(request) is None:  # locked or expired: back to the password
                return redirect(_with_next("login", request))
            _refused_on(form, exc)
        else:
            return redirect(_next(request) or "home")
    return render(request, "accounts/login_code.html", {"form": form, "pending": user, "help": second_factor.CODE_HELP},
                  status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def login_enrol(request):
    """First login of a role that needs a second factor: set up an authenticator app, confirm it with a code,
    and see the recovery codes once."""
    user = services.pending_login(request)
    if user is None:
        return redirect(_with_next("login", request))
    device = second_factor.start_enrolment(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.enrol_and_login(request, code=form.cleaned_data["code"])
        except services.Refused as exc:
            _refused_on(form, exc)
        else:
            return render(request, "accounts/recovery_codes.html", {"codes": codes,
                                                                     "next": _next(request) or reverse("home")})
    return render(request, "accounts/login_enrol.html", {
        "form": form, "pending": user, "secret": second_factor.secret_of(device), "uri": device.config_url,
        "required": second_factor.required(user)}, status=400 if request.method == "POST" else 200)


LANGUAGE_FORM = "language_form"  # the name of the language form's submit button on the account page


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request):
    """The account page: change your password, and the language of your pages."""
    from django.contrib import messages

    language_post = request.method == "POST" and LANGUAGE_FORM in request.POST
    form = PasswordChangeForm(request.POST if request.method == "POST" and not language_post else None)
    language_form = LanguageForm(request.POST if language_post else None,
                                 initial={"language": request.user.language})
    if language_post and language_form.is_valid():
        language = language_form.cleaned_data["language"]
        try:
            services.set_language(request.user, actor=services.Actor.of(request.user, rid(request)),
                                  language=language)
        except services.Refused as exc:
            _refused_on(language_form, exc)
        else:
            # the message in the language the next page is in
            with translation.override(language or translation.get_language_from_request(request)):
                messages.success(request, _("Your language setting is saved."))
            return redirect("password_change")
    elif request.method == "POST" and not language_post and form.is_valid():
        try:
            services.change_password(request, **form.cleaned_data)
        except services.Refused as exc:
            _refused_on(form, exc)
        else:
            messages.success(request, _("Your password is changed; your other sessions have ended."))
            return redirect("home")
    return render(request, "accounts/password.html", {
        "form": form, "language_form": language_form, "needs_code": second_factor.has_device(request.user),
        "max_length": services.PASSWORD_MAX_LENGTH}, status=400 if request.method == "POST" else 200)


@require_POST
def logout_view(request):
    services.logout(request)
    return redirect("login")


@login_required
def home(request):
    user = request.user
    return render(request, "accounts/home.html", {
        "sites": selectors.sites_for(user) if user.can(Perm.VIEW_SITES) else [],
        "perms": sorted((str(PERM_LABELS.get(p, p.value.replace("_", " "))), _page_of(p))
                        for p in user.role_def.perms),
    })


# permissions whose page exists: the home page's list of what the role may do links to it
PERM_PAGES = {Perm.RAISE_QUERY: "monitoring_queries", Perm.VERIFY_SOURCE: "monitoring_sdv"}


def _page_of(perm: Perm) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(PERM_PAGES[perm]) if perm in PERM_PAGES else ""
    except NoReverseMatch:
        return ""


@login_required
def site_list(request):
    selectors.require(request.user, Perm.VIEW_SITES)
    return render(request, "accounts/sites.html", {"sites": selectors.sites_for(request.user)})


@login_required
def site_detail(request, code):
    site = selectors.site_for_user(request.user, code)
    return render(request, "accounts/site.html", {"site": site,
                                                  "staff": site.memberships.select_related("user")})
