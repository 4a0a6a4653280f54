"""Model hub pages (uploads and reviews come with the model hub issue). A model's own page shows
the pictures made with it, so it lives in the gallery (``gallery.views.model_detail``)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from modelhub.filters import AIModelFilter
from modelhub.selectors import models_listed


def model_list(request: HttpRequest) -> HttpResponse:
    models = AIModelFilter(request.GET, queryset=models_listed())
    page = Paginator(models.qs, 24).get_page(request.GET.get("page"))
    return render(request, "modelhub/list.html", {"page": page})
