"""StarGAN's mask vector on real digits: colour from one dataset, width from another (issue 6).

    python -m benchmarks.stargan_mnist [--steps 4000] [--base-channels 32] [--n 2000] [--root ../shared/data]
                                       [--set model.KEY=VALUE ...] [--curve [FROM_STEP]]
                                       [--judge plain|varied] [--out runs/bench-stargan]

`gankit train stargan --data mnist-attrs` (the first 10,000 MNIST training digits, each given a random stroke colour
and width; dataset A, half the images, is labelled with the colour only, dataset B with the width only) with the
paper's objective and optimiser at 32x32, `--base-channels` for G and D on this CPU. Judges trained on the same
transformed training images with every label (a small CNN each: colour, width, digit; with `--judge varied` the
digit judge also sees its training digits redrawn with random slant, scale, shear, stroke width and blur) then read
the translations of `--n` held-out test digits:
- target accuracy: for each target (red, green, blue: dataset A's labels; thick, thin: dataset B's), the share of
  translations the judge reads as that target;
- digit identity: the share whose digit the digit judge still reads as the source's (also apart: among the sources
  that had to change, and among those already at the target);
- cross-dataset combinations: colour from A and width from B on one image (two passes), both right;
- reconstruction: mean |G(G(x, c'), c) - x| (pixels in [0, 1]) back to the source's own labels.
Baselines by the same command: the untranslated images (how often they already have the target), and the exact
translation by the data's own rule (each source's grey digit rendered with the target's colour and width: what
the judges read in a perfect G). Variants of the objective by `--set` (e.g. `--set model.lambda_idt=5 --out
runs/bench-stargan-idt`); `--curve` also measures every checkpoint the run kept (`--curve 7000`: those from
step 7,000 on). The judges are trained once and kept in gankit's cache (GANKIT_CACHE, ~/.cache/gankit).
Writes OUT/results.json and OUT/translations.png (a row per test digit: the digit, then red, green, blue, thick,
thin, and the six combinations).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

import gankit
from benchmarks.common import (
    JUDGES,
    add_overrides,
    cached_judge,
    over_checkpoints,
    parser,
    run_main,
    shown_overrides,
    train_or_resume,
    trained_for,
)
from gankit.config import DataConfig
from gankit.data import load_dataset
from gankit.data.attributes import render
from gankit.images import grid, save_png
from gankit.metrics.classifier import predict
from gankit.nn import inference

COLOURS = ["red", "green", "blue"]
WIDTHS = {"thick": 1, "thin": 0}
# Each evaluation: a target, and what the judges must read: (judge, wanted class).
SINGLES = {c: ({c: 1}, [("colour", k)]) for k, c in enumerate(COLOURS)}
SINGLES |= {w: ({"thick": v}, [("width", v)]) for w, v in WIDTHS.items()}
COMBOS = {f"{c}+{w}": ({c: 1, "thick": v}, [("colour", k), ("width", v)])
          for k, c in enumerate(COLOURS) for w, v in WIDTHS.items()}


def read(judges, y, checks, digit) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image of `y`: whether the judges read every attribute of the target (`checks`), and whether the digit
    judge still reads the source's digit."""
    hit = torch.stack([predict(judges[j], y) == wanted for j, wanted in checks]).all(0)
    return hit, predict(judges["digit"], y) == digit


def exact(gray, colour, thick, target):
    """The translation by the data's own rule: the source's grey digit rendered with the target's attributes (the
    source's own where the target leaves one unsaid)."""
    k = next((i for i, c in enumerate(COLOURS) if target.get(c)), None)
    colour = colour if k is None else torch.full_like(colour, k)
    thick = thick if "thick" not in target else torch.full_like(thick, target["thick"])
    return render(gray, colour, thick).float() / 127.5 - 1


def exact_baselines(judges, gray, colour, thick, digit) -> dict[str, dict[str, float]]:
    """The ceiling, per target: what the judges read in the exact translation of every test digit (no model)."""
    rows = {}
    for name, (target, checks) in {**SINGLES, **COMBOS}.items():
        hit, kept = read(judges, exact(gray, colour, thick, target), checks, digit)
        rows[name] = {"exact_target_accuracy": float(hit.float().mean()),
                      "exact_digit_kept": float(kept.float().mean())}
    return rows


