"""Triple-GAN on MNIST with 100 labels (issue 8, benchmark 2).

    python benchmarks/triplegan_ssl.py [--labels-per-class 10] [--steps 10000] [--root ../shared/data]

`gankit train triplegan` on the training images ../shared/data holds (the first 10,000 of MNIST's training set) with
the labels of 10 per class kept (`data.labels_per_class=10`, a fixed seeded choice) and the rest unlabelled, 28x28,
with its defaults; then the error of its classifier C on the 10,000 test images. Beside it, by this same command
and on the same images, the same classifier network (the paper's CNN) trained without the GAN:
- on the 100 labelled images alone (cross-entropy), and
- on those plus the unlabelled images' prediction entropy (weight 0.3, as in Triple-GAN's C loss),
each with the same batch and optimiser (Adam 1e-3, beta1 0.5, the same linear decay) and as many steps
(`--baseline-steps` sets fewer on a CPU budget), so what the two other players add shows. `--baselines-only` runs
just those two (e.g. on a second core while the GAN trains), and the full command reuses their results.
Anchor: the paper's 0.91 % error (with 50,000 unlabelled images and 1,000 epochs).
Writes OUT/results.json and OUT/samples.png (G's images, one row per class).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from common import parser, train_or_resume

import gankit
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.images import grid, save_png
from gankit.losses.information import categorical_code_loss
from gankit.models.triplegan import PairClassifier, TripleGANConfig, entropy


def error(classify, x: torch.Tensor, y: np.ndarray) -> float:
    with torch.no_grad():
        pred = torch.cat([classify(part).argmax(1) for part in x.split(1000)]).numpy()
    return float((pred != y).mean())


def classifier_alone(data, steps: int, batch: int, lambda_entropy: float, seed: int) -> PairClassifier:
    """The paper's C without D and G: labelled cross-entropy (and optionally unlabelled entropy), same optimiser."""
    torch.manual_seed(seed)
    C = PairClassifier(1, 10)
    opt = torch.optim.Adam(C.parameters(), lr=1e-3, betas=(0.5, 0.999))
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (1 - s / steps) / 0.7))
    g = torch.Generator().manual_seed(seed)
    C.train()
    for _ in range(steps):
        b = data.batch(torch.randint(len(data), (batch,), generator=g), g)
        loss = categorical_code_loss(C(b["x_l"]), b["label_l"])
        if lambda_entropy:
            loss = loss + lambda_entropy * entropy(C(b["x"]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
    return C.eval()


def classifiers_alone(train, x_test: torch.Tensor, y_test: np.ndarray, a, cache: Path) -> dict:
    """The two baselines' test errors, trained here or read back from `cache` when it holds the same settings."""
    settings = {"steps": a.baseline_steps, "labels_per_class": a.labels_per_class, "seed": a.seed}
    if cache.is_file() and json.loads(cache.read_text())["settings"] == settings:
        return json.loads(cache.read_text())
    batch = TripleGANConfig.train_defaults["batch_size"]
    result: dict = {"settings": settings, "test_error": {}, "seconds": {}}
    for name, lam in (("C on the labels alone", 0.0), ("C + unlabelled entropy", 0.3)):
        t1 = time.perf_counter()
        result["test_error"][name] = error(classifier_alone(train, a.baseline_steps, batch, lam, a.seed), x_test,
                                           y_test)
        result["seconds"][name] = round(time.perf_counter() - t1)
        print(f"  {name}: test error {100 * result['test_error'][name]:.2f} % ({result['seconds'][name]} s)",
              flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> None:
    p = parser(__doc__, steps=10_000, out="runs/bench-triplegan")
    p.add_argument("--labels-per-class", type=int, default=10)
    p.add_argument("--baseline-steps", type=int, help="steps of the two classifiers trained alone (default: --steps)")
    p.add_argument("--baselines-only", action="store_true",
                   help="train and record only the two classifiers alone (e.g. on another core while the GAN "
                        "trains); the full command then reuses their results")
    a = p.parse_args()
    a.baseline_steps = a.baseline_steps or a.steps

    spec = f"mnist:{Path(a.root) / 'mnist'}"
    out = Path(a.out)
    run_dir = out / "run"
    data_cfg = DataConfig(spec=spec, img_size=28, labels_per_class=a.labels_per_class)
    test = load_dataset(DataConfig(spec=spec, img_size=28, split="test"))
    x_test, y_test = test.images.float() / 127.5 - 1, test.labels.numpy()
    train = load_dataset(data_cfg)
    baselines = classifiers_alone(train, x_test, y_test, a, out / "baselines.json")
    if a.baselines_only:
        return
    t0 = time.perf_counter()
    train_or_resume("triplegan", spec, ["data.img_size=28", f"data.labels_per_class={a.labels_per_class}",
                                      "train.tensorboard=false", "train.sample_every=1000",
                                      "train.checkpoint_every=1000"], a.steps, run_dir, a.seed)
    seconds = time.perf_counter() - t0
    model = gankit.load(run_dir)

    rows = {"triplegan": error(model.C, x_test, y_test), **baselines["test_error"]}
    with torch.no_grad():
        y = torch.arange(10).repeat_interleave(10)
        save_png(grid((model.generate(100, torch.Generator().manual_seed(0), label=y) + 1) / 2, nrow=10),
                 out / "samples.png")
    result = {"labels": int(len(train.labelled)), "unlabelled": len(train), "steps": model.trained_steps,
              "baseline_steps": a.baseline_steps, "train_seconds": round(seconds), "test_error": rows}
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"MNIST, {len(train.labelled)} labels, {len(train)} images, {model.trained_steps} steps "
          f"(classifiers alone: {a.baseline_steps}) [{seconds:.0f} s]:")
    for name, err in rows.items():
        print(f"  {name:24} test error {100 * err:.2f} %")


if __name__ == "__main__":
    main()
