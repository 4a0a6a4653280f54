"""Languages: English by default, Simplified Chinese on request; accessible icon buttons."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _translation_of(msgid: str) -> str:
    lines = CATALOGUE.read_text(encoding="utf-8").splitlines()
    index = lines.index(f'msgid "{msgid}"')
    return lines[index + 1].removeprefix('msgstr "').removesuffix('"')


class _ButtonCollector(HTMLParser):
    """Collects each <button>'s attributes and text (inline SVG icons carry no text)."""

    def __init__(self) -> None:
        super().__init__()
        self.buttons: list[tuple[dict[str, str | None], str]] = []
        self._open: tuple[dict[str, str | None], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "button":
            self._open = (dict(attrs), [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._open is not None:
            attrs, text = self._open
            self.buttons.append((attrs, "".join(text).strip()))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)


def test_home_page_is_english_by_default(client, db):
    body = client.get(reverse("home")).content.decode()

    assert '<html lang="en"' in body
    assert ">Gallery</a>" in body


def test_accept_language_zh_hans_renders_chinese(client, db):
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert '<html lang="zh-hans"' in response.content.decode()


def test_accept_language_zh_cn_falls_back_to_simplified_chinese(client, db):
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")

    assert '<html lang="zh-hans"' in response.content.decode()


def test_chinese_navigation_uses_the_catalogue(client, db):
    body = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert f">{_translation_of('Gallery')}</a>" in body
    assert ">Gallery</a>" not in body


@pytest.mark.parametrize("logged_in", [False, True])
def test_icon_only_buttons_have_title_and_aria_label(client, member, logged_in):
    if logged_in:
        client.force_login(member)
    parser = _ButtonCollector()
    parser.feed(client.get(reverse("home")).content.decode())

    icon_only = [attrs for attrs, text in parser.buttons if not text]
    assert icon_only, "expected at least the search button to be icon-only"
    for attrs in icon_only:
        assert attrs.get("title"), attrs
        assert attrs.get("aria-label"), attrs
