"""Single-file checkpoints: the original SD key layout loads offline through a config dir, weight
for weight, and the shipped config dirs describe the real SD 1.5 / 2.1 / SDXL architectures."""

from __future__ import annotations

import importlib
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline
from safetensors import safe_open

from generation.worker.engine import single_file
from generation.worker.engine.loading import pipeline_load
from generation.worker.engine.runner import TextToImage, text_to_image
from generation.worker.engine.single_file import (
    CONFIGS_DIR,
    SINGLE_FILE_PIPELINES,
    UnsupportedSingleFileBase,
    pipeline_load_file,
    pipeline_load_single_file,
)
from modelhub.models import AIModel, ModelFile, ModelVersion
from modelhub.selectors import SINGLE_FILE_BASE_MODELS, versions_generatable
from tests.generation.worker.sd_export import config_dir_copy, pipeline_export_single_file
from tests.modelhub.factories import ModelFileFactory

CLIP_TOKENIZER_ASSETS = Path(__file__).resolve().parents[3] / "modelhub/assets/clip-tokenizer"
COMPONENTS = ("unet", "vae", "text_encoder")


@pytest.fixture(scope="module")
def tiny_single_file(
    tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """The tiny pipeline as one SD 1.x-layout .safetensors file, and its config dir (no weights)."""
    root = tmp_path_factory.mktemp("single-file")
    checkpoint = pipeline_export_single_file(
        pipeline_load(tiny_model_dir), root / "tiny.safetensors"
    )
    return checkpoint, config_dir_copy(tiny_model_dir, root / "config")


@pytest.fixture(scope="module")
def folder_pipe(tiny_model_dir: Path) -> Any:
    return pipeline_load(tiny_model_dir)


@pytest.fixture(scope="module")
def single_file_pipe(tiny_single_file: tuple[Path, Path]) -> Any:
    checkpoint, config_dir = tiny_single_file
    return pipeline_load_single_file(checkpoint, base_model="sd15", config_dir=config_dir)


@pytest.fixture
def hub_forbidden(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every hub download entry point (wherever it was imported to) and every socket connection
    records the attempt and fails; the test asserts the record stays empty, so an attempt that a
    library catches and falls back from is still seen."""
    attempts: list[str] = []

    def refuse(name: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> Any:
            attempts.append(name)
            raise OSError(f"{name} called during an offline load")

        return refused

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for module in list(sys.modules.values()):
        # vars(), not getattr(): lazy modules (transformers') would import on attribute access.
        names = getattr(module, "__dict__", {})
        for name in ("hf_hub_download", "snapshot_download", "model_info"):
            found = names.get(name)
            if callable(found) and getattr(found, "__module__", "").startswith("huggingface_hub"):
                monkeypatch.setattr(module, name, refuse(name))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    yield attempts


def _params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return dict(module.state_dict())


def test_single_file_export_uses_the_original_sd_key_layout(tiny_single_file):
    checkpoint, _ = tiny_single_file
    with safe_open(str(checkpoint), framework="pt") as handle:
        keys = set(handle.keys())
    prefixes = {key.split(".")[0] for key in keys}
    assert {"model", "first_stage_model", "cond_stage_model"} <= prefixes
    assert "model.diffusion_model.input_blocks.0.0.weight" in keys
    assert "first_stage_model.decoder.mid.attn_1.q.weight" in keys
    assert "cond_stage_model.transformer.text_model.final_layer_norm.weight" in keys


def test_every_weight_of_a_single_file_loads_into_the_pipeline(folder_pipe, single_file_pipe):
    assert isinstance(single_file_pipe, StableDiffusionPipeline)
    for component in COMPONENTS:
        expected = _params(getattr(folder_pipe, component))
        got = _params(getattr(single_file_pipe, component))
        assert got.keys() == expected.keys(), component
        # Equal tensors everywhere: no weight left at its random (or meta) initialisation.
        different = [k for k in expected if not torch.equal(got[k], expected[k])]
        assert different == [], f"{component}: {different[:5]}"


def test_single_file_pipeline_draws_the_same_pixels_as_the_folder(folder_pipe, single_file_pipe):
    request = TextToImage(
        prompt="a lighthouse at dusk, oil painting",
        negative_prompt="blurry",
        steps=2,
        cfg_scale=7.0,
        width=64,
        height=64,
        sampler="Euler a",
        seed=1234,
        clip_skip=2,
    )
    expected = np.asarray(text_to_image(folder_pipe, request)[0])
    got = np.asarray(text_to_image(single_file_pipe, request)[0])
    assert got.shape == (64, 64, 3)
    assert np.array_equal(got, expected)


def test_single_file_loads_without_touching_the_hub(tiny_single_file, hub_forbidden):
    checkpoint, config_dir = tiny_single_file
    loaded = pipeline_load_single_file(checkpoint, base_model="sd15", config_dir=config_dir)
    assert loaded.unet.conv_in.weight.device.type == "cpu"
    assert hub_forbidden == []


def test_loader_finishes_the_pipeline_like_the_folder_loader(tiny_single_file):
    checkpoint, config_dir = tiny_single_file
    loaded = pipeline_load_single_file(checkpoint, base_model="sd15", config_dir=config_dir)
    assert loaded.safety_checker is None
    assert loaded.base_scheduler_config == loaded.scheduler.config
    # The clip-skip shim: diffusers reaches the final layer norm through text_model.
    text_encoder = loaded.text_encoder
    assert text_encoder.text_model.final_layer_norm is text_encoder.final_layer_norm


def test_unknown_base_model_is_a_clear_error(tmp_path):
    with pytest.raises(UnsupportedSingleFileBase, match="'tiny'") as caught:
        pipeline_load_single_file(tmp_path / "x.safetensors", base_model="tiny")
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("file_format", "loader"),
    [("diffusers", "pipeline_load"), ("safetensors", "pipeline_load_single_file")],
)
def test_model_file_loads_through_the_loader_for_its_format(monkeypatch, file_format, loader):
    calls: list[tuple[str, Path, dict[str, Any]]] = []
    for name in ("pipeline_load", "pipeline_load_single_file"):
        monkeypatch.setattr(
            single_file,
            name,
            lambda path, _name=name, **kwargs: calls.append((_name, path, kwargs)),
        )
    version = ModelVersion(base_model=ModelVersion.BaseModel.SD21)
    model_file = ModelFile(version=version, format=file_format, path="imported/abc")
    pipeline_load_file(model_file, device="cpu")
    expected_kwargs: dict[str, Any] = {"device": "cpu"}
    if file_format == "safetensors":
        expected_kwargs["base_model"] = "sd21"
    assert calls == [(loader, model_file.local_path, expected_kwargs)]


# Parameter counts of the real models (figures published for SD 1.5, 2.1 and SDXL base 1.0; the
# SDXL OpenCLIP bigG/14 text encoder with projection worked out layer by layer: 694,659,840).
REAL_PARAMETER_COUNTS = [
    ("sd15", "unet", 859_520_964),
    ("sd15", "vae", 83_653_863),
    ("sd15", "text_encoder", 123_060_480),
    ("sd21", "unet", 865_910_724),
    ("sd21", "vae", 83_653_863),
    ("sd21", "text_encoder", 340_387_840),
    ("sdxl", "unet", 2_567_463_684),
    ("sdxl", "vae", 83_653_863),
    ("sdxl", "text_encoder", 123_060_480),
    ("sdxl", "text_encoder_2", 694_659_840),
]


def _model_index(base: str) -> dict[str, Any]:
    config: dict[str, Any] = SINGLE_FILE_PIPELINES[base].load_config(str(CONFIGS_DIR / base))
    return config


def _component_class(base: str, component: str) -> type[Any]:
    library, class_name = _model_index(base)[component]
    cls: type[Any] = getattr(importlib.import_module(library), class_name)
    return cls


@pytest.mark.parametrize(("base", "component", "expected"), REAL_PARAMETER_COUNTS)
def test_shipped_config_is_the_real_architecture(base, component, expected):
    cls = _component_class(base, component)
    directory = str(CONFIGS_DIR / base)
    with torch.device("meta"):  # the architecture without allocating a single weight
        if hasattr(cls, "config_class"):  # transformers
            config = cls.config_class.from_pretrained(
                directory, subfolder=component, local_files_only=True
            )
            model = cls(config)
        else:
            model = cls.from_config(cls.load_config(directory, subfolder=component))
    assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.parametrize("base", sorted(SINGLE_FILE_PIPELINES))
def test_shipped_config_dir_holds_configs_and_tokenizers_but_no_weights(base):
    directory = CONFIGS_DIR / base
    expected_class = StableDiffusionXLPipeline if base == "sdxl" else StableDiffusionPipeline
    index = _model_index(base)
    assert index["_class_name"] == expected_class.__name__
    assert not [p for p in directory.rglob("*") if p.suffix in {".safetensors", ".bin", ".ckpt"}]
    # What from_single_file reads from the dir for each component it builds.
    for component, entry in index.items():
        if not (isinstance(entry, list) and len(entry) == 2) or entry[0] is None:
            continue  # a pipeline option (force_zeros_for_empty_prompt...) or an absent part
        if component in {"safety_checker", "feature_extractor"}:
            continue  # passed as None: our own safety filter runs apart
        class_name = entry[1]
        cls = _component_class(base, component)
        if class_name.endswith("Tokenizer"):
            tokenizer = cls.from_pretrained(
                str(directory), subfolder=component, local_files_only=True
            )
            assert len(tokenizer) == 49408
            assert tokenizer.model_max_length == 77
        elif hasattr(cls, "config_class"):
            cls.config_class.from_pretrained(
                str(directory), subfolder=component, local_files_only=True
            )
        else:
            assert cls.load_config(str(directory), subfolder=component)["_class_name"] == class_name


@pytest.mark.parametrize(
    ("base", "component", "pad_id"),
    [
        ("sd15", "tokenizer", 49407),
        ("sd21", "tokenizer", 0),
        ("sdxl", "tokenizer", 49407),
        ("sdxl", "tokenizer_2", 0),
    ],
)
def test_shipped_tokenizers_share_the_clip_vocabulary_and_pad_like_the_originals(
    base, component, pad_id
):
    directory = CONFIGS_DIR / base / component
    for name in ("vocab.json", "merges.txt"):
        assert (directory / name).read_bytes() == (CLIP_TOKENIZER_ASSETS / name).read_bytes()
    tokenizer = _component_class(base, component).from_pretrained(str(directory))
    assert tokenizer.pad_token_id == pad_id  # OpenCLIP-based encoders pad with "!" (id 0)
    assert tokenizer("a cat").input_ids == [49406, 320, 2368, 49407]


def test_sd21_config_is_the_768_v_prediction_model():
    scheduler = DDIMScheduler.load_config(str(CONFIGS_DIR / "sd21"), subfolder="scheduler")
    assert scheduler["prediction_type"] == "v_prediction"


def test_shipped_config_dirs_load_and_are_all_offered_for_generation():
    shipped = {p.name for p in CONFIGS_DIR.iterdir() if p.is_dir()}
    assert shipped == set(SINGLE_FILE_PIPELINES)
    assert set(SINGLE_FILE_BASE_MODELS) == shipped


@pytest.mark.django_db
def test_single_file_checkpoint_of_a_shipped_base_is_generatable():
    model_file = ModelFileFactory(
        format=ModelFile.Format.SAFETENSORS, version__base_model=ModelVersion.BaseModel.SD15
    )
    assert model_file.version in versions_generatable()


@pytest.mark.django_db
def test_single_file_checkpoint_without_a_shipped_config_is_not_generatable():
    model_file = ModelFileFactory(
        format=ModelFile.Format.SAFETENSORS, version__base_model=ModelVersion.BaseModel.TINY
    )
    assert model_file.version not in versions_generatable()


@pytest.mark.django_db
def test_single_file_lora_is_not_generatable():
    model_file = ModelFileFactory(
        format=ModelFile.Format.SAFETENSORS,
        version__base_model=ModelVersion.BaseModel.SD15,
        version__model__type=AIModel.Type.LORA,
    )
    assert model_file.version not in versions_generatable()
