from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services
from .forms import LoginForm
from .roles import Perm


@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.login(request, **form.cleaned_data)
        except services.Refused as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            target = request.GET.get("next", "")
            return redirect(target if target.startswith("/") and not target.startswith("//") else "home")
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login.html", {"form": form}, status=status)


@require_POST
def logout_view(request):
    services.logout(request)
    return redirect("login")


@login_required
def home(request):
    user = request.user
    return render(request, "accounts/home.html", {
        "sites": selectors.sites_for(user) if user.can(Perm.VIEW_SITES) else [],
        "perms": sorted((p.value.replace("_", " "), _page_of(p)) for p in user.role_def.perms),
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
