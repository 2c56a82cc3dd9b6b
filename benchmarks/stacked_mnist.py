"""Stacked MNIST (Metz et al. 2017; VEEGAN and PacGAN protocol), one command:

    python -m benchmarks.stacked_mnist [--steps 2000] [--base-channels 32] [--n 26000] [--root ../shared/data]
                                       [--seed 0] [--set train.lr_decay=linear ...]

Trains dcgan and dcgan with packing 2 (PacDCGAN2) by the same call on three MNIST digits stacked as RGB
(1,000 modes; D judges `--batch-size` inputs per step in both, so packing m draws m times as many samples),
draws 26,000 samples, and counts the modes the MNIST classifier finds (one digit per channel) and the KL
divergence of the mode histogram from uniform. Anchors: DCGAN 99 modes / KL 3.40 (VEEGAN's table), PacDCGAN2
1,000 / 0.06 (PacGAN). Goal: 1,000 modes and KL <= 0.1. The full budget wants a GPU; on CPU this is reduced.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import add_overrides, parser, run_main, train_or_resume, trained_for
from gankit.evaluate import evaluate


def main() -> None:
    p = parser(__doc__, steps=2000, out="runs/bench-stacked")
    p.add_argument("--base-channels", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--n", type=int, default=26_000)
    p.add_argument("--packs", type=int, nargs="+", default=[1, 2])
    add_overrides(p, "every run")
    a = p.parse_args()
    for pack in a.packs:
        out = Path(a.out) / f"pack{pack}"
        seconds = train_or_resume("dcgan", f"stacked-mnist:{Path(a.root) / 'mnist'}",
                                  [f"model.base_channels={a.base_channels}", f"model.pack={pack}",
                                   f"train.batch_size={a.batch_size * pack}", "train.tensorboard=false",
                                   f"train.checkpoint_every={min(a.steps, 2000)}", *a.set],
                                  a.steps, out, seed=a.seed, progress=False)
        m = evaluate(out, n=a.n, seed=0, out=out / "final_metrics.json", progress=False)
        label = "dcgan" if pack == 1 else f"dcgan + pack {pack}"
        print(f"{label:16} modes {m['modes_covered']:4d}/1000  KL(modes || uniform) {m['kl_to_uniform']:.3f}  "
              f"FD {m['fd_stacked_mnist_classifier']:.2f}  MNIST classifier acc {m['classifier_test_accuracy']:.4f}"
              f"  [{a.steps} steps, {trained_for(seconds)}]", flush=True)


if __name__ == "__main__":
    run_main(main)
