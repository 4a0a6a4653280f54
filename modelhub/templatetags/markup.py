"""`{% load markup %}`: the filters that show a model's Markdown description."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from modelhub.markup import markdown_excerpt, markdown_to_html

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return markdown_to_html(text)


@register.filter(name="markdown_excerpt")
def markdown_excerpt_filter(text: str) -> str:
    return markdown_excerpt(text)
