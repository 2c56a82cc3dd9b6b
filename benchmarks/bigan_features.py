"""BiGAN's encoder as a feature extractor learned without labels (issue 7, benchmark 2).

    python -m benchmarks.bigan_features [--data mnist fashion-mnist] [--steps 10000] [--root ../shared/data]
                                        [--set SECTION.KEY=VALUE ...] [--curve]

Per dataset: `gankit train bigan` with the paper's permutation-invariant MNIST defaults (MLPs of 2 x 1024 units,
z ~ U(-1, 1)^50, batch 128, Adam 2e-4, weight decay 2.5e-5, learning rate decaying linearly to 0 over the second
half) at 28x28 on the training images ../shared/data holds (MNIST: the first 10,000; Fashion-MNIST: 60,000), no
labels. Then, with the training images as the labelled reference and the test images as queries:
- 1-nearest-neighbour (cosine) and linear-probe (logistic regression) accuracy of E(x), and of E's last hidden
  layer (1024 units: the BiGAN repository's "e-" features, where its 97.35 % 1-NN was measured on 60k images);
- baselines by the same code: the raw pixels, and the same encoder untrained (its initial weights);
- reconstruction: the share of test images whose G(E(x)) the dataset's classifier (gankit's, cached) gives x's
  label, and the L2 error ||x - G(E(x))|| against the error to a random other test image (the repository's
  EGr / EGr_b ratio: 1 means no reconstruction at all).
`--curve` also gives E(x)'s 1-NN accuracy at every checkpoint the run kept (the repository's E(x) moved between
92.10 and 95.92 % over its training: is the last step's number typical of the run?).
`--reference-sizes 1250 2500 5000` also gives the 1-NN accuracies with smaller reference sets (random subsets of the
training images, the mean of three draws each), for pixels, E(x) and E's hidden layer, and a power law fitted to
each feature's error over those sizes, extended to 60,000 references (the anchor's reference set; an
extrapolation, not a measurement): how much of the gap to the anchor is the reference set ../shared/data holds?
Writes OUT/<data>/results.json and OUT/<data>/reconstructions.png (pairs x, G(E(x)) of 32 test images).
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import torch

import gankit
from benchmarks.common import (
    add_overrides,
    over_checkpoints,
    parser,
    run_main,
    shown_overrides,
    train_or_resume,
    trained_for,
)
from gankit.config import DataConfig, resolve_config, to_dict
from gankit.data import load_dataset
from gankit.errors import ConfigError
from gankit.images import columns, grid, save_png
from gankit.metrics.classifier import get_classifier
from gankit.metrics.latent import linear_probe_accuracy, nearest_neighbour_accuracy
from gankit.modelio import build_model
from gankit.nn import inference

SUBDIR = {"mnist": "mnist", "fashion-mnist": "fashion_mnist"}


def images(spec: str, split: str) -> tuple[torch.Tensor, np.ndarray]:
    """A split in [-1, 1] and its labels."""
    data = load_dataset(DataConfig(spec=spec, img_size=28, split=split))
    return data.images.float() / 127.5 - 1, data.labels.numpy()


def codes(model, x: torch.Tensor) -> np.ndarray:
    """E(x)."""
    with inference(model):
        return torch.cat([model.encode_batch(part) for part in x.split(1000)]).numpy()


def features(model, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """E(x) and E's last hidden layer."""
    with inference(model):
        hidden = torch.cat([model.E.features(part) for part in x.split(1000)])
    return codes(model, x), hidden.numpy()


def code_1nn(model, x_train: torch.Tensor, y_train: np.ndarray, x_test: torch.Tensor, y_test: np.ndarray) -> float:
    """1-NN accuracy of E(x) alone (the curve over checkpoints: the hidden layer is not needed there)."""
    return nearest_neighbour_accuracy(codes(model, x_train), y_train, codes(model, x_test), y_test)


ANCHOR_REFERENCES = 60_000  # the BiGAN repository's 1-NN reference set: all of MNIST's training images


def by_reference_size(features: dict[str, tuple[np.ndarray, np.ndarray]], y_train: np.ndarray, y_test: np.ndarray,
                      sizes: list[int], seed: int, draws: int = 3) -> dict[str, dict[int, float]]:
    """1-NN accuracy of each feature with `draws` random reference subsets of each size, smallest first (their
    mean). The whole training set is not measured here: the main table has it already."""
    n_all = len(y_train)
    if too_many := [n for n in sizes if n >= n_all]:
        raise ConfigError(f"--reference-sizes {too_many[0]}: not fewer than the {n_all} training images "
                          "(the whole set is always measured)")
    rng = np.random.default_rng(seed)
    subsets = {n: [rng.choice(n_all, n, replace=False) for _ in range(draws)] for n in sorted(set(sizes))}
    return {name: {n: float(np.mean([nearest_neighbour_accuracy(train[i], y_train[i], test, y_test) for i in idx]))
                   for n, idx in subsets.items()}
            for name, (train, test) in features.items()}


def power_law_error(accuracy: dict[int, float], n: int) -> float:
    """The error at `n` references of the line fitted to log(error) against log(references)."""
    sizes = np.log(list(accuracy))
    slope, intercept = np.polyfit(sizes, np.log(1 - np.array(list(accuracy.values()))), 1)
    return float(np.exp(intercept + slope * np.log(n)))


