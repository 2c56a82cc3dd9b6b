"""pix2pix's ablation (Isola et al. 2017, section 4.2): L1 alone gives blurry outputs, L1 + cGAN sharp ones.

Trains pix2pix twice with the same command, seed and data, once with lambda_GAN = 0 (L1 only, the baseline) and
once with the paper's objective (lambda_GAN = 1, lambda_L1 = 100), then translates every held-out pair (the test
regions of the photos, never seen in training) and reports PSNR, SSIM and a Fréchet distance between the outputs
and the targets in Laplacian-pyramid patch space (gankit.metrics.image_quality: blur shows in the finest level).
Goal: the cGAN run has a clearly lower Fréchet distance at a PSNR cost of at most 1 dB.

    python -m benchmarks.pix2pix_l1 --data edges:../shared/data/sr/CBSD68 --steps 3000

Every number comes from the paper's test mode (dropout on, the test image's own normalisation statistics); the
same two models are also scored in `eval` mode (dropout off, running statistics), on a second line, to show how
much of the PSNR cost is the test-time noise. A run already trained in OUT is evaluated again, not retrained (one
stopped half way continues); `--only L1` or `--only L1+cGAN` trains one of the two, so they can run side by side.
`--curve` also scores every checkpoint both runs kept (pass `--set train.keep_checkpoints=N` when training), to show
whether the PSNR cost is still falling at the last step.

Writes OUT/results.json and OUT/comparison.png (input | L1 | L1 + cGAN | L1 + cGAN in eval mode | target).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import gankit
from benchmarks.common import add_overrides, over_checkpoints, run_main, train_or_resume, trained_for
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.images import grid, save_png
from gankit.metrics.image_quality import laplacian_fd, psnr, ssim

OBJECTIVES = {"L1": 0.0, "L1+cGAN": 1.0}  # label -> lambda_GAN (lambda_L1 = 100 in both)
# test mode -> (what its results' keys add to the objective's label, how its goal line names it)
MODES = {"paper": ("", "paper's test mode"), "eval": (" (eval)", "eval mode, for comparison")}


def held_out(spec: str, img_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every test pair, inputs and targets in [0, 1]."""
    data = load_dataset(DataConfig(spec=spec, img_size=img_size, split="test"))
    items = [data[(i, 0)][0] for i in range(len(data))]
    return (torch.stack([it["A"] for it in items]).float() / 255, torch.stack([it["B"] for it in items]).float() / 255)


