"""Test settings: embedded defaults unless DATABASE_URL / REDIS_URL point at real services."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, REDIS_CHANNEL_HOST, REDIS_URL

SECRET_KEY = "test-only-secret-key-not-for-production-use-0123456789abcdef"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Each test run writes its files to a throwaway directory.
DATA_DIR = Path(tempfile.mkdtemp(prefix="visionary-test-"))
MEDIA_ROOT = DATA_DIR / "media"
MODELS_DIR = DATA_DIR / "models"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not os.environ.get(
    "DATABASE_URL"
):
    # Commands run with test settings (makemigrations --check) get a database file that exists.
    DATABASES["default"]["NAME"] = str(DATA_DIR / "visionary.sqlite3")
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # MariaDB waits a day for a metadata lock by default: a test that leaves a transaction open
    # would hang the next flush. Two minutes, then the waiting statement fails with an error.
    _options = DATABASES["default"]["OPTIONS"]
    _options["init_command"] = f"{_options['init_command']}, SESSION lock_wait_timeout = 120"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": "/media/"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if REDIS_URL:
    # Our own key prefix per run, so parallel runs on a shared Redis never see each other's keys.
    _prefix = f"visionary-test-{os.getpid()}"
    CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": _prefix}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_CHANNEL_HOST], "prefix": f"{_prefix}:ch"},
        }
    }

CELERY_BROKER_URL = "memory://localhost/"
CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.01}
VISIONARY_EMBEDDED_WORKER = False
