"""Production mode: services come from the environment; secrets and hosts are required."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import BASE_DIR, CELERY_BROKER_URL, REDIS_URL, STORAGES
from .env import env_bool, env_int, env_list, env_str

SECRET_KEY = env_str("SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 50 characters")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names the site answers to")

# Without Redis the cache, channel layer and broker are in-process: jobs would wait in a queue no
# worker reads. VISIONARY_TEST_ALLOW_NO_REDIS is for tests that probe one process (probe_settings).
if not env_bool("VISIONARY_TEST_ALLOW_NO_REDIS", False):
    if not REDIS_URL:
        raise ImproperlyConfigured(
            "REDIS_URL must be set in production (cache, channel layer and job broker)"
        )
    if CELERY_BROKER_URL.startswith("memory"):
        raise ImproperlyConfigured(
            "CELERY_BROKER_URL must not be memory:// in production: no worker would read it"
        )

DEBUG = env_bool("DEBUG", False)
SILENCED_SYSTEM_CHECKS = []  # production checks everything
LOG_FORMAT = env_str("LOG_FORMAT", "json")
METRICS_REQUIRE_TOKEN = env_bool("METRICS_REQUIRE_TOKEN", True)  # /metrics closed without a token

# TLS ends at the proxy in front of daphne, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True

STATIC_ROOT = BASE_DIR / "staticfiles"  # filled by collectstatic
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedManifestStaticFilesStorage"},
}
SERVESTATIC_USE_FINDERS = False
