"""Serving stored files after a view has checked who may see them."""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, HttpResponseBase
from django.shortcuts import redirect
from django.utils.cache import patch_cache_control


def stored_file_response(name: str, *, content_type: str, public: bool) -> HttpResponseBase:
    """The file from local disk, or a short-lived presigned URL on object storage (so bytes never
    pass through the web process). Public files may sit in shared caches for a few minutes (a file
    made private again must leave them soon); private ones are never cached."""
    if isinstance(default_storage, FileSystemStorage):
        response: HttpResponseBase = FileResponse(
            default_storage.open(name), content_type=content_type
        )
    else:
        response = redirect(default_storage.url(name))
    if public:
        patch_cache_control(response, public=True, max_age=300)
    else:
        patch_cache_control(response, private=True, max_age=0)
    return response
