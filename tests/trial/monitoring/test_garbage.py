"""Garbage in every field of every monitoring form, posted as the role the form is for: refused without a 500
and without a write."""

import re

import pytest

from shine.trial.audit.models import AuditEvent
from shine.trial.monitoring import services
from tests.trial.test_forms_garbage import FIELD, GARBAGE

pytestmark = pytest.mark.django_db


def _events() -> int:
    return AuditEvent.objects.exclude(action__endswith="_refused").count()


@pytest.mark.parametrize(("persona", "route"), [
    ("monitor", "/participants/{n}/queries/"), ("monitor", "/monitoring/queries/{q}/"),
    ("nurse_hgh", "/monitoring/queries/{q}/"), ("monitor", "/participants/{n}/sdv/"),
    ("data_manager", "/monitoring/sdv/plan/"), ("data_manager", "/participants/{n}/casebook/"),
    ("investigator_hgh", "/participants/{n}/casebook/"), ("monitor", "/monitoring/queries/"),
])
def test_garbage_is_refused_without_a_500(trial, day1, client_for, persona, route):
    q = services.raise_query(user=trial["monitor"], participant=day1.participant, text="check")
    url = route.format(n=day1.participant.number, q=q.number)
    client = client_for(persona)
    html = client.get(url).content.decode()
    fields = sorted(set(FIELD.findall(html)) - {"csrfmiddlewaretoken"})
    assert fields, html[:500]
    for kind, junk in GARBAGE.items():
        if 'method="get"' in html.lower():
            assert client.get(url, {f: junk for f in fields}).status_code < 500, kind
        for action in set(re.findall(r'name="action" value="(\w+)"', html)) or {junk}:
            before = _events()
            r = client.post(url, {**{f: junk for f in fields}, "action": action})
            assert r.status_code < 500, f"{kind} {action}: {r.status_code}"
            if r.status_code != 302:
                assert _events() == before, f"{kind} {action} was refused but wrote"
