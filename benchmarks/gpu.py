"""Every GPU number in one command, within about 8 minutes on one H100:

    python -m benchmarks.gpu [--out runs/bench-gpu] [--budget 390] [--limit 540]

(from a checkout without gankit installed: `PYTHONPATH=src python -m benchmarks.gpu --out DIR`)

- the GPU's measured dense bf16 matmul rate (the denominator of model FLOP utilisation);
- DCGAN-64 images per second at batch 64 and 256 in fp32, bf16, and bf16 + torch.compile + channels-last, with MFU
  (FLOPs of one eager training step, counted per operator, times steps per second, over the measured peak), and
  fp32 at batch 64 with gankit's untouched defaults (train.deterministic=true: deterministic algorithms, no
  cudnn.benchmark), which the other rows turn off;
- CycleGAN-256 and pix2pix-256 milliseconds per iteration at batch 1 (the papers' setting), fp32 and bf16 + compile
  + channels-last;
- sampling throughput (DCGAN-64 generator, batches of 500, each copied to the host) and `gankit evaluate` images
  per second (the model and its samples on the GPU, gankit's small feature networks on the CPU);
- DCGAN-64 under torchrun with 2 processes (NCCL) when 2 GPUs are present.

Each row runs in its own process through gankit's own trainer (benchmarks/engineering/speed.py's children). A row
that would start after `--budget` seconds is skipped and said so, and a row still running at `--limit` seconds is
stopped and said so. OUT/gpu.json and OUT/gpu.md (one table, with the GPU's name) are rewritten after every row, so
a run cut short still leaves what it measured. `--tiny` runs the same rows on the CPU at toy sizes in seconds: the
test suite does, so the command is known to work the day a GPU is at hand.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import run_main
from benchmarks.engineering.children import run_child, spawn

FULL = {"device": "cuda", "steps": 30, "warmup": 10, "dcgan_batches": [64, 256],
        "dcgan_modes": ["fp32", "bf16", "bf16 compile channels-last"],
        "translation_modes": ["fp32", "bf16 compile channels-last"], "sample_n": 20_000, "eval_n": 10_000,
        # CycleGAN decodes and resizes two photos a step: in worker processes, so the row measures the GPU
        "overrides": {"cyclegan-256": ["data.workers=4"]}}
# Toy sizes for the CPU: the same code paths (compile included), seconds instead of minutes.
TINY = {"device": "cpu", "steps": 2, "warmup": 1, "dcgan_batches": [8],
        "dcgan_modes": ["fp32", "fp32 compile"], "translation_modes": ["fp32"], "sample_n": 64, "eval_n": 64,
        "overrides": {"dcgan-64": ["data.img_size=16", "model.base_channels=4"],
                      "pix2pix-256": ["data.img_size=32", "data.load_size=36", "model.base_channels=4",
                                      "model.d_base_channels=4"],
                      "cyclegan-256": ["data.img_size=32", "data.load_size=36", "model.base_channels=4",
                                       "model.n_blocks=1"]}}


def child_sample(job: dict) -> dict:
    """Images per second drawn from a DCGAN-64 generator (random weights: the speed does not depend on them)."""
    import torch

    from benchmarks.engineering.speed import SYSTEMS, _sync
    from gankit.api import _prepare
    from gankit.config import resolve_config
    from gankit.runtime.distributed import SINGLE
    from gankit.tasks.sample import generate

    model, data, overrides = SYSTEMS["dcgan-64"]
    cfg = resolve_config({"model": {"name": model}}, [f"data.spec={data}", *overrides, f"train.device={job['device']}",
                                                      *job.get("overrides", [])])
    _, net, device = _prepare(cfg, SINGLE)
    generate(net, 500, seed=0)  # warm up
    _sync(device)
    t0 = time.perf_counter()
    generate(net, job["n"], seed=1)
    _sync(device)
    seconds = time.perf_counter() - t0
    return {"img_per_s": job["n"] / seconds, "device": torch.cuda.get_device_name(device)
            if device.type == "cuda" else "cpu"}


def child_evaluate(job: dict) -> dict:
    """`gankit evaluate` images per second on a DCGAN-64 run (the dataset's classifier trained and cached first,
    outside the timing)."""
    import gankit
    from benchmarks.engineering.speed import QUIET, SYSTEMS, _sync
    from gankit.evaluate import evaluate

    model, data, overrides = SYSTEMS["dcgan-64"]
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        gankit.train(model, data, overrides=[*overrides, *QUIET, *job.get("overrides", [])], steps=1,
                     out=run, device=job["device"], progress=False)
        evaluate(run, n=min(job["n"], 500), progress=False, device=job["device"])  # the classifier, trained and cached
        import torch

        device = torch.device(job["device"])
        _sync(device)
        t0 = time.perf_counter()
        evaluate(run, n=job["n"], progress=False, device=job["device"])
        _sync(device)
    return {"img_per_s": job["n"] / (time.perf_counter() - t0)}


CHILDREN = {"sample": child_sample, "evaluate": child_evaluate}


def spawn_here(job: dict, timeout: float | None = None) -> dict:
    return spawn(job, "benchmarks.gpu", timeout=timeout)


def plan(p: dict) -> list[tuple[str, dict, callable]]:
    """(row name, job, spawner) in the order they run: the cheap, most wanted rows first."""
    rows = []
    if p["device"] == "cuda":
        rows.append(("bf16 matmul peak", {"kind": "peak"}, spawn))
    for batch in p["dcgan_batches"]:
        rows.append((f"dcgan-64 FLOPs/step b{batch}", {"kind": "flops", "system": "dcgan-64", "batch": batch}, spawn))
    for batch in p["dcgan_batches"]:
        for mode in p["dcgan_modes"]:
            rows.append((f"dcgan-64 {mode} b{batch}", {"kind": "gankit", "system": "dcgan-64", "mode": mode,
                                                       "batch": batch}, spawn))
    batch = p["dcgan_batches"][0]
    rows.append((f"dcgan-64 fp32 untouched defaults b{batch}", {"kind": "gankit", "system": "dcgan-64",
                                                                "mode": "fp32", "batch": batch,
                                                                "defaults": ["train.deterministic=true"]}, spawn))
    for system in ("cyclegan-256", "pix2pix-256"):
        for mode in p["translation_modes"]:
            rows.append((f"{system} {mode} b1", {"kind": "gankit", "system": system, "mode": mode, "batch": 1}, spawn))
    rows.append(("sampling dcgan-64", {"kind": "sample", "n": p["sample_n"]}, spawn_here))
    rows.append(("gankit evaluate dcgan-64", {"kind": "evaluate", "n": p["eval_n"]}, spawn_here))
    if p["device"] == "cuda":
        import torch

        if torch.cuda.device_count() >= 2:
            rows.append(("dcgan-64 torchrun x2 fp32 b256", {"kind": "ddp", "system": "dcgan-64", "mode": "fp32",
                                                             "batch": 256, "nproc": 2}, spawn))
    for _, job, _ in rows:
        job.update({"device": p["device"], "steps": p["steps"], "warmup": p["warmup"]})
        job["overrides"] = [*p["overrides"].get(job.get("system", "dcgan-64"), []), *job.pop("defaults", [])]
    return rows


def table(results: dict, device: str) -> str:
    peak = results.get("bf16 matmul peak", {}).get("flops_per_s")
    lines = [f"Device: {device}. " + (f"Measured bf16 matmul peak: {peak / 1e12:.0f} TFLOP/s." if peak else
                                       "No peak measured (not a GPU): no MFU."),
             "", "| row | img/s | ms/iter | peak memory (MB) | MFU |", "|---|---|---|---|---|"]
    for name, r in results.items():
        if name == "bf16 matmul peak" or "FLOPs" in name:
            continue
        if "error" in r or "skipped" in r:
            lines.append(f"| {name} | {r.get('error') or r.get('skipped')} | | | |")
            continue
        mfu = ""
        flops = results.get(f"dcgan-64 FLOPs/step b{name.rsplit('b', 1)[-1]}", {}).get("flops")
        if peak and flops and name.startswith("dcgan-64") and "torchrun" not in name:
            batch = int(name.rsplit("b", 1)[-1])
            mfu = f"{100 * flops * r['img_per_s'] / batch / peak:.1f} %"
        if r.get("compiled_graphs") == 0:
            name += " (compile fell back to eager)"
        step = f"{r['step_ms']:.1f}" if "step_ms" in r else ""
        memory = f"{r['peak_mb']:.0f}" if r.get("peak_mb") else ""
        lines.append(f"| {name} | {r['img_per_s']:.1f} | {step} | {memory} | {mfu} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/bench-gpu")
    p.add_argument("--budget", type=float, default=390, help="seconds after which no new row starts (default 390)")
    p.add_argument("--limit", type=float, default=540,
                   help="seconds after which a running row is stopped (default 540: the tables are out before 600)")
    p.add_argument("--tiny", action="store_true", help="toy sizes on the CPU (the test suite's check)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        return run_child(a.child, CHILDREN)
    settings = TINY if a.tiny else FULL
    if not a.tiny:
        import torch

        if not torch.cuda.is_available():
            sys.exit("benchmarks.gpu needs a CUDA GPU (use --tiny for the CPU check)")
        device = torch.cuda.get_device_name(0)
    else:
        device = "cpu (tiny sizes: a check that the command works, not a measurement)"
    t0 = time.perf_counter()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for name, job, run in plan(settings):
        elapsed = time.perf_counter() - t0
        if elapsed > a.budget:
            results[name] = {"skipped": f"not run: over the {a.budget:.0f} s budget"}
        else:
            results[name] = run(job, timeout=max(1.0, a.limit - elapsed))
            print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
        (out / "gpu.json").write_text(json.dumps({"device": device, "seconds": round(time.perf_counter() - t0),
                                                  "rows": results}, indent=2) + "\n")
        (out / "gpu.md").write_text(table(results, device))
    print(table(results, device))


if __name__ == "__main__":
    run_main(main)
