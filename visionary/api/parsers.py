"""The JSON parser of both APIs: DRF's, refusing bodies nested deeper than any request of ours
needs. Python's decoder recurses once per level, so 50,000 brackets would end in a RecursionError
(a 500) and a few hundred would reach serializers and JSON fields that recurse again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Our deepest request (A1111's override_settings, alwayson_scripts) is about five levels.
MAX_JSON_DEPTH = 32


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser with a nesting limit: deeper bodies are a ParseError (400 / 422)."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(self._too_deep_message()) from exc
        if _depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(self._too_deep_message())
        return data

    @staticmethod
    def _too_deep_message() -> str:
        return _("JSON parse error - nested more than %(n)s levels deep.") % {"n": MAX_JSON_DEPTH}


def _depth_exceeds(data: Any, limit: int) -> bool:
    """Whether lists/objects nest deeper than ``limit``; iterative, so it cannot recurse itself."""
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
