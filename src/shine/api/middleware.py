"""Every error the JSON API answers is in its one envelope, also those Django or ninja answer before (or
instead of) an API view: an unknown path (404), a method the path does not take (405), a request Django
refuses (400: a bad Host), and the 500 page. A body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 that states
the limit."""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

API_PREFIX = "/api/"
DETAILS = {
    400: "bad request: the request could not be read",
    403: "your role may not do this",
    404: "not found",
    405: "method not allowed",
    413: "the request is too large",
    500: "internal error: it has been logged",
}


def api_errors(get_response):
    def middleware(request):
        if request.path.startswith(API_PREFIX):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if limit is not None and length > limit:
                return JsonResponse({"detail": f"the request body is {length} bytes; the limit is {limit} bytes",
                                     "errors": []}, status=413)
        response = get_response(request)
        if (response.status_code >= 400 and request.path.startswith(API_PREFIX)
                and not response.get("Content-Type", "").startswith("application/json")):
            detail = DETAILS.get(response.status_code, f"error {response.status_code}")
            if response.status_code == 405 and response.has_header("Allow"):
                detail = f"method not allowed: this path takes {response['Allow']}"
            out = JsonResponse({"detail": detail, "errors": []}, status=response.status_code)
            for header in ("Allow", "X-Request-ID"):
                if response.has_header(header):
                    out[header] = response[header]
            return out
        return response

    return middleware
