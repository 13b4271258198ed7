"""Read and write safetensors files with numpy, and the packed 2-bit BitNet layout.

File layout: an 8-byte little-endian header length N, N bytes of JSON mapping each
tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to
the end of the header), optionally "__metadata__", then the raw little-endian data.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np

DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "BF16": np.uint16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "U16": np.uint16,
    "U32": np.uint32,
    "U64": np.uint64,
    "BOOL": np.bool_,
}
NUMPY_TO_DTYPE = {np.dtype(v): k for k, v in DTYPES.items() if k != "BF16"}
MAX_HEADER_BYTES = 100 * 2**20


def read_safetensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """Return (name -> array, metadata) of a safetensors file.

    BF16 tensors are widened to float32. Raises ValueError when the file is
    truncated or its header is malformed.
    """
    path = Path(path)
    raw = path.read_bytes()
    if len(raw) < 8:
        raise ValueError(
            f"{path}: {len(raw)} bytes is too short for a safetensors "
            "header; the file is truncated"
        )
    (n_header,) = struct.unpack("<Q", raw[:8])
    if n_header > min(MAX_HEADER_BYTES, len(raw) - 8):
        raise ValueError(
            f"{path}: header length {n_header} exceeds the file size "
            f"{len(raw)}; the file is truncated or not safetensors"
        )
    try:
        header = json.loads(raw[8 : 8 + n_header])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise ValueError(f"{path}: header must be a JSON object, got {type(header)}")  # noqa: TRY004
    metadata = header.pop("__metadata__", {}) or {}
    data = memoryview(raw)[8 + n_header :]
    tensors = {}
    for name, info in header.items():
        tensors[name] = _tensor(path, name, info, data)
    return tensors, metadata


def _tensor(path: Path, name: str, info: dict, data: memoryview) -> np.ndarray:
    try:
        dtype_name, shape = info["dtype"], [int(d) for d in info["shape"]]
        begin, end = (int(o) for o in info["data_offsets"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: tensor {name!r} has a malformed header entry {info!r}"
        ) from exc
    if dtype_name not in DTYPES:
        raise ValueError(
            f"{path}: tensor {name!r} has unsupported dtype "
            f"{dtype_name}; supported: {sorted(DTYPES)}"
        )
    dtype = np.dtype(DTYPES[dtype_name]).newbyteorder("<")
    expected = math.prod(shape) * dtype.itemsize
    if not 0 <= begin <= end or end - begin != expected:
        raise ValueError(
            f"{path}: tensor {name!r} spans bytes [{begin}, {end}) but "
            f"{dtype_name}{shape} needs {expected}"
        )
    if end > len(data):
        raise ValueError(
            f"{path}: tensor {name!r} ends at byte {end} but the data "
            f"section has {len(data)} bytes; the file is truncated"
        )
    array = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape)
    if dtype_name == "BF16":
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(array.dtype.newbyteorder("="), copy=True)


def write_safetensors(
    path: str | Path,
    tensors: dict[str, np.ndarray],
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write numpy arrays as a safetensors file (no BF16 output)."""
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("=")
        if dtype not in NUMPY_TO_DTYPE:
            raise ValueError(
                f"tensor {name!r}: dtype {array.dtype} has no safetensors code"
            )
        blob = array.astype(dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": NUMPY_TO_DTYPE[dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path = Path(path)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    return path


def pack_ternary(w: np.ndarray) -> np.ndarray:
    """Pack a ternary (out, in) matrix into uint8 (ceil(out / 4), in).

    The layout of Hugging Face transformers' BitNet integration: each weight is
    stored as w + 1 (0, 1, 2) in two bits, and bit pair i (bits 2i, 2i+1) of packed
    row r contains original row i * ceil(out / 4) + r.
    """
    w = np.asarray(w)
    out_features = w.shape[0]
    packed_rows = -(-out_features // 4)
    packed = np.zeros((packed_rows, *w.shape[1:]), np.uint8)
    codes = (w + 1).astype(np.uint8)
    for i in range(4):
        block = codes[i * packed_rows : (i + 1) * packed_rows]
        packed[: len(block)] |= block << (2 * i)
    return packed


def unpack_ternary(packed: np.ndarray, out_features: int | None = None) -> np.ndarray:
    """Unpack pack_ternary's layout to int8 (out_features, in); 2-bit code 3 is
    invalid and raises ValueError."""
    packed = np.asarray(packed)
    if packed.dtype != np.uint8:
        raise ValueError(f"packed ternary weights must be uint8, got {packed.dtype}")
    rows = packed.shape[0]
    out_features = 4 * rows if out_features is None else out_features
    if not 4 * rows - 3 <= out_features <= 4 * rows:
        raise ValueError(
            f"out_features={out_features} does not fit {rows} packed "
            f"rows (allowed {4 * rows - 3}..{4 * rows})"
        )
    codes = np.concatenate([(packed >> (2 * i)) & 3 for i in range(4)], axis=0)
    codes = codes[:out_features]
    if np.any(codes == 3):
        raise ValueError(
            "packed weights contain the 2-bit code 3, which is not a "
            "ternary value (valid codes: 0 = -1, 1 = 0, 2 = +1)"
        )
    return codes.astype(np.int8) - 1
