"""InfoGAN's codes, learned without labels, on MNIST and Fashion-MNIST (issue 7, benchmark 1).

    python -m benchmarks.infogan_codes [--data mnist fashion-mnist] [--steps 5000] [--root ../shared/data]

Per dataset: `gankit train infogan` with the paper's defaults (62 noise variables, one Cat(10) and two U(-1, 1)
codes, batch 128, Adam 2e-4 for D and Q, 1e-3 for G; the paper's code trains 5,000 steps) at 28x28, on the training
images ../shared/data holds (MNIST: the first 10,000; Fashion-MNIST: 60,000). No label is used in training. Then:
1. the categorical code as a classifier: Q's most likely c1 for each test image, matched one-to-one to the classes
   by the Hungarian algorithm (paper: 5 % error on MNIST). Baseline, same matching: k-means (k = 10) on the pixels
   of the same training images.
2. the continuous codes: Spearman correlation of each with two measurable properties, slant (second moments) and
   ink (pixel mass, which grows with stroke width), over 5,000 generated images with every code drawn from its
   prior; the same correlations for Q's reading of the real test images; and within traversals: for each of 500
   draws of the noise and codes, one continuous code set to 9 values from -1 to 1 with everything else fixed (the
   paper's figure 2), Spearman rho between the code and the property along the traversal, averaged over the 500.
   The pooled numbers also count the variation the code is not meant to explain (a 1 has less ink than an 8 at any
   width); the traversal numbers ask only whether moving the code moves the property.
Writes OUT/<data>/results.json and the traversal grids OUT/<data>/c1.png, c2.png, c3.png (gankit explore).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from scipy.stats import rankdata, spearmanr
from sklearn.cluster import KMeans

import gankit
from benchmarks.common import parser, run_main, train_or_resume, trained_for
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.metrics.latent import cluster_accuracy, ink, slant
from gankit.nn import inference
from gankit.tasks.encode import explore

SUBDIR = {"mnist": "mnist", "fashion-mnist": "fashion_mnist"}
PROPERTIES = {"slant": slant, "ink": ink}


def images(spec: str, split: str) -> tuple[torch.Tensor, np.ndarray]:
    data = load_dataset(DataConfig(spec=spec, img_size=28, split=split))
    return data.images.float() / 255, data.labels.numpy()


def correlations(codes: np.ndarray, pictures: np.ndarray) -> dict[str, list[float]]:
    """Spearman rho of each code column with each property."""
    return {name: [float(spearmanr(codes[:, j], fn(pictures)).statistic) for j in range(codes.shape[1])]
            for name, fn in PROPERTIES.items()}


def traversal_correlations(model, n: int = 500, steps: int = 9, seed: int = 2) -> dict[str, list[float]]:
    """Per continuous code and property: the mean over n traversals (noise and the other codes fixed, the code at
    `steps` values from -1 to 1) of the Spearman rho between the code's value and the property."""
    g = torch.Generator().manual_seed(seed)
    values = torch.linspace(-1, 1, steps)
    code_ranks = np.arange(steps) - (steps - 1) / 2  # the values' ranks, centred
    result = {name: [] for name in PROPERTIES}
    with inference(model):
        z, cat, cont = model.draw(n, lambda k, d: torch.rand(k, d, generator=g))
        for j in range(cont.shape[1]):
            moved = cont.repeat_interleave(steps, 0)  # rows: draw 0 at every value, then draw 1, ...
            moved[:, j] = values.repeat(n)
            latent = model.latent(z.repeat_interleave(steps, 0), cat.repeat_interleave(steps, 0), moved)
            fake = torch.cat([model.G(part) for part in latent.split(500)]).numpy()
            for name, fn in PROPERTIES.items():
                ranks = rankdata(fn(fake).reshape(n, steps), axis=1)  # Spearman = Pearson of the ranks
                ranks = ranks - ranks.mean(1, keepdims=True)
                rho = (ranks * code_ranks).sum(1) / (np.sqrt((ranks**2).sum(1) * (code_ranks**2).sum()) + 1e-12)
                result[name].append(float(rho.mean()))
    return result


def main() -> None:
    p = parser(__doc__, steps=5000, out="runs/bench-infogan")
    p.add_argument("--data", nargs="+", default=["mnist", "fashion-mnist"], choices=list(SUBDIR))
    a = p.parse_args()

    for data in a.data:
        spec = f"{data}:{Path(a.root) / SUBDIR[data]}"
        out = Path(a.out) / data
        run_dir = out / "run"
        overrides = ["data.img_size=28", "train.sample_every=500", "train.checkpoint_every=500",
                     "train.tensorboard=false"]
        seconds = train_or_resume("infogan", spec, overrides, a.steps, run_dir, a.seed)
        model = gankit.load(run_dir)
        n_cat = len(model.categorical_codes())

        # 1. c1 as a classifier on the test set, against k-means on the training pixels.
        x_test, y_test = images(spec, "test")
        codes_test = model.encode(x_test).numpy()
        acc_c1 = cluster_accuracy(codes_test[:, 0].astype(np.int64), y_test)
        x_train, _ = images(spec, "train")
        kmeans = KMeans(10, n_init=10, random_state=0).fit(x_train.flatten(1).numpy())
        acc_kmeans = cluster_accuracy(kmeans.predict(x_test.flatten(1).numpy()), y_test)

        # 2. continuous codes against slant and ink: generated images (codes from the prior), then Q on real images.
        g = torch.Generator().manual_seed(1)
        with inference(model):
            z, cat, cont = model.draw(5000, lambda k, d, g=g: torch.rand(k, d, generator=g))
            fake = torch.cat([model.G(model.latent(*part)) for part in
                              zip(z.split(500), cat.split(500), cont.split(500))]).numpy()
        rho_generated = correlations(cont.numpy(), fake)
        rho_encoded = correlations(codes_test[:, n_cat:], x_test.numpy() * 2 - 1)
        rho_traversal = traversal_correlations(model)

        for name in model.code_names():
            explore(model, name, out / f"{name}.png", seed=a.seed)
        result = {"data": data, "steps": model.trained_steps,
                  "train_seconds": seconds,
                  "c1_accuracy": acc_c1, "kmeans_pixels_accuracy": acc_kmeans,
                  "spearman_generated": rho_generated, "spearman_encoded_test": rho_encoded,
                  "spearman_within_traversals": rho_traversal}
        (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"{data:13} steps {model.trained_steps}  c1 accuracy {acc_c1:.4f}  (k-means on pixels {acc_kmeans:.4f})"
              f"  [{trained_for(seconds)}]")
        for source, rho in (("generated", rho_generated), ("Q on test", rho_encoded), ("traversal", rho_traversal)):
            for prop, values in rho.items():
                shown = "  ".join(f"c{n_cat + 1 + j} {v:+.3f}" for j, v in enumerate(values))
                print(f"{'':13} spearman({prop:5}) {source:9}  {shown}", flush=True)


if __name__ == "__main__":
    run_main(main)
