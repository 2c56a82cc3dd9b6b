"""Does Triple-GAN's G use its noise? A short diagnostic of G's spread over z for variants of G and D (issue 8).

    python -m benchmarks.diagnostics.triplegan_g_spread [--steps 250] [--variants plain ...] [--root ../shared/data]

Each variant: `gankit train triplegan` on MNIST with 100 labels (as benchmarks/triplegan_ssl.py) for `--steps`
adversarial steps from the start (`model.pretrain=0`: C is untrained, so the labels D sees on data are noise; this
measures whether G's images depend on z, not whether they match their label). Then, over 200 images of G (20 per
label, G in training mode as when it trains):
- spread over z: each pixel's standard deviation over the 20 images of one label, averaged over pixels and labels
  (the same for 20 real training images per class is printed as the reference; near 0: one image for every z);
- spread over labels: the same over the 10 labels for one z;
- saturated: the share of pixels with |x| > 0.99;
- D's mean logit on G's pairs (very negative: D rejects them with confidence).
A variant that keeps G's spread over z near the data's is one worth a full benchmark run.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

import gankit
from benchmarks.common import parser, run_main, train_or_resume
from gankit.config import DataConfig
from gankit.data import load_dataset

VARIANTS = {
    "plain": [],
    "weight-norm G": ["model.g_weight_norm=true"],
    "unit-norm D": ["model.d_unit_norm=true"],
    "weight-norm G, unit-norm D": ["model.g_weight_norm=true", "model.d_unit_norm=true"],
    "weight-norm G, D without noise": ["model.g_weight_norm=true", "model.d_noise_input=0", "model.d_noise=0"],
}


def spread(x: torch.Tensor, per: int) -> tuple[float, float]:
    """x holds `per` groups of 10 labels, label-major inside each group: (spread over z, spread over labels)."""
    xs = x.reshape(per, 10, -1)
    return xs.std(0).mean().item(), xs.std(1).mean().item()


def main() -> None:
    p = parser(__doc__, steps=250, out="runs/bench-triplegan-g-spread", seed=True)
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    a = p.parse_args()
    spec = f"mnist:{Path(a.root) / 'mnist'}"

    data = load_dataset(DataConfig(spec=spec, img_size=28))
    g = torch.Generator().manual_seed(0)
    real = torch.stack([data.images[data.labels == k][torch.randperm(int((data.labels == k).sum()), generator=g)[:20]]
                        for k in range(10)], 1).float() / 127.5 - 1  # (20, 10, 1, 28, 28)
    over_z, over_labels = spread(real, 20)
    print(f"{'MNIST training images (reference)':34s} spread over z {over_z:.3f}  over labels {over_labels:.3f}")

    results = {"reference": {"spread_over_z": over_z, "spread_over_labels": over_labels}}
    for name in a.variants:
        run_dir = Path(a.out) / name.replace(" ", "_").replace(",", "")
        train_or_resume("triplegan", spec, ["data.img_size=28", "data.labels_per_class=10", "model.pretrain=0",
                                            "train.tensorboard=false", *VARIANTS[name]],
                        a.steps, run_dir, a.seed, progress=False)
        model = gankit.load(run_dir)
        G, D = model.G.train(), model.D.eval()
        y = F.one_hot(torch.arange(200) % 10, 10).float()
        z = torch.rand(200, model.cfg.z_dim, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            x = G(z, y)
            d = D(x, y).mean().item()
        over_z, over_labels = spread(x, 20)
        saturated = (x.abs() > 0.99).float().mean().item()
        results[name] = {"steps": a.steps, "spread_over_z": over_z, "spread_over_labels": over_labels,
                         "saturated": saturated, "D_logit_on_G": d}
        print(f"{name:34s} spread over z {over_z:.3f}  over labels {over_labels:.3f}  saturated {saturated:.1%}  "
              f"D's logit on G {d:+.2f}  [{a.steps} steps]", flush=True)
    (Path(a.out) / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    run_main(main)
