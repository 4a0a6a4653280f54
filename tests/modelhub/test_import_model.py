"""`manage.py import_model`: register a validated .safetensors file, or nothing at all."""

from __future__ import annotations

import hashlib
from io import StringIO
from pathlib import Path

import pytest
import torch
from django.conf import settings
from django.core.management import CommandError, call_command
from safetensors.torch import save_file

from modelhub.models import AIModel, ModelFile
from modelhub.selectors import versions_generatable

pytestmark = pytest.mark.django_db


@pytest.fixture
def lora_file(tmp_path) -> Path:
    path = tmp_path / "outline-style.safetensors"
    save_file({"lora_up.weight": torch.randn(8, 4)}, str(path))
    return path


def _import(path, member, *extra):
    out = StringIO()
    call_command(
        "import_model", str(path), "--type", "lora", "--base", "sd15",
        "--owner", member.username, *extra, stdout=out,
    )  # fmt: skip
    return out.getvalue()


def test_import_registers_the_file_with_its_hashes(lora_file, member):
    output = _import(lora_file, member)
    model_file = ModelFile.objects.select_related("version__model").get()
    expected = hashlib.sha256(lora_file.read_bytes()).hexdigest()
    assert model_file.sha256 == expected
    assert model_file.autov2 == expected[:10]
    assert model_file.size_bytes == lora_file.stat().st_size
    assert model_file.version.model.name == "outline-style"
    assert model_file.version.model.owner == member
    assert (Path(settings.MODELS_DIR) / model_file.path).read_bytes() == lora_file.read_bytes()
    assert expected[:10] in output


def test_invalid_file_registers_nothing_and_copies_nothing(tmp_path, member):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\xff" * 64)  # claims a header far larger than the format allows
    imported = Path(settings.MODELS_DIR) / "imported"
    before = set(imported.glob("*")) if imported.exists() else set()
    with pytest.raises(CommandError, match="100 MB"):
        _import(bad, member)
    assert not AIModel.objects.exists()
    after = set(imported.glob("*")) if imported.exists() else set()
    assert after == before


def test_the_same_file_twice_is_refused(lora_file, member):
    _import(lora_file, member)
    with pytest.raises(CommandError, match="already registered"):
        _import(lora_file, member, "--name", "another-name")
    assert ModelFile.objects.count() == 1


def test_unknown_owner_is_a_clear_error(lora_file):
    with pytest.raises(CommandError, match="No active member"):
        call_command(
            "import_model", str(lora_file), "--type", "lora", "--base", "sd15", "--owner", "ghost"
        )


def test_single_file_checkpoints_without_a_shipped_config_are_not_offered(tmp_path, member):
    path = tmp_path / "my-checkpoint.safetensors"
    save_file({"model.diffusion_model.w": torch.zeros(2)}, str(path))
    call_command(
        "import_model", str(path), "--type", "checkpoint", "--base", "tiny",
        "--owner", member.username, stdout=StringIO(),
    )  # fmt: skip
    assert AIModel.objects.filter(name="my-checkpoint").exists()
    assert not versions_generatable().filter(model__name="my-checkpoint").exists()


@pytest.mark.parametrize(("base", "native", "largest"), [("sd15", 512, 1024), ("sdxl", 1024, 2048)])
def test_imported_checkpoint_defaults_to_its_family_size(tmp_path, member, base, native, largest):
    path = tmp_path / f"{base}.safetensors"
    save_file({"model.diffusion_model.w": torch.zeros(2)}, str(path))
    call_command(
        "import_model", str(path), "--type", "checkpoint", "--base", base,
        "--owner", member.username, stdout=StringIO(),
    )  # fmt: skip
    version = AIModel.objects.get(name=base).versions.get()
    assert (version.default_width, version.default_height, version.max_size) == (
        native,
        native,
        largest,
    )
