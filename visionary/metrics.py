"""Prometheus metrics at /metrics: the registry, request latency and the view.

Request latency is a histogram in each web process (prometheus_client's own): recording it costs
no round trip, and each process is scraped on its own address. Apps add the figures they own with
a collector registered on ``REGISTRY`` when they are ready (generation: the queue, every worker's
model cache and generation speed, read from the database and the shared cache)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest

# Only this registry is exposed: prometheus_client's global one would add process and GC figures
# of whichever process answers, and tests would share it across settings.
REGISTRY = CollectorRegistry()

# --- Request latency (per web process) -------------------------------------------------------
UNMATCHED_ROUTE = "unmatched"
METRICS_ROUTE = "metrics"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

http_request_duration = Histogram(
    "visionary_http_request_duration_seconds",
    "Time from the request reaching Django to the response leaving it, by URL pattern.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)


def request_route(request: HttpRequest) -> str:
    """The URL pattern that answered, never the raw path: label values must stay few."""
    match = getattr(request, "resolver_match", None)
    route = match.route if match is not None else ""
    return route or UNMATCHED_ROUTE


def request_duration_record(
    request: HttpRequest, response: HttpResponseBase, seconds: float
) -> None:
    route = request_route(request)
    if route == METRICS_ROUTE:
        return  # scrapes every few seconds would swamp the figures of real pages
    method = request.method if request.method in _KNOWN_METHODS else "other"
    http_request_duration.labels(route, method, str(response.status_code)).observe(seconds)


# --- The view ------------------------------------------------------------------------------------
def _bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition, for operators: Bearer METRICS_TOKEN when one is set."""
    token: str = settings.METRICS_TOKEN
    if not token and settings.METRICS_REQUIRE_TOKEN:
        # Production without a token: closed rather than open to whoever reaches the site.
        return HttpResponse(
            "Metrics are off: set METRICS_TOKEN (or METRICS_REQUIRE_TOKEN=0).\n",
            status=403,
            content_type="text/plain",
        )
    if token and not _bearer_matches(request, token):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


__all__ = [
    "REGISTRY",
    "metrics_view",
    "request_duration_record",
    "request_route",
]
