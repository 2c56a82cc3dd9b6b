"""Which digits a trained MNIST -> digits CycleGAN changes, and into what: the judge's confusion matrix.

Rows: the MNIST label of a test image x; columns: what the target-domain judge of `cyclegan_digits.py` (the same
cached network) reads in G_AB(x). The diagonal is the label preservation that benchmark reports.

    python -m benchmarks.diagnostics.cyclegan_confusion RUN_DIR [--root ../shared/data]
"""

from __future__ import annotations

import argparse

import numpy as np

import gankit
from benchmarks.common import JUDGES, SHARED_DATA, run_main
from benchmarks.cyclegan_digits import target_judge, unit
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.metrics.classifier import predict


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a cyclegan run trained on mnist2digits (e.g. runs/bench-cyclegan-digits/run)")
    p.add_argument("--root", default=str(SHARED_DATA), help="the shared data folder (mnist/)")
    p.add_argument("--seed", type=int, default=0, help="the judge's seed (as in cyclegan_digits.py)")
    p.add_argument("--judge", choices=list(JUDGES), default="varied", help="which judge (as in cyclegan_digits.py)")
    a = p.parse_args()
    model = gankit.load(a.run)
    spec, fit = f"mnist2digits:{a.root}/mnist", model.info.fit  # the digits prepared as the run's were
    train = load_dataset(DataConfig(spec=spec, fit=fit))
    test = load_dataset(DataConfig(spec=spec, split="test", fit=fit))
    judge, judge_acc = target_judge(train, test, a.seed, fit, a.judge)
    x, y = unit(test.images_A), test.labels_A
    translated = model.translate(x, "AtoB")
    counts = np.zeros((10, 10), dtype=int)
    np.add.at(counts, (y.numpy(), predict(judge, translated * 2 - 1).numpy()), 1)
    kept = np.trace(counts) / counts.sum()
    print(f"judge ({a.judge}): {judge_acc:.2%} on held-out real digits; label preserved {kept:.4f}")
    print("rows: MNIST label of x; columns: the judge's reading of G_AB(x)")
    print("    " + "".join(f"{j:6d}" for j in range(10)) + "    kept")
    for i, row in enumerate(counts):
        print(f"{i:3d} " + "".join(f"{v:6d}" for v in row) + f"   {row[i] / row.sum():.3f}")


if __name__ == "__main__":
    run_main(main)