def score(model, A: torch.Tensor, B: torch.Tensor) -> tuple[dict[str, dict], dict[str, torch.Tensor]]:
    """PSNR, SSIM and the Laplacian FD of the model's translations of the held-out inputs, and the translations,
    by test mode (the model is left in the last one)."""
    metrics, fakes = {}, {}
    for mode in MODES:
        model.set_test_mode(mode)
        fakes[mode] = fake = model.translate(A, seed=0)
        p_db = psnr(fake, B)
        metrics[mode] = {"psnr_db": float(p_db[torch.isfinite(p_db)].mean()), "ssim": float(ssim(fake, B).mean()),
                         **laplacian_fd(B, fake, seed=0)}
    return metrics, fakes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="edges", help="a paired built-in task (edges, colorize) with its photos")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--img-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="bench-runs/pix2pix_l1")
    p.add_argument("--only", choices=list(OBJECTIVES), help="train and score one objective only (no comparison)")
    p.add_argument("--curve", action="store_true", help="also score every checkpoint both runs kept")
    add_overrides(p, "both runs")
    a = p.parse_args()
    if a.curve and a.only:
        p.error("--curve compares the two runs checkpoint by checkpoint: give it without --only")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    A, B = held_out(a.data, a.img_size)
    print(f"held-out pairs: {len(A)} of {a.img_size}x{a.img_size} from {a.data}")
    results, outputs, curves = {}, {}, {}
    for label, lambda_gan in OBJECTIVES.items():
        if a.only and label != a.only:
            continue
        run_dir = out / label.replace("+", "_")
        seconds = train_or_resume("pix2pix", a.data, [f"data.img_size={a.img_size}", f"model.lambda_GAN={lambda_gan}",
                                                      f"train.batch_size={a.batch}", "train.tensorboard=false",
                                                      "train.checkpoint_every=1000", *a.set], a.steps, run_dir,
                                   a.seed)
        model = gankit.load(run_dir)
        metrics, fakes = score(model, A, B)
        for mode, (suffix, _) in MODES.items():
            key = label + suffix
            results[key], outputs[key] = {**metrics[mode], "trained": trained_for(seconds)}, fakes[mode]
            print(key, json.dumps(results[key]), flush=True)
        if a.curve:  # metrics only: the translations of every checkpoint are not kept
            curves[label] = over_checkpoints(run_dir, model.trained_steps, metrics, lambda m: score(m, A, B)[0])
    if a.only:
        return
    results["targets_vs_themselves_fd_lap_mean"] = laplacian_fd(B, B, seed=1)["fd_lap_mean"]
    show = torch.linspace(0, len(A) - 1, 8).round().long()
    cols = [A[show].expand(-1, 3, -1, -1), outputs["L1"][show], outputs["L1+cGAN"][show],
            outputs["L1+cGAN (eval)"][show], B[show]]
    save_png(grid(torch.stack(cols, 1).flatten(0, 1), nrow=len(cols), min_tile=a.img_size), out / "comparison.png")
    print("\n| objective | test mode | PSNR (dB) | SSIM | FD lap0 | FD lap1 | FD lap2 | FD mean |\n"
          "|---|---|---|---|---|---|---|---|")
    for mode, (suffix, _) in MODES.items():
        for label in OBJECTIVES:
            r = results[label + suffix]
            print(f"| {label} | {mode} | {r['psnr_db']:.2f} | {r['ssim']:.3f} | {r['fd_lap0']:.1f} | "
                  f"{r['fd_lap1']:.1f} | {r['fd_lap2']:.1f} | {r['fd_lap_mean']:.1f} |")
    print()
    for suffix, which in MODES.values():
        l1, gan = results["L1" + suffix], results["L1+cGAN" + suffix]
        lower = gan["fd_lap_mean"] < l1["fd_lap_mean"]
        cost = l1["psnr_db"] - gan["psnr_db"]
        print(f"goal (cGAN FD lower, PSNR cost <= 1 dB), {which}: FD {'lower' if lower else 'NOT lower'} "
              f"({gan['fd_lap_mean']:.1f} vs {l1['fd_lap_mean']:.1f}), PSNR cost {cost:.2f} dB -> "
              f"{'met' if lower and cost <= 1 else 'NOT met'}")
    if a.curve:
        results["by_checkpoint"] = print_curve(curves)
    (out / "results.json").write_text(json.dumps({"settings": vars(a), "results": results}, indent=2) + "\n")


def print_curve(curves: dict[str, dict]) -> dict:
    """The PSNR cost and both FDs at every step both runs kept a checkpoint for, printed as a table and returned
    for results.json."""
    steps = sorted(set(curves["L1"]) & set(curves["L1+cGAN"]))
    print("\n| step | test mode | PSNR L1 | PSNR L1+cGAN | PSNR cost (dB) | FD mean L1 | FD mean L1+cGAN |\n"
          "|---|---|---|---|---|---|---|")
    table = {}
    for step in steps:
        for mode in MODES:
            l1, gan = curves["L1"][step][mode], curves["L1+cGAN"][step][mode]
            row = {"psnr_l1": l1["psnr_db"], "psnr_cgan": gan["psnr_db"], "cost_db": l1["psnr_db"] - gan["psnr_db"],
                   "fd_l1": l1["fd_lap_mean"], "fd_cgan": gan["fd_lap_mean"]}
            table[f"{step} {mode}"] = row
            print(f"| {step} | {mode} | {row['psnr_l1']:.2f} | {row['psnr_cgan']:.2f} | {row['cost_db']:.2f} | "
                  f"{row['fd_l1']:.1f} | {row['fd_cgan']:.1f} |")
    return table


if __name__ == "__main__":
    run_main(main)
