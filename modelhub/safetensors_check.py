"""Validate a .safetensors file's header before anything is registered. Nothing is unpickled:
only the 8-byte length, the JSON header and the tensor offsets are read.

Format: u64 little-endian N, then N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets}},
then the tensor bytes; offsets are relative to the end of the header."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from visionary.errors import Invalid

# The safetensors format itself caps the header at 100 MB.
MAX_HEADER_BYTES = 100 * 1024 * 1024
DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


class InvalidModelFile(Invalid):
    """The file is not a well-formed .safetensors file; the message says what is wrong."""


def safetensors_header_validate(path: Path) -> dict[str, Any]:
    """Return the parsed header (tensors and __metadata__) or raise InvalidModelFile."""
    if path.suffix.lower() != ".safetensors":
        raise InvalidModelFile(_("Only .safetensors files are accepted (never pickled .ckpt/.pt)."))
    size = path.stat().st_size
    if size < 8:
        raise InvalidModelFile(_("The file is too short to be a .safetensors file."))
    with path.open("rb") as fh:
        (header_len,) = struct.unpack("<Q", fh.read(8))
        if header_len > MAX_HEADER_BYTES:
            raise InvalidModelFile(_("The header is larger than the 100 MB the format allows."))
        if 8 + header_len > size:
            raise InvalidModelFile(_("The header runs past the end of the file."))
        raw = fh.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidModelFile(_("The header is not valid JSON.")) from exc
    if not isinstance(header, dict):
        raise InvalidModelFile(_("The header is not a JSON object."))
    data_len = size - 8 - header_len
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict):
                raise InvalidModelFile(_("__metadata__ must be an object of strings."))
            continue
        spans.append(_tensor_span(name, info, data_len))
    if not spans:
        raise InvalidModelFile(_("The file holds no tensors."))
    spans.sort()
    expected_start = 0
    for begin, end, name in spans:
        if begin != expected_start:
            raise InvalidModelFile(
                _("Tensor %(name)s overlaps another or leaves a gap.") % {"name": name}
            )
        expected_start = end
    if expected_start != data_len:
        raise InvalidModelFile(_("The tensor data does not fill the file exactly."))
    return header


def _tensor_span(name: str, info: Any, data_len: int) -> tuple[int, int, str]:
    if not isinstance(info, dict):
        raise InvalidModelFile(_("Tensor %(name)s has no description.") % {"name": name})
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in DTYPE_BYTES:
        raise InvalidModelFile(_("Tensor %(name)s has an unknown dtype.") % {"name": name})
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise InvalidModelFile(_("Tensor %(name)s has an invalid shape.") % {"name": name})
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_len
    ):
        raise InvalidModelFile(_("Tensor %(name)s points outside the file.") % {"name": name})
    if offsets[1] - offsets[0] != math.prod(shape) * DTYPE_BYTES[dtype]:
        raise InvalidModelFile(
            _("Tensor %(name)s: its size does not match its shape.") % {"name": name}
        )
    return offsets[0], offsets[1], name
