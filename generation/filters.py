"""FilterSets of a member's generation jobs, shared by the history page and the jobs API."""

from __future__ import annotations

import django_filters

from generation.models import GenerationJob


class JobFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=GenerationJob.State.choices, label="Only jobs in this state."
    )

    class Meta:
        model = GenerationJob
        fields: list[str] = []
