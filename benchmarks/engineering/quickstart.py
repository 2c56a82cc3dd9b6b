"""Does the README's first command give digits? One command:

    python -m benchmarks.engineering.quickstart [--steps 1200] [--batch-size 64] [--out runs/bench-quickstart]

Runs the README's training command (`gankit train dcgan --steps 1200 --batch-size 64`) as a separate process
and times it, then judges its samples with a classifier (a calibrated scikit-learn SVC on 8x8 average-pooled
pixels) fitted on the real digits' training split: the share of 1,000 samples the classifier calls a digit with
confidence >= 0.9, how many of the 10 classes they cover, and the KL divergence of that class histogram from
the real one. The same numbers for the real test digits (the ceiling) and for the same command stopped after
1 step (an untrained generator, the floor) stand beside them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import SVC

import gankit
from benchmarks.common import run_main
from gankit.config import DataConfig
from gankit.data import load_dataset


def flat(images: torch.Tensor) -> np.ndarray:
    """(N, 1, 32, 32) in [0, 1] -> (N, 64): back to the digits' native 8x8, where an SVM is most accurate."""
    return torch.nn.functional.avg_pool2d(images.float(), 4).reshape(len(images), -1).numpy()


def judge(clf: CalibratedClassifierCV, x: np.ndarray, real_hist: np.ndarray) -> dict[str, float]:
    proba = clf.predict_proba(x)
    labels = proba.argmax(1)
    hist = np.bincount(labels, minlength=10) / len(labels)
    kl = float(np.sum(hist * np.log(np.maximum(hist, 1e-12) / real_hist)))
    return {"confident": float((proba.max(1) >= 0.9).mean()), "classes": int((hist > 0.01).sum()), "kl": kl}


def train_run(out: Path, steps: int, batch_size: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "gankit", "train", "dcgan", "--steps", str(steps), "--batch-size", str(batch_size),
           "--out", str(out), "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", default="runs/bench-quickstart")
    p.add_argument("--n", type=int, default=1000)
    a = p.parse_args()

    train = load_dataset(DataConfig(split="train"))
    test = load_dataset(DataConfig(split="test"))
    unit = lambda ds: (ds.images.float() / 255)  # noqa: E731
    clf = CalibratedClassifierCV(SVC(), ensemble=False).fit(flat(unit(train)), train.labels.numpy())
    acc = float((clf.predict(flat(unit(test))) == test.labels.numpy()).mean())
    real_hist = np.bincount(train.labels.numpy(), minlength=10) / len(train)
    print(f"classifier: calibrated SVC on {len(train)} real digits (8x8 pooled), "
          f"test accuracy {acc:.3f} on {len(test)}")

    rows = [("real test digits (ceiling)", None, judge(clf, flat(unit(test)), real_hist))]
    for label, steps in [("untrained G, 1 step (floor)", 1), (f"DCGAN, {a.steps} steps", a.steps)]:
        out = Path(f"{a.out}-{steps}")
        seconds = train_run(out, steps, a.batch_size)
        samples = gankit.load(out).sample(a.n, seed=123)
        rows.append((label, seconds, judge(clf, flat(samples), real_hist)))
        if steps == a.steps:
            print(f"sample grid: {out / 'samples' / 'latest.png'}")

    print(f"\n{'':30} {'train s':>8} {'confident>=0.9':>15} {'classes':>8} {'KL(hist||real)':>15}")
    for label, seconds, m in rows:
        s = f"{seconds:8.0f}" if seconds is not None else f"{'-':>8}"
        print(f"{label:30} {s} {m['confident']:15.3f} {m['classes']:8d} {m['kl']:15.3f}")


if __name__ == "__main__":
    run_main(main)
