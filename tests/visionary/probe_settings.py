"""Production settings for the web-process probe, with plain static file storage (the manifest
storage needs `collectstatic` first, a deployment step). The probe runs one process without Redis:
the test-only switch lets production settings load with the in-process cache and broker."""

import os

os.environ.setdefault("VISIONARY_TEST_ALLOW_NO_REDIS", "1")

from visionary.settings.production import *  # noqa: F403
from visionary.settings.production import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SERVESTATIC_USE_FINDERS = True
