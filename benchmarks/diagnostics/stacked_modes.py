"""Where a Stacked MNIST generator's KL to uniform comes from: each channel's digit frequencies, and the channels'
dependence on one another.

KL(mode histogram || uniform over 1,000) splits exactly into the three channels' KL(digit frequencies || uniform
over 10) plus KL(mode histogram || product of the three channels' frequencies), the part that comes from the
digits of one sample depending on each other. Both are measured on the same 26,000 samples as
`stacked_mnist.py` (the same seed, so the total is the KL it printed), with the same MNIST classifier, beside real
stacked triples drawn from the training images (their total is the floor that sampling and the classifier's errors
leave at this n).

    python -m benchmarks.diagnostics.stacked_modes RUN_DIR [--root ../shared/data] [--n 26000]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch

import gankit
from benchmarks.common import SHARED_DATA, run_main
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.metrics.classifier import get_classifier
from gankit.metrics.coverage import class_coverage
from gankit.tasks.sample import generate


def decompose(channel_labels: list[np.ndarray]) -> dict:
    """Per-channel digit frequencies, their KLs to uniform, the dependence term, and the total KL."""
    modes = channel_labels[0] * 100 + channel_labels[1] * 10 + channel_labels[2]
    freqs = [np.bincount(c, minlength=10) / len(c) for c in channel_labels]
    product = np.einsum("i,j,k->ijk", *freqs).ravel()
    total = class_coverage(modes, 1000)
    return {"modes": total["classes_covered"], "kl_total": total["kl_to_data"],
            "kl_channels": [class_coverage(c, 10)["kl_to_data"] for c in channel_labels],
            "kl_dependence": class_coverage(modes, 1000, product)["kl_to_data"],
            "freqs": freqs}


def show(name: str, d: dict) -> None:
    print(f"{name}: modes {d['modes']}  KL {d['kl_total']:.3f} = channels "
          + " + ".join(f"{k:.3f}" for k in d["kl_channels"]) + f" + dependence {d['kl_dependence']:.3f}")
    for c, f in enumerate(d["freqs"]):
        print(f"  channel {c} digits 0-9: " + " ".join(f"{v:.3f}" for v in f))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="a run trained on stacked-mnist (e.g. runs/bench-stacked/pack2)")
    p.add_argument("--root", default=str(SHARED_DATA), help="the shared data folder (mnist/)")
    p.add_argument("--n", type=int, default=26_000)
    a = p.parse_args()
    model = gankit.load(a.run)
    cfg = DataConfig(spec=f"stacked-mnist:{a.root}/mnist", img_size=model.info.img_size)
    # The evaluator's MNIST classifier (the same cached network: its key is the data, size and framing).
    classifier = get_classifier(dataclasses.replace(cfg, spec=f"mnist:{a.root}/mnist", channels=1), progress=False)

    def per_channel(x: torch.Tensor) -> list[np.ndarray]:  # the digit the classifier reads in each channel
        return [classifier.run(x[:, c:c + 1])[1] for c in range(3)]

    with torch.random.fork_rng():
        show(f"{a.run}, {a.n} samples", decompose(per_channel(generate(model, a.n, seed=0))))
    real = load_dataset(dataclasses.replace(cfg, flip=False))
    pick = torch.randint(len(real), (a.n,), generator=torch.Generator().manual_seed(0))
    show(f"real stacked triples, {a.n} draws", decompose(per_channel(real.batch(pick, torch.Generator())["x"])))


if __name__ == "__main__":
    run_main(main)
