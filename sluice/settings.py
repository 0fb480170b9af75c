"""Sluice's settings, read from the environment (see .env.example for every variable).

Two deployments share this module. The embedded default (``SLUICE_MODE=embedded``) keeps
everything under ``SLUICE_DATA_DIR``: a SQLite database, a SQLite Celery broker and keys
it generates on first start. Production (``SLUICE_MODE=production``) takes its database,
broker, channel layer and keys from the environment; system checks in
``sluice/checks.py`` refuse to start it without them.
"""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from cryptography.fernet import Fernet
from django.utils.csp import CSP

from sluice import env
from sluice.keys import embedded_secret_key, embedded_vault_key

BASE_DIR = Path(__file__).resolve().parent.parent

MODE = env.choice("SLUICE_MODE", "embedded", ("embedded", "production"))
PRODUCTION = MODE == "production"
DATA_DIR = Path(env.string("SLUICE_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DEBUG = env.boolean("SLUICE_DEBUG", False)

if PRODUCTION:
    SECRET_KEY = env.string("SLUICE_SECRET_KEY")
    if not SECRET_KEY:
        raise env.SettingError(
            "SLUICE_SECRET_KEY (or SLUICE_SECRET_KEY_FILE) must be set in production."
        )
else:
    SECRET_KEY = env.string("SLUICE_SECRET_KEY") or embedded_secret_key(DATA_DIR)


def _vault_keys() -> list[str]:
    keys = env.words("SLUICE_VAULT_KEYS", [])
    if not keys and not PRODUCTION:
        keys = [embedded_vault_key(DATA_DIR)]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise env.SettingError(
                f"SLUICE_VAULT_KEYS: key {position} is not a Fernet key (32 url-safe "
                "base64-encoded bytes); make one with `python manage.py new_vault_key`."
            ) from None
    return keys


VAULT_KEYS = _vault_keys()
ALLOW_LOCAL_ENDPOINTS = env.boolean("SLUICE_ALLOW_LOCAL_ENDPOINTS", False)

# Runs: how long one may take, when a silent worker counts as lost, how often a run is
# tried again after its worker was lost, the longest Delay, and how long finished runs are kept.
RUN_TIME_LIMIT = env.integer("SLUICE_RUN_TIME_LIMIT", 3600, 10, 7 * 24 * 3600)
STEP_TIMEOUT = env.integer("SLUICE_STEP_TIMEOUT", 120, 1, 3600)
STALE_RUN_AFTER = env.integer("SLUICE_STALE_RUN_AFTER", 60, 5, 3600)
MAX_RUN_ATTEMPTS = env.integer("SLUICE_MAX_RUN_ATTEMPTS", 3, 1, 20)
MAX_DELAY = env.integer("SLUICE_MAX_DELAY", 30 * 86400, 0, 365 * 86400)
RUN_RETENTION_DAYS = env.integer("SLUICE_RUN_RETENTION_DAYS", 30, 0, 36500)
OUTBOUND_TIMEOUT = env.integer("SLUICE_OUTBOUND_TIMEOUT", 10, 1, 120)
# The HTTP request action: hosts reached even on private addresses, its time and size limits.
OUTBOUND_ALLOW_HOSTS = [h.lower().rstrip(".") for h in env.words("SLUICE_OUTBOUND_ALLOW_HOSTS", [])]
HTTP_TIMEOUT = env.integer("SLUICE_HTTP_TIMEOUT", 30, 1, 300)
HTTP_MAX_RESPONSE_BYTES = env.integer(
    "SLUICE_HTTP_MAX_RESPONSE_BYTES", 5 * 1024 * 1024, 1024, 2**30
)
# Verify email address looks up MX records: through these resolvers (IP or IP:PORT), or the
# system's (/etc/resolv.conf) when unset; a lookup that takes longer fails the step.
DNS_NAMESERVERS = env.nameservers("SLUICE_DNS_NAMESERVERS")
DNS_TIMEOUT = env.integer("SLUICE_DNS_TIMEOUT", 5, 1, 60)

# Operations: who may scrape /metrics (a bearer token, or these addresses; off when neither
# is set), the log format, and how long the audit log keeps entries.
METRICS_TOKEN = env.string("SLUICE_METRICS_TOKEN")
METRICS_ALLOW_FROM = env.networks("SLUICE_METRICS_ALLOW_FROM")
# prometheus-client reads this itself, before any metric is made; read here to check it.
METRICS_DIR = env.string("PROMETHEUS_MULTIPROC_DIR")
LOG_FORMAT = env.choice("SLUICE_LOG_FORMAT", "text", ("text", "json"))
AUDIT_RETENTION_DAYS = env.integer("SLUICE_AUDIT_RETENTION_DAYS", 365, 0, 36500)

ALLOWED_HOSTS = env.words(
    "SLUICE_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env.words("SLUICE_CSRF_TRUSTED_ORIGINS", [])


# Where workers reach this Sluice's own web server: sandbox tenants are served under it.
_SERVED_AT = env.local_origin(
    env.string("SLUICE_HOST", "127.0.0.1"), env.integer("SLUICE_PORT", 8000, 1, 65535)
)
PUBLIC_URL = env.origin("SLUICE_PUBLIC_URL", "" if PRODUCTION else _SERVED_AT)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "channels",
    "accounts_app",
    "vault_app",
    "flows_app",
    "audit_app",
    "outbox_app",
    "sandbox_app",
    "sample_app",
    "sluice",
]

MIDDLEWARE = [
    "sluice.middleware.request_context",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sluice.middleware.private_pages",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "sluice.middleware.BodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "sluice.middleware.htmx_sign_in_redirect",
]

ROOT_URLCONF = "sluice.urls"
ASGI_APPLICATION = "sluice.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


DB_POOL_SIZE = env.integer("SLUICE_DB_POOL_SIZE", 10, 1, 500)


def _database() -> dict:
    url = env.string("DATABASE_URL", f"sqlite:///{DATA_DIR / 'sluice.sqlite3'}")
    try:
        database: dict[str, Any] = dict(dj_database_url.parse(url))
    except ValueError as exc:
        raise env.SettingError(f"DATABASE_URL is not a database URL Sluice knows: {exc}") from None
    if database["ENGINE"] == "django.db.backends.postgresql":
        # A pool per process, in every mode: under ASGI each request runs in a thread of its
        # own, so persistent connections (CONN_MAX_AGE) would be opened per request anyway.
        database["OPTIONS"] = {
            **database.get("OPTIONS", {}),
            "pool": {"min_size": 1, "max_size": DB_POOL_SIZE, "timeout": 20},
        }
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        database["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    elif database["ENGINE"] == "django.db.backends.postgresql":
        # A server that does not answer fails a request (or /readyz) in seconds, not minutes.
        given: Any = database.get("OPTIONS") or {}
        database["OPTIONS"] = {"connect_timeout": 5, **given}
    return database


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts_app.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.string("SLUICE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `manage.py collectstatic` copies the static files here under names that carry a hash of
# their content, with gzip and Brotli copies; WhiteNoise serves them, the hashed names
# with a cache lifetime of a year. `make run` collects them on every start.
STATIC_ROOT = Path(env.string("SLUICE_STATIC_ROOT", str(BASE_DIR / "staticfiles"))).resolve()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_COOKIES = env.boolean("SLUICE_SECURE_COOKIES", PRODUCTION)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
if env.boolean("SLUICE_BEHIND_HTTPS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

CHANNEL_LAYER_URL = env.string("SLUICE_CHANNEL_LAYER_URL")
if CHANNEL_LAYER_URL:
    # Redis pub/sub: a group_send is one PUBLISH, whoever listens. Live progress only says
    # "this run changed" (the page then fetches it), so nothing needs keeping for a socket
    # that was not listening.
    # Pub/sub channels are not kept apart by Redis database numbers as keys are, so the
    # database number names them: installations sharing one Redis use different ones.
    CHANNEL_LAYER_PREFIX = f"sluice{urlsplit(CHANNEL_LAYER_URL).path.strip('/') or '0'}"
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": CHANNEL_LAYER_URL, "socket_timeout": 30}],
                "prefix": CHANNEL_LAYER_PREFIX,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env.string("SLUICE_BROKER_URL", f"sqla+sqlite:///{DATA_DIR / 'broker.sqlite3'}")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = env.string("SLUICE_QUEUE", "sluice")
CELERY_BEAT_SCHEDULE = {
    "sweep-runs": {"task": "flows_app.tasks.sweep_runs", "schedule": max(5, STALE_RUN_AFTER / 2)},
    "prune-runs": {"task": "flows_app.tasks.prune_runs", "schedule": 6 * 3600},
    "prune-audit": {"task": "audit_app.tasks.prune_audit", "schedule": 24 * 3600},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "sluice.logs.JsonFormatter"},
    },
    "filters": {
        "forbidden_in_one_line": {"()": "sluice.log_filters.ForbiddenInOneLine"},
        "context": {"()": "sluice.logs.ContextFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {
        "handlers": ["console"],
        "level": env.choice(
            "SLUICE_LOG_LEVEL", "info", ("debug", "info", "warning", "error")
        ).upper(),
    },
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "django.request": {"filters": ["forbidden_in_one_line"]},
    },
}
