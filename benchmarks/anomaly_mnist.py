"""MNIST one-class-out anomaly detection with AnoGAN and f-AnoGAN (issue 8, benchmark 1; the GANomaly protocol).

    python -m benchmarks.anomaly_mnist [--digits 0 1 ... 9] [--steps 3000] [--base-channels 64] [--subset 200]
                                       [--root ../shared/data]

For each digit d: `gankit train anogan` on the other nine digits of the training images ../shared/data holds
(the first 10,000 of MNIST's training set; `data.exclude_classes=[d]`), zero-padded to 32x32 for the DCGAN nets
(`--base-channels` sets their width, 64 by default as in DCGAN; less for a CPU budget),
with its defaults (DCGAN for the first three quarters of the steps, f-AnoGAN's encoder for the last quarter). Then
every test image (t10k) is scored, d being the anomaly, and the AUROC reported for:
- f-AnoGAN's encoder scorer (one forward pass);
- AnoGAN's latent search (500 Adam steps per image) — on a fixed, seeded subset of `--subset` (200) test images, as it
  costs 500 passes through G and D per image;
- two baselines fitted on the same normal training images: PCA reconstruction error (the components keeping 90 %
  of the variance) and the mean distance to the 5 nearest training images, both in pixel space.
Every scorer is also reported on the subset, so the four can be compared on the same images, with its speed in
images per second on this machine. Writes OUT/digitD/results.json; the summary covers every digit done so far.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

import gankit
from benchmarks.common import parser, run_main, train_or_resume
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.tasks.score import score_tensor


def pixels(spec: str, split: str, exclude: list[int] = ()) -> tuple[torch.Tensor, np.ndarray]:
    data = load_dataset(DataConfig(spec=spec, img_size=28, split=split, exclude_classes=list(exclude)))
    return data.images.float() / 255, data.labels.numpy()


def all_scores(model, x_test: torch.Tensor, subset: np.ndarray, flat_train: np.ndarray, seed: int
               ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, float]]:
    """Scores of every test image by the encoder scorer and the two baselines, of the subset by the latent search,
    and each scorer's images per second."""
    flat_test = x_test.flatten(1).numpy()
    pca = PCA(n_components=0.9, random_state=0).fit(flat_train)
    knn = NearestNeighbors(n_neighbors=5).fit(flat_train)
    jobs = {
        "f-AnoGAN encoder": (lambda: score_tensor(model, x_test, "encoder", batch_size=500)[0], len(x_test)),
        "AnoGAN latent search": (lambda: score_tensor(model, x_test[subset], "latent", batch_size=500,
                                                      seed=seed)[0], len(subset)),
        "PCA reconstruction": (lambda: ((pca.inverse_transform(pca.transform(flat_test)) - flat_test) ** 2).sum(1),
                               len(x_test)),
        "5-NN distance": (lambda: knn.kneighbors(flat_test)[0].mean(1), len(x_test)),
    }
    scores, speed = {}, {}
    for name, (fn, n) in jobs.items():
        t0 = time.perf_counter()
        scores[name] = np.asarray(fn())
        speed[name] = n / (time.perf_counter() - t0)
    latent = scores.pop("AnoGAN latent search")
    return scores, latent, speed


def main() -> None:
    p = parser(__doc__, steps=3000, out="runs/bench-anomaly")
    p.add_argument("--digits", nargs="+", type=int, default=list(range(10)))
    p.add_argument("--base-channels", type=int, default=64)
    p.add_argument("--subset", type=int, default=200)
    p.add_argument("--summary-only", action="store_true", help="only print the mean over the digits already done")
    a = p.parse_args()

    spec = f"mnist:{Path(a.root) / 'mnist'}"
    x_test, y_test = pixels(spec, "test")
    subset = np.sort(np.random.default_rng(a.seed).choice(len(x_test), a.subset, replace=False))
    for d in [] if a.summary_only else a.digits:
        run_dir = Path(a.out) / f"digit{d}"
        overrides = [f"data.exclude_classes=[{d}]", "data.img_size=32", "data.fit=pad",
                     f"model.base_channels={a.base_channels}", "train.tensorboard=false",
                     "train.sample_every=1000", "train.checkpoint_every=500"]
        train_seconds = train_or_resume("anogan", spec, overrides, a.steps, run_dir, a.seed, progress=False)
        model = gankit.load(run_dir)
        anomalous = y_test == d
        x_train, _ = pixels(spec, "train", exclude=[d])
        scores, latent, speed = all_scores(model, x_test, subset, x_train.flatten(1).numpy(), a.seed)
        row = {"train_seconds": train_seconds, "steps": model.trained_steps,
               "base_channels": model.cfg.base_channels, "images_per_second": speed,
               "auroc_all": {k: float(roc_auc_score(anomalous, v)) for k, v in scores.items()},
               "auroc_subset": {k: float(roc_auc_score(anomalous[subset], v[subset])) for k, v in scores.items()}}
        row["auroc_subset"]["AnoGAN latent search"] = float(roc_auc_score(anomalous[subset], latent))
        (run_dir / "results.json").write_text(json.dumps(row, indent=2) + "\n")
        print(f"digit {d}: " + "  ".join(f"{k} {v:.3f}" for k, v in row["auroc_all"].items())
              + f"  | subset of {len(subset)}: " + "  ".join(f"{k} {v:.3f}" for k, v in row["auroc_subset"].items()),
              flush=True)

    names = ["f-AnoGAN encoder", "AnoGAN latent search", "PCA reconstruction", "5-NN distance"]
    # Every digit evaluated so far (by this call or another, e.g. one per core with different --digits).
    done = [json.loads(p.read_text()) for p in sorted(Path(a.out).glob("digit*/results.json"))]
    print(f"\nmean AUROC over {len(done)} digits (all {len(x_test)} test images / subset of {len(subset)}):")
    for name in names:
        full = [r["auroc_all"][name] for r in done if name in r["auroc_all"]]
        part = [r["auroc_subset"][name] for r in done]
        rate = np.mean([r["images_per_second"][name] for r in done])
        print(f"  {name:22} {np.mean(full) if full else float('nan'):.3f} / {np.mean(part):.3f}"
              f"   [{rate:,.2f} images/s]")


if __name__ == "__main__":
    run_main(main)
