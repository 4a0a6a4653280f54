"""Request rates of the REST API, per member and per client IP, counted in the default cache
(Redis in production, so every web process shares the counts)."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _SettingsRate:
    """DRF binds its rate table when its class is defined; this reads it per request, so the
    settings (and tests overriding them) take effect at once."""

    scope: str | None

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return None if rate is None else str(rate)


class AnonThrottle(_SettingsRate, AnonRateThrottle):
    """Anonymous requests, per client IP (see REST_FRAMEWORK["NUM_PROXIES"])."""


class UserThrottle(_SettingsRate, UserRateThrottle):
    """Signed-in requests, per member (per IP when anonymous)."""


class JobCreateThrottle(_SettingsRate, UserRateThrottle):
    """The stricter rate for submitting generation jobs."""

    scope = "job_create"
