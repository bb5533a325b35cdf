"""Read and write IDX files, the format of MNIST and Fashion-MNIST.

Layout: a 4-byte magic number ``00 00 TT NN`` (``TT`` = element type code, ``NN`` = number of
dimensions), then ``NN`` big-endian uint32 sizes, then the elements in C order, big-endian.
See http://yann.lecun.com/exdb/mnist/ (section "The IDX file format").

The header is validated strictly so that a truncated download or a wrong file fails here with a
message naming the file, instead of as a confusing reshape error in a student's notebook.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from gpukit_student.errors import DatasetError

GZIP_MAGIC = b"\x1f\x8b"

# Type codes from the IDX specification; multi-byte types are big-endian on disk.
_CODE_TO_DTYPE: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_KIND_SIZE_TO_CODE = {
    (dt.kind, dt.itemsize): code for code, dt in _CODE_TO_DTYPE.items()
}

# Generic; the loader replaces it with the exact command for the dataset and directory.
_REDOWNLOAD_HINT = (
    "Delete the file and download it again "
    "(for a gpukit dataset: `gpukit-data fetch NAME --data-dir DIR`)."
)


def is_gzip(data: bytes) -> bool:
    """True if ``data`` starts with the gzip magic bytes (IDX data always starts with 00 00)."""
    return data[:2] == GZIP_MAGIC


def decompress(raw: bytes, *, source: str = "<bytes>") -> bytes:
    """Gunzip ``raw`` if it is gzip data, else return it unchanged; corrupt gzip -> DatasetError."""
    if not is_gzip(raw):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DatasetError(
            f"{source} is not a valid gzip file ({exc}); it is probably truncated or corrupt.",
            hint=_REDOWNLOAD_HINT,
        ) from None


def parse_idx(data: bytes, *, source: str = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX bytes into an array in native byte order.

    For single-byte types (MNIST's uint8) the result is a read-only view of ``data``: no copy is
    made, so call ``.copy()`` before writing to it. ``source`` names the file in error messages.
    """
    dtype, shape, offset = _parse_header(data, source)
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - offset
    if actual != expected:
        dims = " x ".join(str(d) for d in shape)
        raise DatasetError(
            f"{source}: the IDX header describes {dims} elements of {dtype.name} "
            f"({expected} bytes of data) but the file holds {actual} bytes after the header; "
            "it is truncated or not the file it claims to be.",
            hint=_REDOWNLOAD_HINT,
        )
    array = np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)
    # Convert big-endian multi-byte data to native order so numpy/torch treat it normally.
    return array.astype(dtype.newbyteorder("="), copy=False)


def _parse_header(data: bytes, source: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """Validate the magic number and dimensions; return (dtype, shape, data offset)."""
    if len(data) < 4:
        raise DatasetError(
            f"{source} is too short to be an IDX file ({len(data)} bytes).",
            hint=_REDOWNLOAD_HINT,
        )
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise DatasetError(
            f"{source} is not an IDX file: bad magic number 0x{data[:4].hex()} "
            "(an IDX file starts with two zero bytes).",
            hint=_REDOWNLOAD_HINT,
        )
    if code not in _CODE_TO_DTYPE:
        known = ", ".join(f"0x{c:02X}" for c in _CODE_TO_DTYPE)
        raise DatasetError(
            f"{source}: unsupported IDX element type code 0x{code:02X} (supported: {known}).",
            hint=_REDOWNLOAD_HINT,
        )
    if ndim == 0:
        raise DatasetError(
            f"{source}: the IDX header declares 0 dimensions.", hint=_REDOWNLOAD_HINT
        )
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise DatasetError(
            f"{source}: the IDX header declares {ndim} dimensions but the file ends inside it.",
            hint=_REDOWNLOAD_HINT,
        )
    shape = struct.unpack(f">{ndim}I", data[4:offset])
    return _CODE_TO_DTYPE[code], tuple(shape), offset


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, plain or gzip-compressed (detected from its first bytes)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"Could not read {path}: {exc.strerror or exc}.") from None
    return parse_idx(decompress(raw, source=str(path)), source=str(path))


def encode_idx(array: np.ndarray) -> bytes:
    """Serialize ``array`` (uint8, int8, int16, int32, float32 or float64) as IDX bytes."""
    array = np.asarray(array)
    code = _KIND_SIZE_TO_CODE.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got {array.ndim}")
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=_CODE_TO_DTYPE[code]).tobytes()


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file; gzip it when ``path`` ends with ``.gz``.

    The gzip header's timestamp is fixed at 0 so the same array always gives the same bytes,
    and therefore the same checksum.
    """
    path = Path(path)
    data = encode_idx(array)
    if path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path
