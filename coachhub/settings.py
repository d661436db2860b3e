"""Django settings for CoachHub.

Configuration comes from environment variables (django-environ). `make run` / `make test`
resolve DATABASE_URL and REDIS_URL (explicit values, the local servers, or embedded ones) and
write them to `.run/env`, which is read here so that `manage.py` works the same way afterwards.
Variables set in the environment always win over that file.
"""

import hashlib
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_RUN_ENV = BASE_DIR / ".run" / "env"
if _RUN_ENV.exists():
    environ.Env.read_env(_RUN_ENV, overwrite=False)

# Two checkouts on one machine must not share a test database, queue or cache keys.
CHECKOUT_ID = hashlib.sha1(str(BASE_DIR).encode()).hexdigest()[:8]  # noqa: S324 - a name, not a secret

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env(
    "SECRET_KEY",
    default="dev-insecure-" + hashlib.sha256(str(BASE_DIR).encode()).hexdigest(),
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "coachhub.apps.CoreConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "feedback",
    "qa",
    "recognition",
    "coaching",
]
# Benchmarks only: bench/run.py sets COACHHUB_BENCH=1 on its own database so the reference
# endpoints (bare DRF insert, plain JSON) run in the same gunicorn and middleware as the app
# they are compared with. Never set elsewhere: the bench app and its table stay out of
# development, tests and production (see bench/README.md).
COACHHUB_BENCH = env.bool("COACHHUB_BENCH", default=False)
if COACHHUB_BENCH:
    INSTALLED_APPS.append("bench.baseline_app")

MIDDLEWARE = [
    "coachhub.core.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Must come after authentication: it resolves the organization from the URL or API key,
    # checks membership, and wraps the rest of the request in one tenant transaction.
    "coachhub.tenancy.middleware.TenancyMiddleware",
]

ROOT_URLCONF = "coachhub.urls"
WSGI_APPLICATION = "coachhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "coachhub.core.context_processors.navigation",
            ],
        },
    }
]

# --- Database ---------------------------------------------------------------------------
# DATABASE_URL is what web processes and workers connect with (the runtime role, which is
# subject to row-level security). DATABASE_OWNER_URL, when given, owns the tables and runs
# migrations; without it the runtime URL is used for both.
_db_default = "postgres://coachhub_app@127.0.0.1:5432/coachhub"
DATABASES = {"default": env.db("DATABASE_URL", default=_db_default)}
DATABASES["default"].update(
    {
        "CONN_MAX_AGE": env.int("CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
        # TEST_DB_SUFFIX lets parallel sessions in one checkout keep separate test databases.
        "TEST": {"NAME": f"test_coachhub_{CHECKOUT_ID}{env('TEST_DB_SUFFIX', default='')}"},
    }
)
# No JIT compilation: the app's statements are short, and Postgres compiled any whose estimate
# crossed jit_above_cost — the 90-day dashboard of a large organization on 10 M responses
# (55 k rollup rows, a 40 ms read) spent 400 ms in it.
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
_db_options["options"] = f"{_db_options.get('options', '')} -c jit=off".strip()
DATABASE_OWNER = env.db("DATABASE_OWNER_URL", default=env("DATABASE_URL", default=_db_default))
# The role RLS policies and grants are written for; requests and tasks run as it.
DATABASE_RUNTIME_ROLE = DATABASES["default"]["USER"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, Celery, cache ---------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX", default=f"coachhub-{CHECKOUT_ID}")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
    }
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default=REDIS_KEY_PREFIX)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers an unacknowledged message after the visibility timeout; every task must
# finish (or be killed) well before that, or it would run twice while still running.
CELERY_BROKER_VISIBILITY_TIMEOUT = 3600
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    "global_keyprefix": REDIS_KEY_PREFIX + ":",
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Without this Celery's Django fixup opens a new DB connection for every task (3x slower).
CELERY_DB_REUSE_MAX = 1000
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = env(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / ".run" / "celerybeat-schedule")
)
# Seconds between sweeps that re-enqueue work left pending (lost doorbells, crashed workers).
OUTBOX_SWEEP_INTERVAL = env.float("OUTBOX_SWEEP_INTERVAL", default=30.0)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
HEARTBEAT_INTERVAL = env.float("HEARTBEAT_INTERVAL", default=15.0)

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3
DEMO_PASSWORD = env("DEMO_PASSWORD", default="coachhub-demo")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SITE_URL.startswith("https"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Health probes (docker-compose, load balancers) call plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- I18n -------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# static_build/ holds front-end packages copied from node_modules at install time.
STATICFILES_DIRS = [BASE_DIR / "static", BASE_DIR / "static_build"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))

# --- E-mail -----------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="CoachHub <coachhub@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["coachhub.tenancy.drf.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["coachhub.tenancy.drf.HasOrganizationKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "coachhub.tenancy.drf.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CoachHub API",
    "DESCRIPTION": "Customer feedback to real-time coaching. Authenticate with "
    "`Authorization: Bearer chk_live_…`; the key decides the organization.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI and Redoc from the drf-spectacular-sidecar wheel (served by whitenoise),
    # not from a CDN: the docs work offline and no third-party script runs on our origin.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # 1 MiB bodies; larger answer 413

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "coachhub.core.logging.ContextFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[req=%(request_id)s org=%(organization_id)s] %(message)s"
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s "
            "%(request_id)s %(organization_id)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": "plain" if DEBUG else "json",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}


OUTBOX_RETRY_BASE_SECONDS = env.float("OUTBOX_RETRY_BASE_SECONDS", default=5.0)
# A pending delivery younger than this still has its own doorbell on the way.
OUTBOX_SWEEP_GRACE_SECONDS = env.float("OUTBOX_SWEEP_GRACE_SECONDS", default=10.0)
# An attempt leases its delivery for this long (duplicate doorbells and the sweeper keep away);
# after a crashed attempt the sweeper rings again once the lease (+ grace) is over.
OUTBOX_CLAIM_LEASE_SECONDS = env.float("OUTBOX_CLAIM_LEASE_SECONDS", default=60.0)
# Extra modules that register outbox consumers, besides every app's consumers.py / tasks.py
# (comma list; the tests use it to give a real worker their test-only consumers).
OUTBOX_CONSUMER_MODULES = env.list("OUTBOX_CONSUMER_MODULES", default=[])

# Surveys (feedback/services/survey.py): answers per client address per minute on /s/ pages
# (0 = no limit), and seconds between the beat sweeps that send due surveys, finish and expire.
SURVEY_RATE_LIMIT_PER_MINUTE = env.int("SURVEY_RATE_LIMIT_PER_MINUTE", default=60)
SURVEY_SWEEP_INTERVAL = env.float("SURVEY_SWEEP_INTERVAL", default=30.0)
