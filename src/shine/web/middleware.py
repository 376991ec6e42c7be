"""Request id on every request (kept in audit events and returned as X-Request-ID)."""

import re
import uuid

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id(get_response):
    def middleware(request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        response = get_response(request)
        response["X-Request-ID"] = request.request_id
        return response

    return middleware
