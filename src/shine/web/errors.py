"""Error pages: a plain message, never a traceback, never a record's data."""

from django.shortcuts import render


def _page(request, status, title, message):
    return render(request, "error.html", {"title": title, "message": message}, status=status)


def bad_request(request, exception=None):
    return _page(request, 400, "Bad request", "The request could not be understood.")


def forbidden(request, exception=None):
    return _page(request, 403, "Not allowed", str(exception) if exception else "Your role may not do this.")


def not_found(request, exception=None):
    return _page(request, 404, "Not found", "There is no such page or record, or it belongs to another site.")


def server_error(request):
    return render(request, "error.html", {"title": "Error", "message": "Something went wrong; it has been logged."},
                  status=500)
