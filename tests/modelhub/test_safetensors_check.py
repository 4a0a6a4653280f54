"""Header validation of uploaded weights: only well-formed .safetensors, nothing unpickled."""

from __future__ import annotations

import json
import pickle
import struct

import pytest
import torch
from safetensors.torch import save_file

from modelhub.safetensors_check import InvalidModelFile, safetensors_header_validate


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "lora.safetensors"
    save_file({"a": torch.zeros(2, 3), "b": torch.ones(4, dtype=torch.float16)}, str(path))
    return path


def _raw(tmp_path, header: object, data: bytes = b"", *, name="bad.safetensors", length=None):
    encoded = json.dumps(header).encode() if not isinstance(header, bytes) else header
    path = tmp_path / name
    size = len(encoded) if length is None else length
    path.write_bytes(struct.pack("<Q", size) + encoded + data)
    return path


def test_a_real_safetensors_file_passes(good_file):
    header = safetensors_header_validate(good_file)
    assert set(header) >= {"a", "b"}


def test_pickled_checkpoints_are_refused_without_being_read(tmp_path):
    path = tmp_path / "model.ckpt"
    path.write_bytes(pickle.dumps({"state_dict": {}}))
    with pytest.raises(InvalidModelFile, match=r"Only \.safetensors"):
        safetensors_header_validate(path)


def test_too_short_file(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes(b"\x01\x02")
    with pytest.raises(InvalidModelFile, match="too short"):
        safetensors_header_validate(path)


def test_header_length_beyond_the_format_limit(tmp_path):
    with pytest.raises(InvalidModelFile, match="100 MB"):
        safetensors_header_validate(_raw(tmp_path, {}, length=200 * 1024 * 1024))


def test_header_running_past_the_end(tmp_path):
    with pytest.raises(InvalidModelFile, match="past the end"):
        safetensors_header_validate(_raw(tmp_path, {}, length=10_000))


def test_header_that_is_not_json(tmp_path):
    with pytest.raises(InvalidModelFile, match="not valid JSON"):
        safetensors_header_validate(_raw(tmp_path, b"{not json"))


def test_offsets_outside_the_file(tmp_path):
    header = {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
    with pytest.raises(InvalidModelFile, match="outside the file"):
        safetensors_header_validate(_raw(tmp_path, header, b"\x00" * 8))


def test_size_not_matching_the_shape(tmp_path):
    header = {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}
    with pytest.raises(InvalidModelFile, match="does not match"):
        safetensors_header_validate(_raw(tmp_path, header, b"\x00" * 16))


def test_overlapping_tensors(tmp_path):
    header = {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
    }
    with pytest.raises(InvalidModelFile, match="overlaps"):
        safetensors_header_validate(_raw(tmp_path, header, b"\x00" * 12))


def test_unknown_dtype(tmp_path):
    header = {"w": {"dtype": "PICKLE", "shape": [1], "data_offsets": [0, 1]}}
    with pytest.raises(InvalidModelFile, match="unknown dtype"):
        safetensors_header_validate(_raw(tmp_path, header, b"\x00"))
