"""Model hub pages."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.gallery.factories import ImageFactory
from tests.modelhub.factories import AIModelFactory

pytestmark = pytest.mark.django_db


def test_a_models_page_shows_published_pictures_made_with_it_as_previews(client, tiny_version):
    shown = ImageFactory(published=True, model_version=tiny_version, prompt="a red circle preview")
    ImageFactory(model_version=tiny_version, prompt="a private picture")  # not published
    ImageFactory(published=True, prompt="made with another model")
    url = reverse("modelhub:detail", args=[tiny_version.model_id])
    page = client.get(url).content.decode()
    assert "Pictures made with this model" in page
    assert shown.get_absolute_url() in page
    assert "a private picture" not in page
    assert "made with another model" not in page


def test_a_model_without_published_pictures_has_no_previews_section(client, tiny_version):
    page = client.get(reverse("modelhub:detail", args=[tiny_version.model_id])).content.decode()
    assert "Pictures made with this model" not in page


def test_previews_cost_the_same_queries_however_many_there_are(
    client, tiny_version, django_assert_max_num_queries
):
    url = reverse("modelhub:detail", args=[tiny_version.model_id])
    ImageFactory(published=True, model_version=tiny_version)
    with django_assert_max_num_queries(50) as one:
        client.get(url)
    ImageFactory.create_batch(6, published=True, model_version=tiny_version)
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(url)


MODEL_CARD = """# Shapes card

A **small** model.

| stage | steps |
|---|---|
| vae | 1,500 |
"""


def test_the_detail_page_renders_the_markdown_description(client):
    model = AIModelFactory(description=MODEL_CARD + "\n<script>alert(1)</script>")
    page = client.get(reverse("modelhub:detail", args=[model.pk])).content.decode()
    assert "<h2>Shapes card</h2>" in page
    assert "<table>" in page  # the versions table below has class="table"
    assert "<strong>small</strong>" in page
    assert "<td>1,500</td>" in page
    assert "<script>alert(1)" not in page


def test_the_list_shows_a_plain_text_excerpt_of_the_description(client):
    AIModelFactory(name="Carded", description=MODEL_CARD + "\n" + "word " * 60)
    page = client.get(reverse("modelhub:list")).content.decode()
    excerpt = re.search(r"<p>(Shapes card\. .*?)</p>", page)
    assert excerpt is not None
    assert excerpt.group(1).startswith("Shapes card. A small model. stage steps vae 1,500 word")
    assert excerpt.group(1).endswith("…")
    assert not re.search(r"[*|#]", excerpt.group(1))
