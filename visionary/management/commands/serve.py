"""Serve the site over ASGI (HTTP + WebSockets) with daphne; in the embedded mode the Celery
worker runs in a thread of this same process."""

from __future__ import annotations

import logging
from typing import Any

from daphne.endpoints import build_endpoint_description_strings
from daphne.server import Server
from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Serve HTTP and WebSockets (and the embedded worker when the broker is in-memory)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker", action="store_true", help="Do not start the embedded Celery worker."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from visionary.asgi import application

        if settings.VISIONARY_EMBEDDED_WORKER and not options["no_worker"]:
            from visionary.embedded_worker import embedded_worker_start

            embedded_worker_start()
        host, port = options["host"], options["port"]
        self.stdout.write(self.style.SUCCESS(f"Visionary Art on http://{host}:{port}/"))
        Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,
            verbosity=0,
        ).run()
