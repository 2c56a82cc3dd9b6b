"""The IDX format of MNIST and Fashion-MNIST (LeCun et al.), read from the files users download."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..errors import DataError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# Far above the real sets (MNIST's training images: 47 MB); a header promising more is refused before reading.
MAX_BYTES = 4 << 30


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (optionally gzipped) as an array; damaged files raise DataError naming the file.

    Streamed: the header is read first and at most the bytes it promises (plus one, to notice extra data) are
    decompressed, so a gzip bomb or a header claiming terabytes costs no memory."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _DTYPES:
                raise DataError(f"{path} is not an IDX file (bad magic number)")
            ndim = head[3]
            dims = f.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise DataError(f"{path} is truncated (header)")
            shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(ndim))
            dtype = np.dtype(_DTYPES[head[2]])
            expected = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize if shape else dtype.itemsize
            if expected > MAX_BYTES:
                raise DataError(f"{path}: its header promises {expected} bytes of data ({shape}); refusing "
                                f"more than {MAX_BYTES >> 30} GiB")
            raw = f.read(expected + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"cannot read {path}: {e}") from None
    if len(raw) != expected:
        got = f"{len(raw)}" if len(raw) <= expected else "more"
        raise DataError(f"{path} holds {got} data bytes, its header promises {expected}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape)
