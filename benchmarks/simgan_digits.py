"""SimGAN (Shrivastava et al. 2017): a classifier trained on refined synthetic images does better on real images
than one trained on the raw synthetic images, with no real label used (paper: gaze error 11.2 -> 7.8 degrees).

Synthetic: `fontdigits` (20,000 printed digits rendered from the fonts found, framed as MNIST; labels from the
rendering). Real: the first 10,000 MNIST training images, unlabelled. One simgan run with the paper's settings at a
CPU budget (batch 64; R pre-trained 300 steps on self-regularisation, D 100 steps, then ITERATIONS steps of 2 R
updates and 1 D update; SGD 1e-3, lambda 0.1). The synthetic training set is written as a class folder, refined
with `gankit refine` (class folders kept), and the same classifier (gankit's SmallCNN yardstick recipe) is trained
on the raw and on the refined folder, 3 classifier seeds each, and tested on MNIST t10k, whose labels are read only
for that final score. Also: the share of refined digits an MNIST-trained classifier still reads as their label, the
mean |R(x) - x| (0 would be an identity refiner) and Fréchet distances to MNIST in that classifier's features
(`gankit evaluate` on the run). Goals: refined beats raw by 3 points or more (mean of the seeds, each seed better),
with at least 95 % of labels kept.

    python -m benchmarks.simgan_digits --steps 1000

Writes OUT/results.json and OUT/refined.png (rows of synthetic | refined | a real digit).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

import gankit
from benchmarks.common import add_overrides, parser, run_main, shown_overrides, train_or_resume, trained_for
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.evaluate import make_evaluator, table
from gankit.images import columns, grid, save_png
from gankit.metrics.classifier import predict, train_classifier

PRETRAIN_R, PRETRAIN_D = 300, 100
COMMON = ["train.batch_size=64", f"model.pretrain_r={PRETRAIN_R}", f"model.pretrain_d={PRETRAIN_D}",
          "train.tensorboard=false", "train.sample_every=200", "train.checkpoint_every=200"]
SEEDS = (0, 1, 2)


def write_class_folder(x: torch.Tensor, labels: torch.Tensor, root: Path) -> None:
    """uint8 images (N, 1, H, W) as root/<label>/<i>.png (skipped when already written)."""
    from PIL import Image

    if (root / ".done").is_file():
        return
    for i, (img, y) in enumerate(zip(x, labels.tolist())):
        (root / str(y)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img[0].numpy()).save(root / str(y) / f"{i:05d}.png")
    (root / ".done").write_text("")


def class_folder(root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    data = load_dataset(DataConfig(spec=f"folder:{root}", img_size=28, channels=1, split="all"))
    from gankit.data.stream import collate

    x, y = collate([data[(i, i)] for i in range(len(data))])
    names = data.info.class_names
    return x, torch.tensor([int(names[k]) for k in y.tolist()])


def mnist_test_score(nets: list, test_x: torch.Tensor, test_y: torch.Tensor) -> list[float]:
    """The only place MNIST's labels are read: each classifier's t10k accuracy."""
    return [float((predict(net, test_x) == test_y).float().mean()) for net in nets]


def main() -> None:
    p = parser(__doc__, steps=1000, out="runs/bench-simgan")
    add_overrides(p, "the simgan run")
    a = p.parse_args()
    out = Path(a.out)
    mnist = f"mnist:{Path(a.root) / 'mnist'}"
    steps = PRETRAIN_R + PRETRAIN_D + a.steps
    run_dir = out / "run"
    seconds = train_or_resume("simgan", "fontdigits", [f"data.real={mnist}", *COMMON, *a.set], steps, run_dir, a.seed)
    model = gankit.load(run_dir)
    results = {"iterations": a.steps, "steps": steps, "train_seconds": seconds}
    run_cfg = DataConfig(spec="fontdigits", real=mnist)
    results.update(make_evaluator(run_cfg, model, progress=False)(model))
    print(f"\nsimgan ({steps} steps, {trained_for(seconds)}{shown_overrides(a.set)}), held-out synthetic digits:\n"
          f"{table(results)}")

    synthetic = load_dataset(DataConfig(spec="fontdigits"))
    write_class_folder(synthetic.images.cpu(), synthetic.labels.cpu(), out / "synthetic")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gankit", "refine", str(run_dir), str(out / "synthetic"), "--out",
                    str(out / "refined"), "--quiet"], check=True)
    results["refine_seconds"] = round(time.perf_counter() - t0)

    test = load_dataset(DataConfig(spec=mnist, split="test", img_size=28))
    test_x, test_y = test.images.float() / 127.5 - 1, test.labels
    arms = {}
    for arm in ("raw", "refined"):
        x, y = class_folder(out / ("synthetic" if arm == "raw" else "refined"))
        nets = [train_classifier(x, y, x[:1], y[:1], 10, seed=s, progress=False)[0] for s in SEEDS]
        arms[arm] = mnist_test_score(nets, test_x, test_y)
        print(f"classifier trained on {arm} synthetic digits, MNIST t10k accuracy per seed: "
              f"{', '.join(f'{v:.4f}' for v in arms[arm])} (mean {np.mean(arms[arm]):.4f})")
    results["mnist_t10k_accuracy"] = arms
    gain = 100 * (np.mean(arms["refined"]) - np.mean(arms["raw"]))
    each = all(r > s for r, s in zip(arms["refined"], arms["raw"]))
    print("\ngoals:")
    print(f"  refined - raw >= 3 points, each seed better: {gain:+.2f} points, each better: {each} -> "
          f"{'met' if gain >= 3 and each else 'not met'}")
    kept = results.get("label_kept", float("nan"))
    print(f"  labels kept >= 95 %: {100 * kept:.1f} % -> {'met' if kept >= 0.95 else 'not met'}")
    print(f"  mean |R(x) - x|: {results['mean_change']:.4f} (0: an identity refiner)")

    shown = synthetic.batch(torch.arange(20), torch.Generator())  # two of each class
    real = load_dataset(DataConfig(spec=mnist, img_size=28))
    refined = model.refine((shown["x"] + 1) / 2) * 2 - 1
    images, nrow = columns(shown["x"], refined, real.images[:20].float() / 127.5 - 1)
    save_png(grid(images, nrow=nrow * 4, min_tile=28), out / "refined.png")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    run_main(main)
