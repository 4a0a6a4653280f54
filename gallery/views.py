"""Gallery pages: home, the published list, one picture with its recipe, the file itself."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from gallery import services
from gallery.filters import ImageFilter
from gallery.models import Image
from gallery.selectors import images_of_model, images_published, images_visible_to, loras_of_image
from modelhub.selectors import models_listed
from visionary.file_responses import stored_file_response


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "images": images_published()[:12],
        "models": models_listed()[:6],
    }
    return render(request, "gallery/home.html", context)


def image_list(request: HttpRequest) -> HttpResponse:
    images = ImageFilter(request.GET, queryset=images_published())
    page = Paginator(images.qs, 24).get_page(request.GET.get("page"))
    return render(request, "gallery/list.html", {"page": page, "query": images.search_text})


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


@permission_required("gallery.view_withheld_image", raise_exception=True)
def withheld_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A withheld picture, for moderators reviewing the quarantine (never cached). Served at
    /moderation/withheld/<pk>.png."""
    image = get_object_or_404(Image.all_objects, pk=pk, withheld_at__isnull=False)
    return stored_file_response(image.file.name or "", content_type="image/png", public=False)


MODEL_PREVIEWS_SHOWN = 8


def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A model's hub page (/models/<pk>/) with the published pictures made with it."""
    model = get_object_or_404(models_listed(), pk=pk)
    previews = images_of_model(model_id=model.pk)[:MODEL_PREVIEWS_SHOWN]
    return render(request, "gallery/model_detail.html", {"model": model, "previews": previews})
