"""Model descriptions: Markdown rendered to sanitised HTML, or stripped to plain text."""

from __future__ import annotations

import re
from pathlib import Path

import modelhub
from modelhub.markup import markdown_excerpt, markdown_to_html, markdown_to_text

STARTER_CARD = Path(modelhub.__file__).parent / "assets" / "starter" / "MODEL_CARD.md"
TABLE = "| stage | steps |\n|---|---|\n| vae | 1,500 |\n"


def _tags(html: str) -> list[str]:
    return re.findall(r"<[^>]*>", html)


def test_headings_are_demoted_one_level_below_the_pages_own_h1():
    html = markdown_to_html("# Card\n\n## Data\n\n###### Deep")
    assert "<h2>Card</h2>" in html
    assert "<h3>Data</h3>" in html
    assert "<h6>Deep</h6>" in html
    assert "<h1" not in html


def test_tables_bold_lists_and_code_are_rendered():
    html = markdown_to_html(
        f"**bold** and *em*\n\n{TABLE}\n- one\n- two\n\n```python\nx = 1\n```\n\nuse `code`"
    )
    assert "<strong>bold</strong>" in html
    assert "<em>em</em>" in html
    assert "<table>" in html
    assert "<th>stage</th>" in html
    assert "<td>1,500</td>" in html
    assert "<li>one</li>" in html
    assert "<pre><code>x = 1\n</code></pre>" in html
    assert "<code>code</code>" in html


def test_raw_script_is_shown_as_text_never_as_a_tag():
    html = markdown_to_html("hi <script>alert(1)</script>\n\n<script>\nalert(2)\n</script>")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_event_handler_attributes_never_reach_a_tag():
    html = markdown_to_html('<img src="x" onerror="alert(1)">\n\nand <b onclick="alert(2)">b</b>')
    assert not any("onerror" in tag or "onclick" in tag for tag in _tags(html))
    assert "<img" not in html


def test_javascript_links_lose_their_href():
    html = markdown_to_html("[click](javascript:alert(1)) [also](JaVaScRiPt:alert(2))")
    assert "javascript" not in html.lower()
    assert ">click</a>" in html


def test_links_keep_only_href_and_get_nofollow():
    html = markdown_to_html('[site](https://example.com "title")')
    assert html == '<p><a href="https://example.com" rel="nofollow noopener">site</a></p>'


def test_lora_syntax_in_a_description_stays_visible():
    html = markdown_to_html("Use it as <lora:Shapes Outline:1> in a prompt.")
    assert "&lt;lora:Shapes Outline:1&gt;" in html


def test_text_has_no_markdown_syntax_or_tags():
    text = markdown_to_text(f"# Card\n\n**Bold** claim, `code`.\n\n{TABLE}\n- item")
    assert text == "Card. Bold claim, code. stage steps vae 1,500 item"


def test_the_excerpt_renders_only_the_first_blocks_and_reads_as_the_whole_text_does():
    card = STARTER_CARD.read_text()
    excerpt = markdown_excerpt(card)
    assert len(excerpt) >= 160
    assert markdown_to_text(card).startswith(excerpt)
    assert len(excerpt) < len(markdown_to_text(card)) / 4


def test_text_ends_a_heading_with_a_full_stop():
    assert markdown_to_text("# Card\n\nA small model.") == "Card. A small model."
    assert markdown_to_text("## Why?\n\nBecause.") == "Why? Because."


def test_text_is_unescaped_for_the_template_to_escape_once():
    assert markdown_to_text("Fish & chips <lora:Ink:1>") == "Fish & chips <lora:Ink:1>"


def test_the_starter_model_card_renders_its_tables_and_leaks_no_syntax_into_its_excerpt():
    card = STARTER_CARD.read_text(encoding="utf-8")
    html = markdown_to_html(card)
    separator_rows = re.findall(r"^\|(?:\s*:?-+:?\s*\|)+\s*$", card, flags=re.MULTILINE)
    assert separator_rows
    assert html.count("<table>") == len(separator_rows)
    assert "|---" not in html
    text = markdown_to_text(card)
    assert not re.search(r"\*\*|\|---|^#|\s#", text)
