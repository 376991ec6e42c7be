"""Property-based fuzzing of every operation of the JSON API (docs/api-fuzzing.md).

The product rule under test: every endpoint refuses impossible values with a message naming the field and the
limit, never half-saves, never returns a 500. Schemathesis generates requests from the OpenAPI schema that
/api/v1/openapi.json serves, both schema-valid ones (huge numbers, far dates, NUL bytes, any text) and
schema-invalid ones (wrong types, missing fields); path parameters and a few body fields are often swapped for
real keys of a populated trial so that the requests reach real records. Each operation runs as a site nurse, an
investigator, a monitor and a pharmacist, in-process through Django's WSGI handler (the full middleware stack,
exactly as a client would reach it). For every response:

* the status is below 500;
* a 4xx is JSON in the one error envelope ``{"detail": "...", "errors": [{"field", "message"}]}`` with a
  non-empty detail, and left the database unchanged (no audit event: every write is audited; a refused
  unblinding is recorded as a security event, which is not a write);
* a 2xx conforms to the response schema the operation declares.

Deterministic (``derandomize=True``) and bounded (``EXAMPLES`` per operation and persona). One impossible
value at a time in otherwise valid requests: test_refusals.py. ``FUZZ_STATS=1 pytest -s`` prints the statuses
each operation answered (how deep the fuzzing got).
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis (the test extra) drives this fuzzing")

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.core.signals import got_request_exception, request_finished, request_started  # noqa: E402
from django.db import close_old_connections  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from shine.api.api import api  # noqa: E402
from shine.trial.accounts.services import create_token  # noqa: E402
from shine.trial.audit.models import AuditEvent  # noqa: E402

from .conftest import SYSTEM  # noqa: E402

RAW_SCHEMA = api.get_openapi_schema()
SCHEMA = schemathesis.openapi.from_dict(RAW_SCHEMA)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
FUZZED_AS = ["nurse_hgh", "investigator_hgh", "monitor", "pharmacist"]
EXAMPLES = 15  # per operation and persona: 54 operations × 4 personas × 15 ≈ 3,200 requests
STATS: dict[str, list[int]] = {}
OFTEN = st.integers(0, 3).map(bool)  # True three times in four
REAL_BODY_FIELDS = {"screening_id": "screening_id_body", "numbers": "numbers", "site": "site"}


class InProcessApp:
    """Django's WSGI handler, with the request-end connection clean-up off (as django.test.Client does) so
    that the test's transaction survives, and the server-side exception of a 500 kept for the report."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.exceptions: list[str] = []

    def __call__(self, environ, start_response):
        return self.handler(environ, start_response)

    def _caught(self, sender, request=None, **kwargs):
        self.exceptions.append("".join(traceback.format_exception(*sys.exc_info())))


@pytest.fixture
def app():
    wsgi = InProcessApp()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    got_request_exception.connect(wsgi._caught)
    try:
        yield wsgi
    finally:
        got_request_exception.disconnect(wsgi._caught)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_fuzzed_schema_is_the_served_one(client):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.json()["paths"].keys() == RAW_SCHEMA["paths"].keys()
    assert len(OPERATIONS) == sum(len(ops) for ops in RAW_SCHEMA["paths"].values())


def case_strategy(op):
    modes = [op.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    try:
        modes.append(op.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    except Exception:  # an operation without parameters or body has no invalid form
        pass
    return st.one_of(modes)


def with_real_keys(data, case, real: dict):
    """Often swap a generated path parameter or body field for a key of a real record."""
    for name in list(case.path_parameters or {}):
        if name in real and data.draw(OFTEN, label=f"real {name}"):
            case.path_parameters[name] = data.draw(st.sampled_from(real[name]), label=name)
    if isinstance(case.body, dict):
        for name, key in REAL_BODY_FIELDS.items():
            if name in case.body and data.draw(OFTEN, label=f"real body {name}"):
                case.body[name] = data.draw(st.sampled_from(real[key]), label=f"body {name}")
    return case


def check_response(case, response, *, audit_before: int, app: InProcessApp):
    request = f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}"
    status = response.status_code
    if status >= 500:
        raise AssertionError(f"{status} for {request}\n" + (app.exceptions[-1] if app.exceptions else ""))
    if 400 <= status < 500:
        try:
            body = json.loads(response.content)
        except ValueError:
            raise AssertionError(f"{status} without JSON for {request}: {response.content[:300]!r}") from None
        assert isinstance(body, dict) and set(body) == {"detail", "errors"}, \
            f"{status} not in the error envelope for {request}: {body!r}"
        assert isinstance(body["detail"], str) and body["detail"].strip(), f"empty detail for {request}: {body!r}"
        assert isinstance(body["errors"], list), f"errors not a list for {request}: {body!r}"
        for e in body["errors"]:
            assert isinstance(e, dict) and set(e) == {"field", "message"}, f"bad error item for {request}: {e!r}"
            assert e["field"] is None or isinstance(e["field"], str), f"bad field for {request}: {e!r}"
            assert isinstance(e["message"], str) and e["message"], f"empty message for {request}: {e!r}"
        # a refused unblinding or login is itself recorded (a security event, no data): that is not a write
        wrote = AuditEvent.objects.filter(pk__gt=audit_before).exclude(action__endswith="_refused").count()
        assert wrote == 0, f"{status} refusal wrote {wrote} audit event(s): {request}"
    elif 200 <= status < 300:
        case.validate_response(response, checks=[response_schema_conformance])
    else:
        raise AssertionError(f"unexpected status {status} for {request}")


def fuzz(op, *, token: str, real: dict, app: InProcessApp):
    headers = {"Authorization": f"Bearer {token}"}

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(data=st.data())
    def run(data):
        case = with_real_keys(data, data.draw(case_strategy(op), label="case"), real)
        audit_before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = case.call(app=app, headers=headers)
        STATS.setdefault(op.label, []).append(response.status_code)
        check_response(case, response, audit_before=audit_before, app=app)

    run()


@pytest.mark.parametrize("persona", FUZZED_AS)
def test_every_operation_refuses_cleanly(persona, users, populated, app):
    token = create_token(users[persona], actor=SYSTEM, name="fuzz")
    failures = []
    for op in OPERATIONS:
        try:
            fuzz(op, token=token, real=populated, app=app)
        except Exception as exc:  # noqa: BLE001  every operation runs; the failures are reported together
            failures.append(f"--- {op.label} as {persona}:\n{exc}")
    if os.environ.get("FUZZ_STATS"):
        from collections import Counter
        for label, codes in STATS.items():
            print(label, dict(Counter(codes)))
    assert not failures, f"{len(failures)} of {len(OPERATIONS)} operations failed:\n" + "\n".join(failures)
