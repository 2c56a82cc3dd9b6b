"""EnhanceNet x4 (Sajjadi et al. 2017, Table 2): pixel MSE (ENet-E) maximises PSNR but is blurry; perceptual,
adversarial and texture losses (ENet-PAT) give realistic texture at a PSNR cost (Set5: E 31.74 dB, PAT 28.56 dB,
bicubic 28.42 dB).

Trains enhancenet twice with the same command, seed and data (CBSD68's 68 colour photos, 128x128 target crops with
their bicubic 32x32 inputs, batch 8), once with model.losses=E and once with PAT (ImageNet EfficientNet-Lite0 for P
and T: VGG-19 cannot be had offline), then upscales every CSet5 photo whole (never seen in training) and reports,
beside bicubic: PSNR and SSIM on Y with a 4-pixel shave (the standard protocol), the high-frequency energy ratio
(finest Laplacian band of the output over the original's) and the Laplacian-patch Fréchet distance.
Goals: E >= bicubic + 1 dB; PAT's high-frequency ratio at least twice E's and at most 1.5, with a lower
Laplacian-patch distance than E.

    python -m benchmarks.enhancenet_x4 --steps-e 1500 --steps-pat 1500

A run already trained in OUT is evaluated again, not retrained (one stopped half way continues); `--only E` or
`--only PAT` trains one of the two, so they can run side by side (one core each). Writes OUT/results.json and
OUT/crops.png (rows: a 96x96 crop of each photo; columns: bicubic | E | PAT | original).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image

import gankit
from benchmarks.common import add_overrides, parser, run_main, shown_overrides, train_or_resume, trained_for
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.data.sr import lr_from_hr
from gankit.data.transforms import pil_to_tensor
from gankit.evaluate import make_evaluator, table
from gankit.images import grid, save_png
from gankit.metrics.image_quality import mod_crop
from gankit.nn.resize import imresize
from gankit.tasks.upscale import centre

ARMS = {"E": ["model.losses=E"], "PAT": ["model.losses=PAT"]}
COMMON = ["data.img_size=128", "train.batch_size=8", "train.tensorboard=false", "train.sample_every=500",
          "train.checkpoint_every=500"]


def crops(models: dict, spec: str, side: int = 96) -> torch.Tensor:
    """Per CSet5 photo: bicubic | each model | original, the central side x side pixels."""
    data = load_dataset(DataConfig(spec=spec, split="test"))
    rows = []
    for path in data.files:
        with Image.open(path) as img:
            hr = mod_crop(pil_to_tensor(img.convert("RGB")).float()[None] / 255, 4)
        lr = lr_from_hr((hr * 255).round().to(torch.uint8), 4).float() / 255
        shown = [imresize(lr, scale=4).clamp(0, 1), *(m.upscale(lr) for m in models.values()), hr]
        rows += [centre(x, side, side) for x in shown]
    return torch.cat(rows)


def main() -> None:
    p = parser(__doc__, steps=1500, out="runs/bench-enhancenet")
    p.add_argument("--steps-e", type=int, help="ENet-E's steps (default --steps)")
    p.add_argument("--steps-pat", type=int, help="ENet-PAT's steps (default --steps)")
    p.add_argument("--only", choices=list(ARMS), help="train (and score) one arm only")
    add_overrides(p, "both runs")
    a = p.parse_args()
    spec = f"cbsd68:{Path(a.root) / 'sr'}"
    out = Path(a.out)
    steps = {"E": a.steps_e or a.steps, "PAT": a.steps_pat or a.steps}
    arms = [a.only] if a.only else list(ARMS)
    results, models = {}, {}
    for arm in arms:
        run_dir = out / arm
        seconds = train_or_resume("enhancenet", spec, [*COMMON, *ARMS[arm], *a.set], steps[arm], run_dir, a.seed)
        models[arm] = gankit.load(run_dir)
        evaluator = make_evaluator(DataConfig(spec=spec), models[arm], progress=False)
        results[arm] = {"steps": steps[arm], "train_seconds": seconds, **evaluator(models[arm])}
        print(f"\n{arm} ({steps[arm]} steps, {trained_for(seconds)}{shown_overrides(a.set)}):\n{table(results[arm])}")
    if len(models) == 2:
        save_png(grid(crops(models, spec), nrow=len(models) + 2, min_tile=96), out / "crops.png")
        e, pat = results["E"], results["PAT"]
        print("\ngoals:")
        print(f"  E >= bicubic + 1 dB: {e['psnr_y']:.2f} vs {e['psnr_y_bicubic'] + 1:.2f} dB -> "
              f"{'met' if e['psnr_y'] >= e['psnr_y_bicubic'] + 1 else 'not met'}")
        hf_ok = 2 * e["hf_ratio"] <= pat["hf_ratio"] <= 1.5
        print(f"  PAT's HF ratio in [2 x E's, 1.5]: {pat['hf_ratio']:.3f} (E {e['hf_ratio']:.3f}) -> "
              f"{'met' if hf_ok else 'not met'}")
        lfd_ok = pat["fd_lap_mean"] < e["fd_lap_mean"]
        print(f"  PAT's Laplacian-patch FD below E's: {pat['fd_lap_mean']:.2f} vs {e['fd_lap_mean']:.2f} -> "
              f"{'met' if lfd_ok else 'not met'}")
        print(f"  PSNR cost of PAT: {e['psnr_y'] - pat['psnr_y']:.2f} dB (the paper: 3.18 dB)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    run_main(main)
