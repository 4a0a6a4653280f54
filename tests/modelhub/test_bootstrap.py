"""`manage.py bootstrap`: built-in model and LoRA registered once, usable at once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from generation.services import job_submit
from modelhub.models import AIModel, ModelFile
from modelhub.selectors import loras_for_base, version_default

pytestmark = pytest.mark.django_db


def test_bootstrap_registers_model_and_lora_once_and_the_tag_resolves(member):
    call_command("bootstrap", "--no-demo", stdout=StringIO())
    call_command("bootstrap", "--no-demo", stdout=StringIO())  # idempotent
    assert AIModel.objects.filter(is_builtin=True).count() == 2
    assert ModelFile.objects.count() == 2
    version = version_default()
    assert version is not None and version.model.name == "Visionary Tiny"
    lora = loras_for_base(base_model=version.base_model).get()
    assert lora.model.name == "Tiny Ink" and lora.model.owner is None
    job = job_submit(
        user=member, model_version=version, prompt="<lora:tiny ink:0.8> a cat", enqueue=False
    )
    assert job.loras[0]["name"] == "Tiny Ink" and job.loras[0]["weight"] == 0.8
