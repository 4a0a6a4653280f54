"""`manage.py bootstrap`: the starter model and its LoRA registered once, usable at once."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from generation.services import job_submit
from modelhub.models import AIModel, ModelFile, ModelVersion
from modelhub.selectors import loras_for_base, version_default
from tools import starter

pytestmark = pytest.mark.django_db


def test_bootstrap_registers_the_starter_model_and_lora_once_and_the_tag_resolves(member):
    call_command("bootstrap", "--no-demo", stdout=StringIO())
    call_command("bootstrap", "--no-demo", stdout=StringIO())  # idempotent
    assert AIModel.objects.filter(is_builtin=True).count() == 2
    assert ModelFile.objects.count() == 2
    version = version_default()
    assert version is not None and version.model.name == starter.MODEL_NAME
    assert version.base_model == ModelVersion.BaseModel.SHAPES
    assert (version.default_width, version.default_height) == (starter.SIDE, starter.SIDE)
    # The card is the model's description on the hub.
    assert version.model.description == starter.MODEL_CARD.read_text(encoding="utf-8")
    lora = loras_for_base(base_model=version.base_model).get()
    assert lora.model.name == starter.LORA_NAME and lora.model.owner is None
    job = job_submit(
        user=member,
        model_version=version,
        prompt="<lora:shapes outline:0.8> a red circle on a blue background",
        enqueue=False,
    )
    assert job.loras[0]["name"] == starter.LORA_NAME and job.loras[0]["weight"] == 0.8


def test_bootstrap_reinstalls_starter_weights_that_differ_from_the_shipped_ones():
    call_command("bootstrap", "--no-demo", stdout=StringIO())
    installed = Path(settings.MODELS_DIR) / "builtin" / "visionary-shapes-v1"
    weights = installed / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(b"damaged")
    call_command("bootstrap", "--no-demo", stdout=StringIO())
    shipped = starter.MODEL_DIR / "unet" / "diffusion_pytorch_model.safetensors"
    assert weights.read_bytes() == shipped.read_bytes()
    assert ModelFile.objects.count() == 2


def test_bootstrap_publishes_demo_pictures_that_show_their_prompts():
    from PIL import Image as PILImage

    from gallery.models import Image
    from tools.starter.checker import picture_read

    call_command("bootstrap", stdout=StringIO())
    call_command("bootstrap", stdout=StringIO())  # idempotent: no second set
    pictures = {image.job.prompt: image for image in Image.objects.select_related("job")}
    assert len(pictures) == 4 and all(image.is_published for image in pictures.values())
    with pictures["a red circle on a blue background"].file.open("rb") as handle:
        reading = picture_read(PILImage.open(handle))
    assert (reading.colour, reading.background, reading.shape, reading.style) == (
        "red",
        "blue",
        "circle",
        "filled",
    )


def test_bootstrap_gives_the_starter_lora_a_preview_on_its_hub_page(client):
    from gallery.models import Image
    from modelhub.models import AIModel
    from tools.starter import LORA_NAME

    call_command("bootstrap", stdout=StringIO())
    lora = AIModel.objects.get(name=LORA_NAME, is_builtin=True)
    outlined = Image.objects.get(lora_uses__version__model=lora)
    assert outlined.lora_uses.get().weight == 1.0
    page = client.get(lora.get_absolute_url()).content.decode()
    assert "Pictures made with this model" in page
    assert outlined.get_absolute_url() in page
