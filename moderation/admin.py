"""The prompt filter's terms, managed by moderators."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from moderation.models import FilterTerm


@admin.register(FilterTerm)
class FilterTermAdmin(admin.ModelAdmin):
    list_display = ("term", "category", "action", "language", "is_active", "updated_at")
    list_filter = ("category", "action", "language", "is_active")
    list_editable = ("action", "is_active")
    search_fields = ("term", "note")
    ordering = ("category", "term")
    actions = ("activate", "deactivate")

    @admin.action(description=_("Use the selected terms"))
    def activate(self, request: HttpRequest, queryset: QuerySet[FilterTerm]) -> None:
        self._set_active(request, queryset, active=True)

    @admin.action(description=_("Stop using the selected terms"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[FilterTerm]) -> None:
        self._set_active(request, queryset, active=False)

    def _set_active(
        self, request: HttpRequest, queryset: QuerySet[FilterTerm], *, active: bool
    ) -> None:
        # save() per row, so updated_at moves and every process rebuilds its filter.
        for term in queryset:
            term.is_active = active
            term.save(update_fields=["is_active", "updated_at"])
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(n)d term updated.", "%(n)d terms updated.", count) % {"n": count},
            messages.SUCCESS,
        )
