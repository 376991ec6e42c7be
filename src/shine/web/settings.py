"""Django settings, read from the environment through strict helpers and checked at start-up.

``SHINE_ENV`` is ``demo`` (default: SQLite under ./var, a generated secret key, localhost only) or
``production`` (``SECRET_KEY``, ``DATABASE_URL`` and ``ALLOWED_HOSTS`` required; secure cookies, HSTS).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

import shine
from shine.analysis import blinding_key as _blinding_key

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("SHINE_VAR_DIR", Path.cwd() / "var")).resolve()


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ImproperlyConfigured(f"environment variable {name} is required in SHINE_ENV={SHINE_ENV}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    return default if raw is None else [p.strip() for p in raw.split(",") if p.strip()]


SHINE_ENV = os.environ.get("SHINE_ENV", "demo")
if SHINE_ENV not in ("demo", "production"):
    raise ImproperlyConfigured(f"SHINE_ENV must be 'demo' or 'production', got {SHINE_ENV!r}")
PRODUCTION = SHINE_ENV == "production"


def _demo_secret(name: str, make) -> str:
    """A secret kept under the var folder in the demo (made on first use); production reads the environment."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _secret(env: str, demo_file: str, make) -> str:
    return env_str(env) if PRODUCTION else os.environ.get(env) or _demo_secret(demo_file, make)


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


SECRET_KEY = _secret("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))

# Fernet key (urlsafe base64 of 32 bytes) that encrypts CPR numbers at rest; `python -c "from
# cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"` makes one
CPR_ENCRYPTION_KEY = _secret("CPR_ENCRYPTION_KEY", "cpr_key", _fernet_key)
try:
    from cryptography.fernet import Fernet as _Fernet

    _Fernet(CPR_ENCRYPTION_KEY)
except ValueError:
    raise ImproperlyConfigured("CPR_ENCRYPTION_KEY must be a Fernet key (urlsafe base64 of 32 bytes)") from None


# the unblinded side's secret (shine.trial.blinding): the A/B codes of blinded exports and the commitments
# to blinded values in the audit trail; never given to a blinded role, the same for the life of the trial
# read by shine.analysis.blinding_key, as `shine analyse --blinded` reads it, so both code A/B alike
SHINE_BLINDING_KEY = (env_str(_blinding_key.ENV) if PRODUCTION
                      else _blinding_key.secret(folder=VAR_DIR, create=True))
if len(SHINE_BLINDING_KEY) < _blinding_key.MIN_LENGTH:
    raise ImproperlyConfigured("SHINE_BLINDING_KEY must be at least 32 characters (e.g. `python -c \"import "
                               "secrets; print(secrets.token_urlsafe(32))\"`)")
# the audit chain's head after each commit (shine.trial.audit.anchor); put it where the database's users
# cannot write (another volume, a write-once store); `shine audit verify --anchor` checks the chain against it
SHINE_AUDIT_ANCHOR_FILE = Path(os.environ.get("SHINE_AUDIT_ANCHOR_FILE") or VAR_DIR / "audit-anchor.jsonl")
DEBUG = env_bool("SHINE_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required in production")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "ninja",  # the API docs page from the package's own static files (the policy below allows no CDN)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "shine.trial.accounts",
    "shine.trial.audit",
    "shine.trial.enrollment",
    "shine.trial.allocation",
    "shine.trial.records",
    "shine.trial.reports",
    "shine.trial.safety",
    "shine.trial.monitoring",
    "shine.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "shine.web.middleware.request_id",
    "shine.api.middleware.api_errors",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shine.web.language.user_language",
    "shine.web.middleware.session_lifetime_and_no_store",
    "shine.web.middleware.security_log",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shine.web.urls"
WSGI_APPLICATION = "shine.web.wsgi.application"

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.template.context_processors.i18n",  # LANGUAGE_CODE and LANGUAGES in every page
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "shine.web.context.navigation",
    ]},
}]

_default_db = f"sqlite:///{VAR_DIR / 'shine.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(
    env_str("DATABASE_URL") if PRODUCTION else os.environ.get("DATABASE_URL") or _default_db,
    conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # IMMEDIATE: a write transaction takes the lock at BEGIN, so concurrent writers queue instead of failing
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30,
                                       "init_command": "PRAGMA journal_mode=WAL;"}
    if DATABASES["default"]["NAME"] and DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

# Sessions end after SESSION_IDLE_MINUTES without a request (each request renews the cookie).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
# ...and SESSION_ABSOLUTE_HOURS after the login however active (shine.web.middleware)
SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 12)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True  # the login page's language switch: read by the server only
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every response: scripts, styles and everything else from this
# origin only, no inline script or style (templates carry none: tests/trial/test_headers.py), never framed
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": [SELF], "script-src": [SELF], "style-src": [SELF], "img-src": [SELF], "font-src": [SELF],
    "connect-src": [SELF], "object-src": [NONE], "base-uri": [NONE], "form-action": [SELF],
    "frame-ancestors": [NONE],
}}
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # the header only allows a submission to the browsers' preload list; submitting is the domain owner's act
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Second factor (TOTP, shine.trial.accounts.second_factor): 30 s steps, a code of the step before or after
# accepted; the roles that must have one are in shine.trial.accounts.roles
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "SHINE trial")
SECOND_FACTOR_PENDING_MINUTES = 5  # between the password and the code

# Failed-login lockout
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)

# Pages, mails, PDFs and the CLI speak Danish or English (shine.web.language); stored values, codes, exports
# and the API do not depend on the language. LANGUAGE_CODE is the fallback when neither the user's setting
# nor the browser names one of LANGUAGES.
LANGUAGE_CODE = "en"
LANGUAGES = [("da", "Dansk"), ("en", "English")]
USE_I18N = True
# the pure core's messages (clinical, analysis, design); each app keeps its own catalogue in <app>/locale
LOCALE_PATHS = [BASE_DIR.parent / "locale"]
# dates as 01.12.2026 03:12 in Danish and 2026-12-01 03:12 in English, on pages and accepted in forms
FORMAT_MODULE_PATH = ["shine.web.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Copenhagen")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True  # serve straight from the package; no collectstatic needed for the demo

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION
                               else "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "shine@localhost")
SPONSOR_EMAILS = env_list("SPONSOR_EMAILS", ["sponsor@localhost"])
PHARMACOVIGILANCE_EMAILS = env_list("PHARMACOVIGILANCE_EMAILS", ["pharmacovigilance@localhost"])

SHINE_VERSION = shine.__version__

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"},
                 "security": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout",
                              "formatter": "json_lines"}},
    "formatters": {"json_lines": {"()": "shine.trial.audit.security.JsonLines"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # the security log (shine.trial.audit.security) reaches stdout as JSON lines whatever LOG_LEVEL says; in the
    # demo only its warnings (a chain head per write would bury what the demo prints)
    "loggers": {"shine.security": {"handlers": ["security"], "propagate": False,
                                   "level": os.environ.get("SECURITY_LOG_LEVEL", "INFO" if PRODUCTION else "WARNING")}},
}
