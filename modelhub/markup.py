"""Model descriptions are Markdown (the starter's is its model card): render them to safe HTML for
the detail page, or to plain text for the excerpts on the list page."""

from __future__ import annotations

import html
import re

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em", "code", "pre",
    "blockquote", "table", "thead", "tbody", "tr", "th", "td", "a", "br", "hr",
}  # fmt: skip
# An empty "*" set: by default nh3 lets lang and title through on any tag.
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"*": set(), "a": {"href"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
# The page's own <h1> is the model's name, so a description's "#" heading becomes an <h2>.
HEADING_BASE_LEVEL = 2


def _markdown_to_unsafe_html(text: str) -> str:
    # A new converter per call: a Markdown instance keeps state between conversions and is not
    # safe to share between threads.
    converter = markdown.Markdown(
        extensions=["tables", "fenced_code", "sane_lists", "toc"],
        # toc only for its baselevel option, which shifts every heading down; its ids are dropped.
        extension_configs={"toc": {"baselevel": HEADING_BASE_LEVEL}},
    )
    # Raw HTML is shown as the text it is, not passed through: a description may well say
    # "<lora:Name:1>", which a sanitiser would otherwise strip as an unknown tag.
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    return converter.convert(text)


def markdown_to_html(text: str) -> SafeString:
    """The description as HTML that is safe to show: only the allowed tags, links `rel=nofollow`."""
    cleaned = nh3.clean(
        _markdown_to_unsafe_html(text),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="nofollow noopener",
    )
    # Safe: nh3 has just reduced it to the allow-list above.
    return mark_safe(cleaned)


def markdown_excerpt(text: str, chars: int = 160) -> str:
    """The plain text of the description's first blocks, enough for a ``chars`` excerpt: the
    list page shows a few lines, and rendering a whole model card for them costs ~9 ms a model."""
    kept: list[str] = []
    for block in text.split("\n\n"):
        kept.append(block)
        if sum(len(b) for b in kept) >= 2 * chars:
            break
    return markdown_to_text("\n\n".join(kept))


_HEADING_END = re.compile(r"(?<![.!?:;])</h[1-6]>")


def markdown_to_text(text: str) -> str:
    """The description's words without Markdown syntax or tags, whitespace collapsed (not escaped:
    the template escapes it)."""
    # A heading ends its sentence in the excerpt ("Card. A small model", not "Card A small model").
    rendered = _HEADING_END.sub(r".\g<0>", _markdown_to_unsafe_html(text))
    escaped_text = nh3.clean(rendered, tags=set(), attributes={})
    return " ".join(html.unescape(escaped_text).split())
