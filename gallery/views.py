"""Gallery pages: home, the published list, one picture with its recipe, the file itself."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from gallery import services
from gallery.selectors import images_published, images_visible_to, loras_of_image
from modelhub.selectors import models_listed
from visionary.file_responses import stored_file_response


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "images": images_published()[:12],
        "models": models_listed()[:6],
    }
    return render(request, "gallery/home.html", context)


def image_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    page = Paginator(images_published(query=query), 24).get_page(request.GET.get("page"))
    return render(request, "gallery/list.html", {"page": page, "query": query})


def image_detail(request: HttpRequest, pk: int) -> HttpResponse:
    image = get_object_or_404(images_visible_to(viewer=request.user), pk=pk)
    return render(
        request, "gallery/detail.html", {"image": image, "loras": loras_of_image(image=image)}
    )


def image_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Serve the picture itself, after the same visibility check as its page."""
    image = get_object_or_404(images_visible_to(viewer=request.user), pk=pk)
    return stored_file_response(
        image.file.name or "", content_type="image/png", public=image.is_published
    )


@login_required
@require_POST
def image_publish_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    assert isinstance(request.user, User)
    image = get_object_or_404(images_visible_to(viewer=request.user), pk=pk, owner=request.user)
    if image.is_published:
        services.image_unpublish(image=image, user=request.user)
        messages.success(request, _("The picture is private again."))
    else:
        services.image_publish(image=image, user=request.user)
        messages.success(request, _("The picture is now in the public gallery."))
    return redirect(image.get_absolute_url())
