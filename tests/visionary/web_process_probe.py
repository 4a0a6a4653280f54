"""Run as a script in a fresh interpreter by test_web_process.py: start Django as a web process
does (production settings), import the URLconf and the ASGI app, run `check`, make one GET
request to every URL pattern as a superuser, and print what it found as JSON on the last line.

Static files use the plain storage: production's manifest storage needs `collectstatic`, which
is a deployment step, not a web process's start-up."""

from __future__ import annotations

import json
import re
import resource
import sys
import uuid
from typing import Any

import django
from django.conf import settings

ENGINE_MODULES = ("torch", "diffusers", "transformers", "onnxruntime", "nudenet", "peft")


def _patterns(resolver: Any, prefix: str = "", route: str = "") -> list[tuple[str, str, Any]]:
    """(namespaced name or "", the full route written out, the pattern) for every URL pattern."""
    from django.urls import URLPattern, URLResolver

    found = []
    for entry in resolver.url_patterns:
        text = route + str(entry.pattern)
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            found += _patterns(entry, namespace, text)
        elif isinstance(entry, URLPattern):
            found.append((f"{prefix}{entry.name}" if entry.name else "", text, entry))
    return found


# Tried in order for each path argument until one reverses: by argument name, then by kind.
BY_NAME: dict[str, list[Any]] = {
    "pk": [1],
    "object_id": [1],
    "format": ["json"],
    "app_label": ["generation", "gallery"],
    "url": ["x"],
}
BY_KIND: dict[str, list[Any]] = {
    "int": [1],
    "str": ["demo", "x"],
    "slug": ["x"],
    "path": ["x"],
    "uuid": [uuid.UUID(int=1)],
    "regex": ["1", "x"],
}


def _candidates(arg: str, kind: str) -> list[Any]:
    return BY_NAME.get(arg) or BY_KIND.get(kind, ["x"])


def _url_for(name: str, route: str, pattern: Any) -> str | None:
    from django.urls import NoReverseMatch, reverse

    converters = getattr(pattern.pattern, "converters", {})
    names = list(converters) or list(pattern.pattern.regex.groupindex)
    kinds = {
        arg: type(converters[arg]).__name__.removesuffix("Converter").lower()
        if arg in converters
        else "regex"
        for arg in names
    }
    if not name:  # unnamed: fill the written-out route itself

        def fill(match: re.Match[str]) -> str:
            return str(_candidates(match.group(1) or match.group(2), "regex")[0])

        url = re.sub(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>.*?\)(?=/|\$|$)", fill, route)
        url = url.replace("^", "").replace("$", "").replace("\\", "")
        return "/" + url
    attempts = max((len(_candidates(a, k)) for a, k in kinds.items()), default=1)
    for i in range(attempts):
        kwargs = {}
        for arg, kind in kinds.items():
            values = _candidates(arg, kind)
            kwargs[arg] = values[min(i, len(values) - 1)]
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return None


def main() -> None:
    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.urls import get_resolver

    import visionary.asgi
    import visionary.urls  # noqa: F401
    from accounts.models import User

    call_command("check", verbosity=0)
    admin = User.objects.create_superuser(
        username=f"probe{uuid.uuid4().hex[:8]}", email="probe@example.com", password="unused"
    )
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    requested, statuses, unreachable = [], {}, []
    for name, route, pattern in _patterns(get_resolver()):
        url = _url_for(name, route, pattern)
        if url is None:
            unreachable.append(name or route)
            continue
        response = client.get(url, secure=True)
        requested.append(url)
        statuses[url] = response.status_code
    print(
        json.dumps(
            {
                "settings": settings.SETTINGS_MODULE,
                "engine_modules": [m for m in ENGINE_MODULES if m in sys.modules],
                "worker_modules": sorted(
                    m
                    for m in sys.modules
                    if m == "generation.worker" or m.startswith("generation.worker.")
                ),
                "requested": requested,
                "statuses": statuses,
                "unreachable": unreachable,
                "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
