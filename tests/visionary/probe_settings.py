"""Production settings for the web-process probe, with plain static file storage (the manifest
storage needs `collectstatic` first, a deployment step)."""

from visionary.settings.production import *  # noqa: F403
from visionary.settings.production import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
