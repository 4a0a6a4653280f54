"""FilterSets of the gallery's lists."""

from __future__ import annotations

from gallery.models import Image
from visionary.filters import SearchFilter, SearchFilterSet


class ImageFilter(SearchFilterSet):
    q = SearchFilter(field_name="prompt", label="Prompt contains.")

    class Meta:
        model = Image
        fields: list[str] = []
