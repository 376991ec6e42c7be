"""Test set-up shared by every test package (helpers live in tests/support.py)."""

import pytest

DB_FIXTURES = {"db", "transactional_db", "client", "admin_client", "live_server", "django_db_setup"}


def pytest_collection_modifyitems(items):
    # "db": every test that touches the database; CI runs these again on PostgreSQL
    for item in items:
        if item.get_closest_marker("django_db") or DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
        if item.get_closest_marker("browser"):
            # one worker runs every browser test (with -n, --dist loadgroup): one demo server, not one per worker
            item.add_marker(pytest.mark.xdist_group("browser"))
