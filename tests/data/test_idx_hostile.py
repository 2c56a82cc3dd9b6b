"""Damaged IDX files (MNIST / Fashion-MNIST format): one clear DataError naming the file, bounded memory."""

import gzip
import struct

import numpy as np
import pytest

from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.errors import DataError


def idx_bytes(array: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + \
        array.astype(np.uint8).tobytes()


def write_set(root, images, labels, damage=None):
    files = {"train10k-images-idx3-ubyte.gz": idx_bytes(images), "train10k-labels-idx1-ubyte.gz": idx_bytes(labels)}
    if damage:
        name, data = damage(files)
        files[name] = data
    for name, data in files.items():
        (root / name).write_bytes(data if data[:2] == b"\x1f\x8b" else gzip.compress(data))


IMAGES, LABELS = "train10k-images-idx3-ubyte.gz", "train10k-labels-idx1-ubyte.gz"
CASES = {
    "truncated gzip": (lambda f: (IMAGES, gzip.compress(f[IMAGES])[:200]), "cannot read"),
    "truncated data": (lambda f: (IMAGES, f[IMAGES][:-100]), "header promises"),
    "extra data": (lambda f: (IMAGES, f[IMAGES] + b"xx"), "holds more data bytes"),
    "junk": (lambda f: (IMAGES, bytes(range(256)) * 4), "not an IDX file"),
    "empty": (lambda f: (IMAGES, b""), "not an IDX file"),
    "header cut": (lambda f: (IMAGES, f[IMAGES][:9]), r"truncated \(header\)"),
    "huge promise": (lambda f: (IMAGES, struct.pack(">BBBB3I", 0, 0, 8, 3, 4_000_000_000, 28, 28)), "refusing"),
    "gzip bomb": (lambda f: (IMAGES, gzip.compress(struct.pack(">BBBB3I", 0, 0, 8, 3, 20, 28, 28)
                                                   + b"\0" * (50 << 20))), "holds more data bytes"),
    "labels short": (lambda f: (LABELS, f[LABELS][:-3]), "header promises"),
    "labels out of range": (lambda f: (LABELS, idx_bytes(np.full(20, 200))), "labels outside 0..9"),
    "count mismatch": (lambda f: (LABELS, idx_bytes(np.zeros(19))), "do not hold matching"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_idx_is_one_clear_error(tmp_path, case):
    damage, fragment = CASES[case]
    rng = np.random.default_rng(0)
    write_set(tmp_path, rng.integers(0, 255, (20, 28, 28)), rng.integers(0, 10, 20), damage)
    with pytest.raises(DataError, match=fragment) as info:
        load_dataset(DataConfig(spec=f"mnist:{tmp_path}", img_size=32))
    assert "\n" not in str(info.value)


def test_the_undamaged_set_loads(tmp_path):
    rng = np.random.default_rng(0)
    write_set(tmp_path, rng.integers(0, 255, (20, 28, 28)), rng.integers(0, 10, 20))
    ds = load_dataset(DataConfig(spec=f"mnist:{tmp_path}", img_size=32))
    assert len(ds) == 20