def evaluate(model, judges, x, colour, thick, digit):
    """Translate the test digits `x` to every target and read them with the judges: per target, the share with the
    target's attributes, the share whose digit is kept, and how often the untranslated digit already had them;
    the mean reconstruction error back to each source's own labels; the first 8 of each for the picture."""
    truth = {"colour": colour, "width": thick}
    rows: dict[str, dict[str, float]] = {}
    shown = {"source": x[:8]}
    with inference(model):
        for name, (target, checks) in {**SINGLES, **COMBOS}.items():
            y = torch.cat([model.retarget(part, target) for part in x.split(250)])
            shown[name] = y[:8]
            hit, kept = read(judges, y, checks, digit)
            already = torch.stack([truth[j] == wanted for j, wanted in checks]).all(0)
            rows[name] = {"target_accuracy": float(hit.float().mean()),
                          "digit_kept": float(kept.float().mean()),
                          # where G had something to change, apart from the sources already at the target
                          "digit_kept_changed": float(kept[~already].float().mean()),
                          "digit_kept_unchanged": float(kept[already].float().mean()),
                          "untranslated_baseline": float(already.float().mean())}
        # Reconstruction (the paper's L_rec): to each single target and back to the source's own labels of the
        # same dataset (colour: dataset A, mask [1, 0]; width: dataset B, mask [0, 1]).
        own = torch.cat([torch.nn.functional.one_hot(colour, 3).float(), thick[:, None].float()], 1)
        errors = []
        for name, (target, _) in SINGLES.items():
            dataset = 0 if name in COLOURS else 1
            c = own.clone()
            c[:, (3,) if dataset == 0 else (0, 1, 2)] = 0  # the other dataset's labels are unknown: zeros
            mask = torch.nn.functional.one_hot(torch.full((len(x),), dataset), 2).float()
            back = [model.G_at(model.retarget(xp, target), model.condition(cp, mp))
                    for xp, cp, mp in zip(x.split(250), c.split(250), mask.split(250))]
            errors.append(float(((torch.cat(back) - x).abs() / 2).mean()))
    rec = sum(errors) / len(errors)
    return rows, rec, shown


def summary(rows, rec) -> dict[str, float]:
    single = [rows[k]["target_accuracy"] for k in SINGLES]
    combo = [rows[k]["target_accuracy"] for k in COMBOS]
    kept = [r["digit_kept"] for r in rows.values()]
    return {"mean_target_accuracy": sum(single) / len(single), "mean_combination_accuracy": sum(combo) / len(combo),
            "mean_digit_kept": sum(kept) / len(kept), "reconstruction_l1": rec}


