"""FilterSets of the model hub's lists, shared by the pages and the API."""

from __future__ import annotations

import django_filters

from modelhub.models import AIModel, ModelVersion
from visionary.filters import SearchFilter, SearchFilterSet


class AIModelFilter(SearchFilterSet):
    q = SearchFilter(field_name="name", label="Name contains.")

    class Meta:
        model = AIModel
        fields: list[str] = []


class ModelVersionFilter(django_filters.FilterSet):
    base_model = django_filters.ChoiceFilter(
        choices=ModelVersion.BaseModel.choices, label="Only versions for this base model."
    )

    class Meta:
        model = ModelVersion
        fields: list[str] = []
