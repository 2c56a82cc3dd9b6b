from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gankit.models  # noqa: F401  (registers the systems)

try:  # property tests: the same examples on every run (a stable CI); GANKIT_FUZZ=explore draws new ones
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, database=None)
    settings.register_profile("explore", derandomize=False)
    settings.load_profile("explore" if os.environ.get("GANKIT_FUZZ") == "explore" else "ci")
except ImportError:  # pragma: no cover  (hypothesis is a test dependency; its tests then fail to import)
    pass

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# A DCGAN small enough that a step takes milliseconds: 16x16 images, 8 base channels, batch 8.
TINY = [
    "model.base_channels=8",
    "model.z_dim=16",
    "data.img_size=16",
    "train.batch_size=8",
    "train.log_every=2",
    "train.sample_every=4",
    "train.checkpoint_every=4",
    "train.n_samples=4",
    "train.tensorboard=false",
]


def shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (see ../shared/data/README.md)")
    return path


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """12 small RGB images in two class folders, plus 3 bad files."""
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            arr = rng.integers(0, 255, (20 + i, 24, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / cls / f"{i}.png")
    good = (root / "cats" / "0.png").read_bytes()
    (root / "cats" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / "dogs" / "empty.jpg").write_bytes(b"")
    return root


def assert_same_final_checkpoints(run_a: Path, run_b: Path, step: int) -> tuple:
    """Both runs' newest checkpoints are at `step` and hold bitwise-equal tensors (generator states aside: they
    are compared through what they produced). Returns the two checkpoints."""
    import torch

    from gankit.train import checkpoint

    a, _ = checkpoint.latest(run_a / "checkpoints")
    b, _ = checkpoint.latest(run_b / "checkpoints")
    assert a.step == b.step == step
    assert a.tensors.keys() == b.tensors.keys()
    for key in a.tensors:
        if not key.startswith("/rng/"):
            assert torch.equal(a.tensors[key], b.tensors[key]), key
    return a, b
