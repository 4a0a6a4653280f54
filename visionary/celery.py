"""The Celery app. ``celery -A visionary worker -Q generation,default`` runs a separate worker."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionary.settings.embedded")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

app = Celery("visionary")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks.py (torch-free), and the GPU worker's task, which only worker processes load:
# web processes send it by name.
app.autodiscover_tasks()
app.autodiscover_tasks(["generation.worker"])
