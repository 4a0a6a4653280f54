"""The ``?q=`` search every searchable list uses (the FilterSets of modelhub and gallery), and its
length limit, which the header's search box shares."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

SEARCH_MAX_LENGTH = 200


class SearchField(forms.CharField):
    """The searched-for text, stripped; a longer one is cut to SEARCH_MAX_LENGTH rather than
    refused, as the search box always did."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value))[:SEARCH_MAX_LENGTH]


class SearchFilter(django_filters.CharFilter):
    """``?q=``: keeps the rows whose ``field_name`` contains the text, in any letter case."""

    field_class = SearchField

    def __init__(self, *, field_name: str, label: str) -> None:
        super().__init__(field_name=field_name, lookup_expr="icontains", label=label)


class SearchFilterSet(django_filters.FilterSet):
    """A FilterSet with a ``q`` search: pages say what was searched for with ``search_text``."""

    @property
    def search_text(self) -> str:
        """The valid ``?q=`` text, or '' when none was given (or it was not valid)."""
        self.form.is_valid()  # cleans the data once; the form keeps the result
        return str(getattr(self.form, "cleaned_data", {}).get("q") or "")
