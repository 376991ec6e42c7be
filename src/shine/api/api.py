"""The JSON API at /api/v1/: one NinjaAPI, one error envelope, routers from each app."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, django_auth

from shine import __version__
from shine.api.inputs import text_problem
from shine.trial.accounts.api import router as accounts_router
from shine.trial.accounts.services import user_for_token
from shine.trial.allocation.api import router as allocation_router
from shine.trial.audit.api import router as audit_router
from shine.trial.audit.services import ReasonRequired
from shine.trial.enrollment.api import router as enrollment_router
from shine.trial.errors import Refused
from shine.trial.monitoring.api import router as monitoring_router
from shine.trial.monitoring.deviation_api import router as deviation_router
from shine.trial.records.api import router as records_router
from shine.trial.reports.api import router as reports_router
from shine.trial.reports.export_api import router as exports_router
from shine.trial.safety.api import router as safety_router


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class CheckedParser(Parser):
    """The default parser, refusing a query parameter no lookup can use (a NUL byte breaks a PostgreSQL query)
    with a 422 that names it. Bodies are checked field by field by shine.api.inputs.Input."""

    def parse_querydict(self, data, list_fields, request):
        errors = [{"loc": ("query", key), "msg": f"{key} {problem}", "type": "shine_input"}
                  for key in data for value in [key, *data.getlist(key)]
                  if (problem := text_problem(value))]
        if errors:
            raise ValidationError(errors[:1])
        return super().parse_querydict(data, list_fields, request)


api = NinjaAPI(title="SHINE trial API", version="1", description="Every action of the SHINE trial platform.",
               auth=[BearerToken(), django_auth], urls_namespace="api", parser=CheckedParser())
api.add_router("/", accounts_router)
api.add_router("/audit", audit_router)
api.add_router("/", enrollment_router)
api.add_router("/", allocation_router)
api.add_router("/", records_router)
api.add_router("/", safety_router)
api.add_router("/", reports_router)
api.add_router("/", exports_router)
api.add_router("/", monitoring_router)
api.add_router("/", deviation_router)


def envelope(request, status: int, detail: str, errors: list[dict] | None = None):
    return api.create_response(request, {"detail": detail, "errors": errors or []}, status=status)


@api.exception_handler(ValidationError)
def _validation(request, exc: ValidationError):
    errors = []
    for e in exc.errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "payload")]
        errors.append({"field": ".".join(loc) or None, "message": e.get("msg", "invalid value")})
    return envelope(request, 422, "invalid input", errors)


@api.exception_handler(Refused)
def _refused(request, exc: Refused):
    return envelope(request, exc.status, str(exc), [{"field": exc.field, "message": str(exc)}])


@api.exception_handler(ReasonRequired)
def _reason(request, exc: ReasonRequired):
    return envelope(request, 400, str(exc), [{"field": "reason", "message": str(exc)}])


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return envelope(request, 401, "authentication required: send 'Authorization: Bearer <token>' with a valid token")


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return envelope(request, 403, str(exc) or "your role may not do this")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return envelope(request, 404, "not found")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return envelope(request, exc.status_code, str(exc))


@api.get("/version", auth=None, tags=["meta"])
def version(request):
    return {"version": __version__}
