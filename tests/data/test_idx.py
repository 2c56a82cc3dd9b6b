import gzip

import numpy as np
import pytest

from gankit.data.idx import read_idx
from gankit.errors import DataError


def idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def test_reads_gzipped_and_raw(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(arr))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(arr)))
    assert np.array_equal(read_idx(tmp_path / "a"), arr)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), arr)


def test_damaged_files_are_named(tmp_path):
    arr = np.zeros((2, 3, 4), np.uint8)
    (tmp_path / "short").write_bytes(idx_bytes(arr)[:-5])
    (tmp_path / "magic").write_bytes(b"\x01\x02\x03\x04" + bytes(30))
    data = gzip.compress(idx_bytes(arr))
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    for name, msg in [("short", "header promises"), ("magic", "bad magic"), ("cut.gz", "cannot read")]:
        with pytest.raises(DataError, match=msg) as e:
            read_idx(tmp_path / name)
        assert name in str(e.value)
