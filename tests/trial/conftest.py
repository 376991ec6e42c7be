"""Personas: named users at named sites, for tests that prove who may do what."""

import pytest
from django.test import Client

from shine.trial.accounts.services import create_token, create_user, sync_sites_from_protocol
from shine.trial.audit.services import Actor
from tests.trial.pages import world  # noqa: F401  (the small trial the page walks fill their URLs from)

PASSWORD = "septic-shock-test-pw"
SYSTEM = Actor.system("tests")

# persona -> (role, sites)
PERSONAS = {
    "investigator_hgh": ("investigator", ["HGH"]),
    "nurse_hgh": ("nurse", ["HGH"]),
    "nurse_rh": ("nurse", ["RH"]),
    "pharmacist": ("pharmacist", []),
    "trial_manager": ("trial_manager", []),
    "data_manager": ("data_manager", []),
    "monitor": ("monitor", []),
    "statistician": ("statistician", []),
    "dsmb_statistician": ("dsmb_statistician", []),
    "pharmacovigilance": ("pharmacovigilance", []),
    "auditor": ("auditor", []),
    "admin": ("admin", []),
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Argon2 is the production hasher (test_login checks it); tests hash with MD5 to stay fast
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sites(db):
    return {s.code: s for s in sync_sites_from_protocol(actor=SYSTEM)}


@pytest.fixture
def users(sites):
    return {name: create_user(actor=SYSTEM, username=name, role=role, sites=codes, password=PASSWORD)[0]
            for name, (role, codes) in PERSONAS.items()}


@pytest.fixture
def client_for(users):
    """A logged-in browser-like client for a persona."""
    def make(name: str) -> Client:
        c = Client()
        c.force_login(users[name])
        return c
    return make


@pytest.fixture
def api_for(users):
    """An API client for a persona, sending its bearer token."""
    def make(name: str) -> Client:
        token = create_token(users[name], actor=SYSTEM, name="test")
        return Client(headers={"Authorization": f"Bearer {token}"})
    return make
