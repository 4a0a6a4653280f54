"""The dtype pipelines load and run in: the policy per device, GENERATION_DTYPE, a real bf16 run on
this CPU, and the VAE kept in fp32 where fp16 overflows (SDXL). fp16 on CUDA cannot run here:
no GPU. fp16 does run on this CPU (torch 2.13), which the SDXL VAE test uses."""

from __future__ import annotations

import runpy

import pytest
import torch
from django.core.exceptions import ImproperlyConfigured

from generation.worker.engine.cache import pipeline_nbytes
from generation.worker.engine.loading import (
    DTYPES,
    UnsupportedDtype,
    pipeline_dtype,
    pipeline_finish,
    pipeline_load,
    vae_run_dtype,
)
from generation.worker.engine.runner import RenderRequest, Row, render
from tools.tiny_pipeline import tiny_pipeline_build, tiny_sdxl_pipeline_build

F32, F16, BF16 = torch.float32, torch.float16, torch.bfloat16
REFUSED = UnsupportedDtype


@pytest.mark.parametrize(
    ("device", "override", "bf16_supported", "expected"),
    [
        # The CPU: fp32 unless bf16 is asked for; fp16 refused.
        ("cpu", None, True, F32),
        ("cpu", "auto", True, F32),
        ("cpu", "fp32", True, F32),
        ("cpu", "bf16", True, BF16),
        ("cpu", "fp16", True, REFUSED),
        ("cpu", None, False, F32),
        ("cpu", "auto", False, F32),
        ("cpu", "fp32", False, F32),
        ("cpu", "bf16", False, REFUSED),
        ("cpu", "fp16", False, REFUSED),
        # CUDA (any index): fp16 unless told otherwise; bf16 only where the GPU has it.
        ("cuda", None, True, F16),
        ("cuda", "auto", True, F16),
        ("cuda:1", "auto", True, F16),
        ("cuda", "fp16", True, F16),
        ("cuda", "fp32", True, F32),
        ("cuda", "bf16", True, BF16),
        ("cuda:1", "bf16", True, BF16),
        ("cuda", None, False, F16),
        ("cuda", "auto", False, F16),
        ("cuda", "fp16", False, F16),
        ("cuda", "fp32", False, F32),
        ("cuda", "bf16", False, REFUSED),
        # Another accelerator: as CUDA.
        ("mps", "auto", False, F16),
        ("mps", "fp32", False, F32),
        ("mps", "bf16", False, REFUSED),
        ("mps", "bf16", True, BF16),
    ],
)
def test_dtype_policy_per_device(device, override, bf16_supported, expected):
    if expected is REFUSED:
        with pytest.raises(UnsupportedDtype):
            pipeline_dtype(device, override, bf16_supported=bf16_supported)
    else:
        assert pipeline_dtype(device, override, bf16_supported=bf16_supported) == expected


@pytest.mark.parametrize("override", ["fp64", "half", "FP16", ""])
def test_dtype_policy_refuses_names_it_does_not_know(override):
    if override == "":
        assert pipeline_dtype("cuda", override, bf16_supported=True) == F16  # unset: auto
        return
    with pytest.raises(UnsupportedDtype, match="unknown dtype"):
        pipeline_dtype("cuda", override, bf16_supported=True)


def _settings_with(monkeypatch, value: str | None) -> dict:
    if value is None:
        monkeypatch.delenv("GENERATION_DTYPE", raising=False)
    else:
        monkeypatch.setenv("GENERATION_DTYPE", value)
    return runpy.run_module("visionary.settings.base")


def test_generation_dtype_setting_defaults_to_auto_and_reads_each_value(monkeypatch):
    assert _settings_with(monkeypatch, None)["GENERATION_DTYPE"] == "auto"
    for value, expected in (("bf16", "bf16"), (" FP16 ", "fp16"), ("fp32", "fp32"), ("", "auto")):
        assert _settings_with(monkeypatch, value)["GENERATION_DTYPE"] == expected


def test_generation_dtype_setting_rejects_another_value(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="GENERATION_DTYPE must be one of"):
        _settings_with(monkeypatch, "float16")


def test_generation_dtype_choices_are_the_policys_names(settings):
    assert set(settings.GENERATION_DTYPES) == {"auto", *DTYPES}


@pytest.fixture
def worker_runtime():
    from generation.worker import runtime

    runtime.model_dtype.cache_clear()
    yield runtime
    runtime.model_dtype.cache_clear()


