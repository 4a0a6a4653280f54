"""Settings shared by every mode. Services are chosen by environment variables; without them
everything is embedded (SQLite, local-memory cache, in-process channel layer and Celery broker)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from .env import env_bool, env_choice, env_int, env_level, env_list, env_path, env_str, env_url

# Lets generic classes such as UserCreationForm[User] be subscripted at run time (typing only).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = env_path("VISIONARY_DATA_DIR", BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "channels",
    "axes",
    "accounts",
    "modelhub",
    "generation",
    "gallery",
    "social",
    "moderation",
    # The project package itself: its management commands (serve) compose every app.
    "visionary",
]

MIDDLEWARE = [
    "visionary.middleware.RequestMetricsMiddleware",
    "visionary.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Async-capable, so an async view (a waiting /sdapi call) runs with no thread held for it.
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # A Redis, database or broker outage in a view: a 503 page that asks to retry, not a 500.
    "visionary.middleware.DependencyUnavailableMiddleware",
    # Last, so it sees a view's uncaught domain error first: a page with its status, never a traceback.
    "visionary.middleware.ApplicationErrorMiddleware",
]
METRICS_TOKEN = env_str("METRICS_TOKEN")  # /metrics asks for "Authorization: Bearer <it>" when set
METRICS_REQUIRE_TOKEN = env_bool("METRICS_REQUIRE_TOKEN", False)  # without a token: 403

ROOT_URLCONF = "visionary.urls"
ASGI_APPLICATION = "visionary.asgi.application"
WSGI_APPLICATION = "visionary.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "visionary.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{DATA_DIR / 'visionary.sqlite3'}",
    schemes=("sqlite", "mysql"),
)
_db: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL))
if _db["ENGINE"] == "django.db.backends.mysql":
    # Under ASGI every request runs its sync code in a thread of its own, and a persistent
    # connection stays with its thread: 0 closes it when the request ends (README, "Connection
    # budget"). Celery workers reuse theirs between tasks either way.
    _db["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
    _db["CONN_HEALTH_CHECKS"] = True
    _db["OPTIONS"] = {
        "charset": "utf8mb4",
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        # READ COMMITTED lets workers claim jobs with SKIP LOCKED without gap locks.
        "isolation_level": "read committed",
    }
    _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
else:
    # Workers and web requests share the file: wait for the lock instead of failing at once.
    _db["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, channel layer, Celery ----------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", "", schemes=("redis", "rediss", "unix"))
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "visionary")
SILENCED_SYSTEM_CHECKS: list[str] = []
# The channel layer's Redis connections. redis-py 8 gives every socket a 5 s timeout by default;
# with any socket timeout it wraps each write in asyncio.wait_for, which on Python 3.11 swallows a
# cancellation that lands as the write completes (CPython gh-86296). A consumer that disconnects
# while its first receive is connecting then never stops: its receive loops on 5 s blocking pops
# forever. So no socket timeout (as redis-py 7 and channels-redis assume): a dead connection is
# found by TCP keepalive within about 25 s, and opening one still gives up after 5 s.
REDIS_CHANNEL_HOST = {
    "address": REDIS_URL,
    "socket_timeout": None,
    "socket_connect_timeout": 5,
    "socket_keepalive": True,
    # redis-py 8's asyncio pool raises MaxConnectionsError past its size (100 by default)
    # instead of waiting, and channels-redis always builds the plain pool: size it for a burst
    # of sockets joining groups at once. Idle connections stay open, so processes x this must
    # fit Redis's maxclients (10000 by default) with the cache's and workers' connections.
    "max_connections": env_int("REDIS_CHANNEL_MAX_CONNECTIONS", 1000, minimum=1),
    # Linux names; a platform without one keeps its own default for it.
    "socket_keepalive_options": {
        getattr(socket, name): value
        for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
        if hasattr(socket, name)
    },
}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_CHANNEL_HOST], "prefix": f"{CACHE_KEY_PREFIX}:ch"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # One process holds every counter in the embedded mode, so a local-memory cache is shared.
    SILENCED_SYSTEM_CHECKS.append("axes.W001")
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "visionary.channel_layers.ThreadSafeInMemoryChannelLayer"}
    }

CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    REDIS_URL or "memory://localhost/",
    schemes=("memory", "redis", "rediss", "amqp", "amqps", "pyamqp"),
)
# The in-memory broker only reaches a worker in the same process, so it implies the embedded worker.
VISIONARY_EMBEDDED_WORKER = env_bool(
    "VISIONARY_EMBEDDED_WORKER", CELERY_BROKER_URL.startswith("memory")
)
GENERATION_QUEUE = "generation"

# --- Files ---------------------------------------------------------------------------------------
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
MODELS_DIR = DATA_DIR / "models"

S3_BUCKET = env_str("S3_BUCKET")
if S3_BUCKET:
    _default_storage: dict[str, Any] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
            "region_name": env_str("S3_REGION") or None,
            "access_key": env_str("S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("S3_URL_EXPIRE_SECONDS", 600, minimum=30),
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SERVESTATIC_USE_FINDERS = True
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
AVATAR_MAX_BYTES = env_int("AVATAR_MAX_BYTES", 2 * 1024 * 1024, minimum=1024)
AVATAR_MAX_PIXELS = 4096

# --- Accounts and security ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.UsernameOrEmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Failed logins are counted per (account, IP) pair in the shared cache.
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CACHE = "default"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "accounts.backends.lockout_username"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
# JSON on /api/ and /sdapi/, the template above on pages.
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- E-mail ------------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Visionary Art <noreply@localhost>")

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Generation ----------------------------------------------------------------------------------
# Host RAM the worker's model cache may hold, measured from the tensors it keeps. Every model is
# loaded through RAM, so this must hold the largest model a worker should run.
MODEL_CACHE_RAM_BYTES = env_int("MODEL_CACHE_RAM_BYTES", 4 * 1024**3, minimum=0)
# Accelerator memory the model cache may hold when GENERATION_DEVICE is not "cpu" (least recently
# used models move down to RAM past it), each call's working memory included. 0 with a "cuda"
# device means the device's memory less a 2 GiB safety margin (the CUDA context, other processes).
MODEL_CACHE_GPU_BYTES = env_int("MODEL_CACHE_GPU_BYTES", 0, minimum=0)
GENERATION_DEVICE = env_str("GENERATION_DEVICE", "cpu")
# dtype pipelines load in: auto = fp32 on the CPU, fp16 on an accelerator; bf16 where supported.
GENERATION_DTYPES = ("auto", "fp32", "fp16", "bf16")
GENERATION_DTYPE = env_choice("GENERATION_DTYPE", "auto", GENERATION_DTYPES)
GENERATION_MAX_QUEUED_PER_USER = env_int("GENERATION_MAX_QUEUED_PER_USER", 10, minimum=1)
# Compatible queued jobs (same model, size, sampler, steps, CFG, clip skip, LoRAs) of any members
# share one batched pipeline call of at most this many pictures; 1 turns batching off.
GENERATION_BATCH_MAX_IMAGES = env_int("GENERATION_BATCH_MAX_IMAGES", 8, minimum=1)
GENERATION_MAX_LORAS = env_int("GENERATION_MAX_LORAS", 5, minimum=0)
# img2img starting pictures: bytes and pixels a side accepted (re-encoded as PNG before storing).
GENERATION_INIT_IMAGE_MAX_BYTES = env_int(
    "GENERATION_INIT_IMAGE_MAX_BYTES", 10 * 1024 * 1024, minimum=1024
)
GENERATION_INIT_IMAGE_MAX_PIXELS = env_int("GENERATION_INIT_IMAGE_MAX_PIXELS", 4096, minimum=64)
# Minimum seconds between two progress pushes of one job (the last step is always sent).
GENERATION_PROGRESS_MIN_INTERVAL = (
    env_int("GENERATION_PROGRESS_MIN_INTERVAL_MS", 50, minimum=0) / 1000
)
# The same for the public /ws/live/ copies: a crowd of watchers gets a few updates a second, so
# every message reaches every watcher on time (the owner's own socket keeps the faster pace).
GENERATION_LIVE_MIN_INTERVAL = env_int("GENERATION_LIVE_MIN_INTERVAL_MS", 250, minimum=0) / 1000

# Every this many steps a small preview (cheap latent -> RGB projection) is pushed; 0 turns it off.
GENERATION_PREVIEW_EVERY_STEPS = env_int("GENERATION_PREVIEW_EVERY_STEPS", 5, minimum=0)

# A running job whose worker has not written a heartbeat for this long is requeued (or failed
# after GENERATION_MAX_ATTEMPTS tries). Workers beat every few seconds while a job runs; the
# reaper runs every few seconds, so a lost worker's job runs again within about 20 s.
GENERATION_HEARTBEAT_SECONDS = env_int("GENERATION_HEARTBEAT_SECONDS", 5, minimum=1)
GENERATION_STALE_AFTER_SECONDS = env_int("GENERATION_STALE_AFTER_SECONDS", 15, minimum=5)
GENERATION_MAX_ATTEMPTS = env_int("GENERATION_MAX_ATTEMPTS", 3, minimum=1)
GENERATION_REAP_INTERVAL_SECONDS = env_int("GENERATION_REAP_INTERVAL_SECONDS", 5, minimum=1)
# A queued job no worker claimed for this long, with no wake-up left in the broker (lost in a
# Redis restart), gets a new one from the reaper.
GENERATION_REQUEUE_AFTER_SECONDS = env_int("GENERATION_REQUEUE_AFTER_SECONDS", 15, minimum=1)
# An idle worker makes the same check this often (0: never), so lost wake-ups are made up even
# while the beat is down.
GENERATION_IDLE_CHECK_SECONDS = env_int("GENERATION_IDLE_CHECK_SECONDS", 10, minimum=0)

# --- Moderation ------------------------------------------------------------------------------
# The highest content level (PG, PG-13, R, X) this site shows. Pictures rated above it are never
# served: they stay in quarantine for moderators for MODERATION_QUARANTINE_DAYS, then a periodic
# task deletes them. Below X, prompts asking for explicit sexual content are refused too.
MODERATION_MAX_LEVEL = env_level("MODERATION_MAX_LEVEL", "PG-13")
MODERATION_QUARANTINE_DAYS = env_int("MODERATION_QUARANTINE_DAYS", 30, minimum=1)
MODERATION_PURGE_INTERVAL_SECONDS = env_int("MODERATION_PURGE_INTERVAL_SECONDS", 3600, minimum=60)
# The image classifier (nudenet's detector): a detected label with at least this score raises the
# picture to at least this level. Labels not listed do not change it (PG).
MODERATION_IMAGE_RULES: dict[str, tuple[str, float]] = {
    "FEMALE_GENITALIA_EXPOSED": ("X", 0.35),
    "MALE_GENITALIA_EXPOSED": ("X", 0.35),
    "ANUS_EXPOSED": ("X", 0.35),
    "FEMALE_BREAST_EXPOSED": ("R", 0.35),
    "BUTTOCKS_EXPOSED": ("R", 0.4),
    "FEMALE_GENITALIA_COVERED": ("PG-13", 0.4),
    "FEMALE_BREAST_COVERED": ("PG-13", 0.5),
    "BUTTOCKS_COVERED": ("PG-13", 0.5),
}

# --- Celery ----------------------------------------------------------------------------------------
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# Declared, so a plain `celery -A visionary worker` consumes both; `-Q generation` specialises one.
CELERY_TASK_QUEUES = (Queue("default"), Queue(GENERATION_QUEUE))
CELERY_TASK_ROUTES = {"generation.tasks.*": {"queue": GENERATION_QUEUE}}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = (
    {"polling_interval": 0.01} if CELERY_BROKER_URL.startswith("memory") else {}
)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "reap-stale-generation-jobs": {
        "task": "generation.tasks.jobs_reap",
        "schedule": float(GENERATION_REAP_INTERVAL_SECONDS),
        # Workers busy with long jobs must not find a pile of reaps when they are free again.
        "options": {"expires": float(GENERATION_REAP_INTERVAL_SECONDS)},
    },
    "purge-expired-quarantine": {
        "task": "gallery.tasks.quarantine_purge",
        "schedule": float(MODERATION_PURGE_INTERVAL_SECONDS),
    },
}

# --- REST framework (issue: APIs extends this) -------------------------------------------------
# Named API tokens one member may hold (settings page; HTTP Basic or Bearer).
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", 10, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "accounts.authentication.BasicCredentialsAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's, with JSON nested too deep refused as a parse error (not a RecursionError, a 500).
    "DEFAULT_PARSER_CLASSES": [
        "visionary.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # The one error body under /api/; DRF's default elsewhere (/sdapi/v1/ answers A1111-style).
    "EXCEPTION_HANDLER": "visionary.api.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "visionary.api.pagination.Pagination",
    "PAGE_SIZE": 20,
    # Counted in the default cache: Redis in production, shared by every web process.
    "DEFAULT_THROTTLE_CLASSES": [
        "visionary.api.throttles.AnonThrottle",
        "visionary.api.throttles.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "60/minute"),
        "user": env_str("API_THROTTLE_USER", "300/minute"),
        "job_create": env_str("API_THROTTLE_JOB_CREATE", "20/minute"),
    },
    # Proxies in front of the site that append to X-Forwarded-For (the anonymous rate is per
    # client IP); 0 counts REMOTE_ADDR, which a client cannot forge.
    "NUM_PROXIES": env_int("API_NUM_PROXIES", 0, minimum=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Visionary Art API",
    "DESCRIPTION": (
        "REST API (/api/v1/) and the AUTOMATIC1111-compatible subset (/sdapi/v1/) of Visionary Art."
        " Every 4xx of /api/v1/ has the body"
        ' `{"error": {"status", "code", "message", "fields"?}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components: read-only fields are not asked for.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc assets from drf-spectacular-sidecar (served locally, no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging -------------------------------------------------------------------------------------
LOG_FORMAT = env_str("LOG_FORMAT", "text")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
    },
}
