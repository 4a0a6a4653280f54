"""Model hub pages (uploads and reviews come with the model hub issue)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from gallery.selectors import images_of_model
from modelhub.selectors import models_listed

PREVIEWS_SHOWN = 8


def model_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    page = Paginator(models_listed(query=query), 24).get_page(request.GET.get("page"))
    return render(request, "modelhub/list.html", {"page": page, "query": query})


def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    model = get_object_or_404(models_listed(), pk=pk)
    previews = images_of_model(model_id=model.pk)[:PREVIEWS_SHOWN]
    return render(request, "modelhub/detail.html", {"model": model, "previews": previews})