def test_worker_dtype_follows_the_settings(worker_runtime, settings):
    settings.GENERATION_DEVICE = "cpu"
    settings.GENERATION_DTYPE = "bf16"
    assert worker_runtime.model_dtype() == BF16
    worker_runtime.model_dtype.cache_clear()
    settings.GENERATION_DTYPE = "auto"
    assert worker_runtime.model_dtype() == F32


def test_worker_dtype_the_device_cannot_run_is_a_configuration_error(worker_runtime, settings):
    settings.GENERATION_DEVICE = "cpu"
    settings.GENERATION_DTYPE = "fp16"
    with pytest.raises(ImproperlyConfigured, match="GENERATION_DTYPE=fp16"):
        worker_runtime.model_dtype()


def _request(**overrides) -> RenderRequest:
    values = {
        "rows": (Row("a red circle, (blue square:1.3)", "blurry", seed=3, count=2),),
        "steps": 3,
        "cfg_scale": 7.0,
        "width": 64,
        "height": 64,
        "sampler": "Euler a",
    }
    return RenderRequest(**(values | overrides))


def _decoded(pipe) -> list[torch.Tensor]:
    """What the VAE decoder returns during a call, and its weights' dtype at that moment."""
    seen: list[torch.Tensor] = []

    def record(module, args, output):
        seen.append(output.detach().clone())
        seen.append(torch.empty(0, dtype=next(module.parameters()).dtype))

    pipe.vae.decoder.register_forward_hook(record)
    return seen


def test_tiny_pipeline_loaded_in_bf16_runs_on_this_cpu_to_a_finite_picture(tiny_model_dir):
    fp32 = pipeline_load(tiny_model_dir)
    pipe = pipeline_load(tiny_model_dir, dtype=BF16)
    dtypes = {
        tensor.dtype
        for name in ("unet", "vae", "text_encoder")
        for tensor in getattr(pipe, name).parameters()
    }
    assert dtypes == {BF16}
    # The cache counts bytes from the tensors: a bf16 pipeline holds half of them (integer
    # buffers, such as CLIP's position ids, keep their size).
    assert pipeline_nbytes(pipe) == pytest.approx(pipeline_nbytes(fp32) / 2, rel=1e-3)
    seen = _decoded(pipe)
    (pictures,) = render(pipe, _request())
    decoded, weights = seen
    assert decoded.dtype == BF16 and weights.dtype == BF16
    assert torch.isfinite(decoded).all()
    assert len(pictures) == 2 and pictures[0].size == (64, 64)
    low, high = pictures[0].convert("L").getextrema()
    assert high > low  # not a flat (black) picture
    assert vae_run_dtype(pipe) == BF16  # an SD 1.x VAE runs in the pipeline's own dtype


@pytest.fixture(scope="module")
def sdxl_fp16():
    built = tiny_sdxl_pipeline_build(seed=0, sample_size=64).to(dtype=F16)
    # As an SDXL checkpoint whose config forgot the flag: the loader must set it.
    built.vae.register_to_config(force_upcast=False)
    return pipeline_finish(built)


def test_sdxl_vae_in_fp16_is_marked_to_run_in_fp32(sdxl_fp16):
    assert sdxl_fp16.vae.config.force_upcast is True
    assert sdxl_fp16.vae.dtype == F16  # stored in half: the cache counts half the bytes
    assert vae_run_dtype(sdxl_fp16) == F32


def test_sdxl_vae_decodes_in_fp32_under_an_fp16_unet(sdxl_fp16):
    seen = _decoded(sdxl_fp16)
    render(sdxl_fp16, _request(rows=(Row("a red circle", "", seed=1),), steps=2))
    decoded, weights = seen
    assert weights.dtype == F32 and decoded.dtype == F32
    assert torch.isfinite(decoded).all()
    assert sdxl_fp16.vae.dtype == F16  # back in half once the call is over
    sdxl_fp16.vae.decoder._forward_hooks.clear()


def test_a_vae_left_in_fp32_by_a_failed_call_is_restored_before_the_next(sdxl_fp16):
    sdxl_fp16.vae.to(F32)  # as if the last decode ran out of memory
    (pictures,) = render(sdxl_fp16, _request(rows=(Row("a red circle", "", seed=1),), steps=1))
    assert len(pictures) == 1 and sdxl_fp16.vae.dtype == F16


def test_sd1_vae_is_not_upcast_and_fp32_pipelines_are_untouched():
    sd1 = pipeline_finish(tiny_pipeline_build(seed=0, sample_size=64).to(dtype=F16))
    assert vae_run_dtype(sd1) == F16
    sdxl = pipeline_finish(tiny_sdxl_pipeline_build(seed=0, sample_size=64))
    assert sdxl.vae.dtype == F32 and vae_run_dtype(sdxl) == F32
