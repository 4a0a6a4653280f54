"""Values every page template needs."""

from __future__ import annotations

from django.http import HttpRequest

from visionary.filters import SEARCH_MAX_LENGTH


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "site_name": "Visionary Art",
        "search_query": request.GET.get("q", "")[:SEARCH_MAX_LENGTH],
    }
