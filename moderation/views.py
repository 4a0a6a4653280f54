"""Moderators' views: the pictures nobody else can reach."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404

from gallery.models import Image
from visionary.file_responses import stored_file_response


@permission_required("gallery.view_withheld_image", raise_exception=True)
def withheld_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A withheld picture, for moderators reviewing the quarantine (never cached)."""
    image = get_object_or_404(Image.all_objects, pk=pk, withheld_at__isnull=False)
    return stored_file_response(image.file.name or "", content_type="image/png", public=False)
