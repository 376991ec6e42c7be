from django.urls import path

from shine.api.api import api
from shine.trial.accounts import views as accounts
from shine.trial.audit import views as audit

urlpatterns = [
    path("", accounts.home, name="home"),
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("sites/", accounts.site_list, name="sites"),
    path("sites/<str:code>/", accounts.site_detail, name="site"),
    path("audit/", audit.trail, name="audit_trail"),
    path("api/v1/", api.urls),
]

handler400 = "shine.web.errors.bad_request"
handler403 = "shine.web.errors.forbidden"
handler404 = "shine.web.errors.not_found"
handler500 = "shine.web.errors.server_error"
