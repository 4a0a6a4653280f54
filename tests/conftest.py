"""Shared fixtures: members, the built-in tiny model (built once per run), a clean cache.

Torch is imported only by the fixtures that build or run a pipeline: a test that needs none
starts in about a second, as a web process does."""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from channels.layers import channel_layers
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from PIL import Image as PILImage

from accounts.models import User
from modelhub.models import ModelVersion
from modelhub.services import model_import_safetensors, model_register_diffusers
from moderation.models import FilterTerm
from tests.accounts.factories import UserFactory

TINY_SIZE = 64


def _clear_own_cache_keys() -> None:
    # On a shared Redis, clear() would FLUSHDB everyone's keys: delete only this run's prefix.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    _clear_own_cache_keys()
    yield
    _clear_own_cache_keys()


@pytest.fixture(autouse=True)
def _fresh_channel_layer() -> Iterator[None]:
    """Every test gets its own channel layer. channels_redis keeps receive locks, buffers and
    cleaner tasks on the layer, tied to the event loop that used them, and pytest-asyncio gives
    each test a new loop: a layer shared across tests can leave one waiting on a dead loop."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pipeline saved once per test run under settings.MODELS_DIR."""
    from tools.tiny_pipeline import tiny_pipeline_save  # loads torch: only tests that need it

    source = tmp_path_factory.mktemp("tiny") / "pipeline"
    tiny_pipeline_save(source, seed=0, sample_size=TINY_SIZE)
    target = Path(settings.MODELS_DIR) / "test" / "tiny"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target


@pytest.fixture
def tiny_version(db: None, tiny_model_dir: Path) -> ModelVersion:
    return model_register_diffusers(
        name="Test Tiny",
        version_name="v1",
        directory=tiny_model_dir,
        base_model=ModelVersion.BaseModel.TINY,
        is_builtin=True,
        is_default=True,
        default_size=TINY_SIZE,
        max_size=256,
    )


@pytest.fixture(scope="session")
def tiny_lora_file(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A LoRA (UNet + text encoder, seeded random deltas) for the tiny pipeline."""
    from tools.tiny_pipeline import tiny_lora_save

    return tiny_lora_save(
        tiny_model_dir, tmp_path_factory.mktemp("lora") / "test-ink.safetensors", seed=1
    )


@pytest.fixture
def tiny_lora(db: None, tiny_lora_file: Path, tiny_version: ModelVersion) -> ModelVersion:
    """The LoRA registered in the hub as "Test Ink", as `manage.py import_model` does."""
    return model_import_safetensors(
        path=tiny_lora_file,
        model_type="lora",
        base_model=ModelVersion.BaseModel.TINY,
        owner=None,
        name="Test Ink",
    )


@pytest.fixture(scope="session", autouse=True)
def _fresh_model_cache() -> Iterator[None]:
    yield
    runtime = sys.modules.get("generation.worker.runtime")  # loaded by tests that ran a job
    if runtime is not None:
        runtime.model_cache().clear()


@pytest.fixture
def png_bytes() -> bytes:
    """A small real PNG (a red square on blue), e.g. an img2img starting picture."""
    picture = PILImage.new("RGB", (96, 80), (30, 60, 200))
    picture.paste((220, 30, 30), (24, 16, 72, 64))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def member(db: None) -> User:
    user: User = UserFactory()
    return user


@pytest.fixture
def member_client(client: Client, member: User) -> Client:
    client.force_login(member)
    return client


@pytest.fixture
def filter_terms(db: None) -> list[FilterTerm]:
    """The prompt filter with a small list of our own, so tests do not hang on the shipped
    starting list (which its own tests and the quality benchmark measure)."""
    FilterTerm.objects.all().delete()
    rows = [
        ("porn*", "sexual", "block"),
        ("nude", "sexual", "combine"),
        ("little girl", "minors", "combine"),
        ("decapitated", "violence", "block"),
        ("nazi", "hate", "flag"),
        ("色情", "sexual", "block"),
    ]
    return [
        FilterTerm.objects.create(term=term, category=category, action=action)
        for term, category, action in rows
    ]
