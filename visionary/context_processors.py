"""Values every page template needs."""

from __future__ import annotations

from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "site_name": "Visionary Art",
        "search_query": request.GET.get("q", "")[:200],
    }
