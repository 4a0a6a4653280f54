from __future__ import annotations

import io

import factory
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image as PILImage

from gallery.models import Image
from tests.accounts.factories import UserFactory


def png_bytes(size: int = 64, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


class ImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Image

    owner = factory.SubFactory(UserFactory)
    file = factory.LazyFunction(lambda: ContentFile(png_bytes(), name="picture.png"))
    width = 64
    height = 64
    prompt = factory.Sequence(lambda n: f"a red circle number {n}")
    seed = 1
    steps = 20
    sampler = "Euler a"
    cfg_scale = 7.0
    infotext = factory.LazyAttribute(lambda o: f"{o.prompt}\nSteps: 20, Sampler: Euler a")
    is_published = False

    class Params:
        published = factory.Trait(
            is_published=True, published_at=factory.LazyFunction(timezone.now)
        )
