"""The classic family on MNIST and Fashion-MNIST with one budget, and "the WGAN loss tells you when to stop".

    python -m benchmarks.family [--data mnist fashion-mnist] [--models dcgan lsgan wgan wgan-gp cgan]
                                [--steps 1500] [--base-channels 32] [--every 100] [--root ../shared/data]

Every model is trained by the same call (`gankit.train`, batch 64, 32x32, the given width and steps, each model
with its own paper's optimiser), evaluated every `--every` steps on 2,000 samples and at the end on 10,000
(`gankit evaluate`'s metrics: Fréchet distance in the dataset classifier's features, precision, recall, classes
covered; cgan's conditional accuracy). Then, per run, the Spearman correlation across those evaluation points
between the training signal (the critic's Wasserstein estimate for wgan / wgan-gp, D's loss for the others,
both averaged over the preceding interval) and the Fréchet distance.
"""

from __future__ import annotations

import json
from pathlib import Path

from scipy.stats import spearmanr

from benchmarks.common import parser, run_main, train_or_resume, trained_for
from gankit.evaluate import evaluate

FD_KEY = {"mnist": "fd_mnist_classifier", "fashion-mnist": "fd_fashion_mnist_classifier"}
SUBDIR = {"mnist": "mnist", "fashion-mnist": "fashion_mnist"}


def signal_vs_fd(run_dir: Path, fd_key: str) -> tuple[str, float, int]:
    stats = {r["step"]: r for r in map(json.loads, (run_dir / "stats.jsonl").read_text().splitlines())}
    evals = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    key = "D/wasserstein" if "D/wasserstein" in next(iter(stats.values())) else "D/loss"
    pairs = [(stats[e["step"]][key], e[fd_key]) for e in evals if e["step"] in stats]
    rho = spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic
    return key, float(rho), len(pairs)


def main() -> None:
    p = parser(__doc__, steps=1500, out="runs/bench-family", seed=False)
    p.add_argument("--data", nargs="+", default=["mnist", "fashion-mnist"], choices=list(FD_KEY))
    p.add_argument("--models", nargs="+", default=["dcgan", "lsgan", "wgan", "wgan-gp", "cgan"])
    p.add_argument("--base-channels", type=int, default=32)
    p.add_argument("--every", type=int, default=100)
    a = p.parse_args()

    rows = []
    for data in a.data:
        spec = f"{data}:{Path(a.root) / SUBDIR[data]}"
        for model in a.models:
            out = Path(a.out) / f"{data}-{model}"
            overrides = [f"model.base_channels={a.base_channels}", "data.img_size=32", "train.batch_size=64",
                         f"train.eval_every={a.every}", "train.eval_n=2000", f"train.log_every={a.every}",
                         f"train.sample_every={a.steps // 3}", f"train.checkpoint_every={a.steps}",
                         "train.tensorboard=false"]
            seconds = train_or_resume(model, spec, overrides, a.steps, out, seed=0, progress=False)
            run_dir = out
            m = evaluate(run_dir, n=10_000, seed=0, out=run_dir / "final_metrics.json", progress=False)
            signal, rho, points = signal_vs_fd(run_dir, FD_KEY[data])
            rows.append((data, model, m, signal, rho, points, seconds))
            print(f"{data:13} {model:8} FD {m[FD_KEY[data]]:8.2f}  precision {m['precision']:.3f}  "
                  f"recall {m['recall']:.3f}  classes {m['classes_covered']:2d}  "
                  f"cond.acc {m.get('conditional_accuracy', float('nan')):.3f}  "
                  f"spearman({signal}, FD) {rho:+.3f} over {points}  "
                  f"classifier acc {m['classifier_test_accuracy']:.4f}  [{trained_for(seconds)}]", flush=True)


if __name__ == "__main__":
    run_main(main)