def scores(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray) -> tuple[float, float]:
    return (nearest_neighbour_accuracy(train, y_train, test, y_test),
            linear_probe_accuracy(train, y_train, test, y_test))


def main() -> None:
    p = parser(__doc__, steps=10_000, out="runs/bench-bigan")
    p.add_argument("--data", nargs="+", default=["mnist", "fashion-mnist"], choices=list(SUBDIR))
    add_overrides(p)
    p.add_argument("--curve", action="store_true", help="also give E(x)'s 1-NN accuracy at every kept checkpoint")
    p.add_argument("--reference-sizes", type=int, nargs="+", default=[], metavar="N",
                   help="also give the 1-NN accuracies with N training images as the reference set")
    a = p.parse_args()
    if any(n < 1 for n in a.reference_sizes):
        p.error("--reference-sizes: each N must be at least 1")

    for data in a.data:
        spec = f"{data}:{Path(a.root) / SUBDIR[data]}"
        out = Path(a.out) / data
        run_dir = out / "run"
        overrides = ["data.img_size=28", "train.sample_every=1000", "train.checkpoint_every=1000",
                     "train.tensorboard=false", *a.set]
        seconds = train_or_resume("bigan", spec, overrides, a.steps, run_dir, a.seed)
        model = gankit.load(run_dir)
        # The run's own initial weights: the same config and seed, before any step.
        cfg = resolve_config({"model": to_dict(model.cfg), "train": {"seed": a.seed}})
        untrained = build_model(cfg, model.info, torch.device("cpu")).eval()

        x_train, y_train = images(spec, "train")
        x_test, y_test = images(spec, "test")
        # Each feature as (training images, test images).
        feats = {"pixels": (x_train.flatten(1).numpy(), x_test.flatten(1).numpy())}
        for name, net in (("untrained", untrained), ("bigan", model)):
            (c_train, h_train), (c_test, h_test) = features(net, x_train), features(net, x_test)
            feats[f"{name} E(x)"], feats[f"{name} E hidden"] = (c_train, c_test), (h_train, h_test)
        rows = {name: scores(train, y_train, test, y_test) for name, (train, test) in feats.items()}

        with inference(model):
            recon = torch.cat([model.G(model.encode_batch(part)) for part in x_test.split(1000)])
        classifier = get_classifier(DataConfig(spec=spec, img_size=28))
        kept = float((classifier.run(recon)[1] == y_test).mean())
        error = (x_test - recon).flatten(1).norm(dim=1)
        shuffled = x_test[torch.randperm(len(x_test), generator=torch.Generator().manual_seed(0))]
        baseline = (shuffled - recon).flatten(1).norm(dim=1)
        ratio = float(error.mean() / baseline.mean())
        pairs, _ = columns(x_test[:32], recon[:32])
        save_png(grid((pairs + 1) / 2, nrow=16), out / "reconstructions.png")

        result = {"data": data, "steps": model.trained_steps,
                  "train_seconds": seconds,
                  "accuracy_1nn_linear": rows, "reconstruction_label_kept": kept,
                  "classifier_test_accuracy": classifier.test_accuracy, "reconstruction_error_ratio": ratio}
        if a.curve:
            result["e_x_1nn_by_checkpoint"] = over_checkpoints(
                run_dir, model.trained_steps, rows["bigan E(x)"][0],
                partial(code_1nn, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test))
        if a.reference_sizes:
            smaller = by_reference_size({name: feats[name] for name in ("pixels", "bigan E(x)", "bigan E hidden")},
                                        y_train, y_test, a.reference_sizes, a.seed)
            result["1nn_by_reference_size"] = {name: {**accuracy, len(x_train): rows[name][0]}
                                               for name, accuracy in smaller.items()}
        (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"{data}: bigan {model.trained_steps} steps{shown_overrides(a.set)} "
              f"[{trained_for(seconds)}], {len(x_train)} reference / {len(x_test)} test images")
        for name, (nn1, lin) in rows.items():
            print(f"  {name:18} 1-NN {nn1:.4f}   linear {lin:.4f}")
        print(f"  reconstruction: label kept {kept:.4f} (classifier accuracy {classifier.test_accuracy:.4f}), "
              f"L2 error / error to a random image {ratio:.3f}", flush=True)
        for step, value in result.get("e_x_1nn_by_checkpoint", {}).items():
            print(f"  checkpoint {step:6}: E(x) 1-NN {value:.4f}")
        if a.reference_sizes:
            print("  1-NN by reference images: " + "  ".join(f"{n:>6}" for n in [*sorted(set(a.reference_sizes)),
                                                                                 len(x_train)])
                  + f"  | power law to {ANCHOR_REFERENCES} (extrapolated)")
            for name, accuracy in result["1nn_by_reference_size"].items():
                print(f"  {name:25} " + "  ".join(f"{v:.4f}" for v in accuracy.values())
                      + f"  | {1 - power_law_error(accuracy, ANCHOR_REFERENCES):.4f}")


if __name__ == "__main__":
    run_main(main)
