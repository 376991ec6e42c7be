"""Error pages: a plain message, never a traceback, never a record's data."""

from django.shortcuts import render
from django.utils.translation import gettext as _


def _page(request, status, title, message):
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def bad_request(request, exception=None):
    return _page(request, 400, _("Bad request"), _("The request could not be understood."))


def forbidden(request, exception=None):
    return _page(request, 403, _("Not allowed"), str(exception) if exception else _("Your role may not do this."))


def not_found(request, exception=None):
    return _page(request, 404, _("Not found"), _("There is no such page or record, or it belongs to another site."))


def server_error(request):
    return render(request, "error.html", {"title": _("Error"),
                                          "message": _("Something went wrong; it has been logged.")}, status=500)