def main() -> None:
    p = parser(__doc__, steps=4000, out="runs/bench-stargan")
    p.add_argument("--base-channels", type=int, default=32)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--judge-steps", type=int, default=1000, help="training steps of each judge (batch 128)")
    add_overrides(p)
    p.add_argument("--curve", type=int, nargs="?", const=0, metavar="FROM_STEP",
                   help="also measure every checkpoint the run kept, or those from FROM_STEP on (each one takes "
                        "minutes on a CPU)")
    p.add_argument("--judge", choices=list(JUDGES), default="plain",
                   help="the digit judge's training: plain (shifts only; default, every table before 2026-12-05) or "
                        "varied (digits redrawn with random slant, scale, shear, stroke width and blur)")
    a = p.parse_args()

    spec = f"mnist-attrs:{Path(a.root) / 'mnist'}"
    out = Path(a.out)
    run_dir = out / "run"
    overrides = [f"model.base_channels={a.base_channels}", f"model.d_base_channels={a.base_channels}",
                 "train.tensorboard=false", "train.sample_every=500", "train.checkpoint_every=500", *a.set]
    seconds = train_or_resume("stargan", spec, overrides, a.steps, run_dir, a.seed)
    model = gankit.load(run_dir)

    # Judges on the transformed training digits, with all their labels.
    train = load_dataset(DataConfig(spec=spec))
    test = load_dataset(DataConfig(spec=spec, split="test"))
    unit = lambda data: data.images.float() / 127.5 - 1  # noqa: E731
    x_train, x_test = unit(train), unit(test)
    judges, judge_acc = {}, {}
    # Only the digit judge may see redrawn digits: thicker and thinner strokes would blur what the width judge reads.
    for name, labels, k, judge in (("colour", "colour", 3, "plain"), ("width", "thick", 2, "plain"),
                                   ("digit", "digits", 10, a.judge)):
        key = {"data": str((Path(a.root) / "mnist").resolve()), "seed": a.seed, "steps": a.judge_steps}
        judges[name], judge_acc[name] = cached_judge("stargan", name, key, x_train, getattr(train, labels), x_test,
                                                     getattr(test, labels), k, judge, max_steps=a.judge_steps,
                                                     seed=a.seed)
    x, colour, thick, digit, gray = (x_test[:a.n], test.colour[:a.n], test.thick[:a.n], test.digits[:a.n],
                                     test.gray[:a.n])

    rows, rec, shown = evaluate(model, judges, x, colour, thick, digit)
    for name, ceiling in exact_baselines(judges, gray, colour, thick, digit).items():
        rows[name] |= ceiling
    # the baseline for "digit kept": the digit judge on the same test digits untranslated, thin and thick apart
    read = predict(judges["digit"], x) == digit
    untranslated = {"all": float(read.float().mean()),
                    **{w: float(read[thick == v].float().mean()) for w, v in WIDTHS.items()}}
    curve = []
    if a.curve is not None:  # the same measures at every checkpoint the run kept (from FROM_STEP on)
        measured = over_checkpoints(run_dir, model.trained_steps, (rows, rec),
                                    lambda m: evaluate(m, judges, x, colour, thick, digit)[:2], since=a.curve)
        curve = [{"step": step, **summary(r, r_rec), "thick_target_accuracy": r["thick"]["target_accuracy"]}
                 for step, (r, r_rec) in measured.items()]

    save_png(grid((torch.stack(list(shown.values()), 1).flatten(0, 1) + 1) / 2, nrow=len(shown)),
             out / "translations.png")
    result = {"steps": model.trained_steps, "train_seconds": seconds,
              "digit_judge": a.judge, "judge_test_accuracy": judge_acc,
              "digit_kept_untranslated": untranslated, "per_target": rows, **summary(rows, rec)}
    if curve:
        result["curve"] = curve
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"stargan on mnist-attrs, {model.trained_steps} steps{shown_overrides(a.set)} "
          f"[{trained_for(seconds)}]; judges' test accuracy ({a.judge} digit judge): "
          + ", ".join(f"{k} {v:.4f}" for k, v in judge_acc.items()))
    print("  untranslated test digits: digit judge right " + ", ".join(f"{k} {v:.4f}" for k, v in untranslated.items()))
    for name, r in rows.items():
        print(f"  {name:12} target {r['target_accuracy']:.4f}  digit kept {r['digit_kept']:.4f} (sources changed "
              f"{r['digit_kept_changed']:.4f}, already there {r['digit_kept_unchanged']:.4f})  "
              f"(untranslated: target {r['untranslated_baseline']:.4f}; exact rule: target "
              f"{r['exact_target_accuracy']:.4f}, digit kept {r['exact_digit_kept']:.4f})")
    print(f"  mean: single targets {result['mean_target_accuracy']:.4f}, combinations "
          f"{result['mean_combination_accuracy']:.4f}, digit kept {result['mean_digit_kept']:.4f}, "
          f"reconstruction L1 {rec:.4f}", flush=True)
    for c in curve:
        print(f"  checkpoint {c['step']:6d}: single targets {c['mean_target_accuracy']:.4f} (thick "
              f"{c['thick_target_accuracy']:.4f}), combinations {c['mean_combination_accuracy']:.4f}, digit kept "
              f"{c['mean_digit_kept']:.4f}, reconstruction L1 {c['reconstruction_l1']:.4f}")


if __name__ == "__main__":
    run_main(main)
