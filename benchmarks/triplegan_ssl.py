"""Triple-GAN on MNIST with 100 labels (issue 8, benchmark 2).

    python -m benchmarks.triplegan_ssl [--labels-per-class 10] [--steps 10000] [--root ../shared/data]
                                       [--part gan|baselines] [--only ROW ...] [--set KEY=VALUE ...] [--out DIR]

`gankit train triplegan` on the training images ../shared/data holds (the first 10,000 of MNIST's training set) with
the labels of 10 per class kept (`data.labels_per_class=10`, a fixed seeded choice) and the rest unlabelled, 28x28,
with its defaults; then the error of its classifier (the running average of C) on the 10,000 test images. Beside it,
by the same command with `model.pretrain=1` (C trains alone for every step: no D, no G), on the same images, with
the same network, batch, optimiser, schedule, weight averaging and steps (`--baseline-steps` sets fewer):
- C on the 100 labelled images alone (`model.lambda_entropy=0 model.lambda_balance_pretrain=0`), and
- C on those plus the unlabelled images' prediction entropy and class balance (what Triple-GAN's C does alone in
  its first steps),
so what the two other players add shows; and two ablations of R_P, which teaches C G's labels for G's images and
so only helps once G draws them: R_P from the game's first step (`model.rp_after_epochs=0`; by default it waits
for 299 passes over the images, as the paper's code does, which a CPU budget never reaches), and R_P never
(`model.alpha_p=0`; the same run as the default until the default's R_P starts). `--part gan|baselines` trains
just the three Triple-GAN runs or the two baselines (e.g. one part per core); the command without `--part` trains
what is missing and prints the table; `--only ROW...` trains and measures only those rows. A variant of Triple-GAN's
settings: `--set KEY=VALUE` (applied to the Triple-GAN rows, not to the baselines) with its own `--out`.
Anchor: the paper's 0.91 % error (with 50,000 unlabelled images and 1,000 epochs).
Writes OUT/results.json and OUT/samples.png (G's images, one row per class).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

import gankit
from benchmarks.common import add_overrides, parser, run_main, shown_overrides, train_or_resume
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.images import grid, save_png

# The Triple-GAN rows: (run folder, overrides). The ablations: R_P (C's cross-entropy on G's pairs) from the start,
# and off.
GAN_ROWS = {
    "triplegan": ("default", []),
    "triplegan, R_P from start": ("rp-from-start", ["model.rp_after_epochs=0"]),
    "triplegan without R_P": ("no-rp", ["model.alpha_p=0"]),
}
BASELINES = {
    "C on the labels alone": ["model.pretrain=1", "model.lambda_entropy=0", "model.lambda_balance_pretrain=0"],
    "C + entropy and balance": ["model.pretrain=1"],
}


def error(model, x: torch.Tensor, y: np.ndarray) -> float:
    with torch.no_grad():
        pred = torch.cat([model.classify_batch(part).argmax(1) for part in x.split(1000)]).numpy()
    return float((pred != y).mean())


def main() -> None:
    p = parser(__doc__, steps=10_000, out="runs/bench-triplegan")
    p.add_argument("--labels-per-class", type=int, default=10)
    p.add_argument("--baseline-steps", type=int, help="steps of the two classifiers trained alone (default: --steps)")
    p.add_argument("--part", choices=["gan", "baselines"], help="train only this part (no table)")
    add_overrides(p, "the Triple-GAN runs (a variant: give it its own --out)")
    p.add_argument("--only", nargs="+", choices=[*GAN_ROWS, *BASELINES], metavar="ROW",
                   help="train and measure only these rows (their names in the table)")
    a = p.parse_args()
    a.baseline_steps = a.baseline_steps or a.steps

    spec = f"mnist:{Path(a.root) / 'mnist'}"
    out = Path(a.out)
    common = ["data.img_size=28", f"data.labels_per_class={a.labels_per_class}", "train.tensorboard=false",
              "train.sample_every=1000", "train.checkpoint_every=500"]
    # name: (run folder, overrides, steps, --part)
    runs = {name: (out / folder, [*a.set, *extra], a.steps, "gan") for name, (folder, extra) in GAN_ROWS.items()}
    for i, (name, extra) in enumerate(BASELINES.items()):
        runs[name] = (out / f"alone-{i}", extra, a.baseline_steps, "baselines")
    runs = {name: run for name, run in runs.items() if not a.only or name in a.only}
    seconds = {}
    for name, (run_dir, extra, steps, part) in runs.items():
        if a.part and a.part != part:
            continue
        seconds[name] = train_or_resume("triplegan", spec, common + extra, steps, run_dir, a.seed)
    if a.part:
        return

    test = load_dataset(DataConfig(spec=spec, img_size=28, split="test"))
    x_test, y_test = test.images.float() / 127.5 - 1, test.labels.numpy()
    models = {name: gankit.load(run_dir) for name, (run_dir, *_) in runs.items()}
    rows = {name: error(model, x_test, y_test) for name, model in models.items()}
    if "triplegan" in models:
        with torch.no_grad():
            y = torch.arange(10).repeat_interleave(10)
            samples = models["triplegan"].generate(100, torch.Generator().manual_seed(0), label=y)
        save_png(grid((samples + 1) / 2, nrow=10), out / "samples.png")
    train = load_dataset(DataConfig(spec=spec, img_size=28, labels_per_class=a.labels_per_class))
    result = {"labels": int(len(train.labelled)), "unlabelled": len(train),
              "steps": {name: m.trained_steps for name, m in models.items()}, "train_seconds_this_call": seconds,
              "test_error": rows}
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"MNIST, {len(train.labelled)} labels, {len(train)} images{shown_overrides(a.set)}; "
          "test error of the averaged C:")
    for name, err in rows.items():
        print(f"  {name:26} {models[name].trained_steps:6d} steps  test error {100 * err:.2f} %")


if __name__ == "__main__":
    run_main(main)
