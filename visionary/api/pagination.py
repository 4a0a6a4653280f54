"""Pagination of every /api/v1/ list."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """``?page=2&page_size=50``: 20 per page by default, at most 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
