"""Training speed of every system, one command:

    python -m benchmarks.engineering.speed [--systems dcgan-64 ...] [--modes fp32 bf16 compile ...] [--batch 64]
                                           [--steps 20] [--warmup 5] [--repeats 1] [--ddp N] [--device auto]
                                           [--no-plain] [--profile] [--set KEY=VALUE ...]

Each (system, mode) trains in its own process through gankit's own trainer (so the numbers include the data
stream, the step and the loop, and peak memory is that run's alone) with `train.deterministic=false`, and
reports the images per second it consumed after `--warmup` steps, the step time and the peak memory (GPU:
max allocated; CPU: the process's peak resident set). FLOPs per training step are counted once per system with
torch's FlopCounterMode over one eager step (forward and backward of every network, all critic iterations);
on a GPU, model FLOP utilisation is those FLOPs per second over this GPU's measured bf16 matmul peak.

`plain loop` is DCGAN-64 written the way the reference examples write it (the same G and D modules, sigmoid
+ BCELoss, a per-item Dataset through a shuffling DataLoader, D's gradients computed during G's update, stock
Adam, `.item()` every step), timed the same way in its own process: the yardstick for the trainer's overhead
and for what its options buy.

`--profile` adds one more run per row under torch's profiler (not timed: the profiler slows it) and prints the
shares of the step in convolutions, matrix products, normalization, activations, the optimizer, copies, other
operators, and outside operators (Python, the loop, waiting).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import run_main
from benchmarks.engineering.children import run_child, spawn, spawn_median

# name -> (model, data spec, overrides). Images are 64x64 RGB (the built-in digits, resized and replicated to
# three channels) so the networks are the papers' 64x64 ones; the 2-D GAN is the PacGAN MLP.
SYSTEMS = {
    "dcgan-64": ("dcgan", "digits", ["data.img_size=64", "data.channels=3"]),
    "cgan-64": ("cgan", "digits", ["data.img_size=64", "data.channels=3"]),
    "lsgan-64": ("lsgan", "digits", ["data.img_size=64", "data.channels=3"]),
    "wgan-64": ("wgan", "digits", ["data.img_size=64", "data.channels=3"]),
    "wgan-gp-64": ("wgan-gp", "digits", ["data.img_size=64", "data.channels=3"]),
    "gan-2d (MLP)": ("gan", "ring8", []),
    # The translation papers' setting: 256x256, batch 1 (run with --batch 1). pix2pix on edge maps -> photos cut
    # from scikit-learn's photos; CycleGAN on those two photos as two one-image domains (timing only).
    # The other image systems at their papers' small-image settings (for the layout's before/after on each).
    "infogan-32": ("infogan", "digits", ["data.img_size=32"]),
    "bigan-32": ("bigan", "digits", ["data.img_size=32"]),
    "anogan-64": ("anogan", "digits", ["data.img_size=64"]),
    "triplegan-32": ("triplegan", "digits", ["data.img_size=32"]),
    "simgan-32": ("simgan", "digits", ["data.real=digits", "data.img_size=32", "model.pretrain_r=0",
                                       "model.pretrain_d=0"]),
    "stargan-64": ("stargan", "digits", ["data.img_size=64"]),  # the digits as ten domains
    "lapgan-32": ("lapgan", "digits", ["data.img_size=32"]),
    "pggan-cpu-32": ("pggan-cpu", "digits", ["data.img_size=32", "model.start_res=32"]),  # at its full size
    "enhancenet-128": ("enhancenet", "cbsd68", ["data.img_size=128"]),  # 32x32 inputs -> 128x128 crops
    "pix2pix-256": ("pix2pix", "edges", ["data.img_size=256"]),
    "cyclegan-256": ("cyclegan", "photos-unpaired", ["data.img_size=256", "data.load_size=286"]),
}
DEFAULT_SYSTEMS = [name for name in SYSTEMS if not name.endswith("-256")]
MODES = {  # "fp32" / "bf16": gankit's defaults (train.channels_last=auto); the others fix the layout
    "fp32": [],
    "fp32 NCHW": ["train.channels_last=false"],
    "fp32 channels-last": ["train.channels_last=true"],
    "fp32 compile": ["train.compile=true"],
    "fp32 compile channels-last": ["train.compile=true", "train.channels_last=true"],
    "bf16": ["train.precision=bf16"],
    "bf16 compile channels-last": ["train.precision=bf16", "train.compile=true", "train.channels_last=true"],
}
QUIET = ["train.deterministic=false", "train.tensorboard=false", "train.log_every=1000000",
         "train.sample_every=1000000", "train.checkpoint_every=1000000"]


def _data(spec: str) -> str:
    """The data spec to train on; 'photos-unpaired' is written on first use: trainA/ and trainB/ holding one of
    scikit-learn's two sample photos each."""
    if spec == "cbsd68" and not os.environ.get("GANKIT_DATA"):
        from benchmarks.common import SHARED_DATA

        return f"cbsd68:{SHARED_DATA / 'sr'}"
    if spec != "photos-unpaired":
        return spec
    import tempfile

    from PIL import Image
    from sklearn.datasets import load_sample_images

    root = Path(tempfile.gettempdir()) / "gankit-speed-photos"
    for domain, photo in zip("AB", load_sample_images().images):
        (root / f"train{domain}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo).save(root / f"train{domain}" / "photo.png")
    return f"unpaired:{root}"


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


# ------------------------------------------------------------------------------------------ child jobs


def child_gankit(job: dict) -> dict:
    import gankit
    from gankit.train.hooks import Hook

    model, data, overrides = SYSTEMS[job["system"]]
    data = _data(data)
    marks = {}

    profiler = None
    if job.get("profile"):
        import torch

        profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])

    class Timer(Hook):  # marks the end of the warm-up step and of the last step (before any final grid/save)
        def step(self, tr):
            if tr.step in (job["warmup"], job["warmup"] + job["steps"]):
                _sync(tr.device)
                i = 0 if tr.step == job["warmup"] else 1
                marks[f"t{i}"], marks[f"drawn{i}"], marks["device"] = time.perf_counter(), tr.stream.drawn, tr.device
                if i == 0 and tr.device.type == "cuda":  # the timed steps' peak, not compilation's or the grid's
                    import torch

                    torch.cuda.reset_peak_memory_stats(tr.device)
                if profiler is not None:
                    profiler.start() if i == 0 else profiler.stop()

    with tempfile.TemporaryDirectory() as tmp:
        gankit.train(model, data, overrides=[*overrides, *MODES[job["mode"]], *QUIET, *job.get("overrides", [])],
                     steps=job["warmup"] + job["steps"], batch_size=job["batch"], out=Path(tmp) / "run",
                     device=job["device"], progress=False, hooks=[Timer()])
    seconds = marks["t1"] - marks["t0"]
    images = (marks["drawn1"] - marks["drawn0"]) * job["batch"]
    if profiler is not None:
        return {"shares": where_time_goes(profiler.key_averages(), seconds)}
    out = {"img_per_s": images / seconds, "step_ms": 1000 * seconds / job["steps"],
           "peak_mb": _peak_memory_mb(marks["device"])}
    if "compile" in job["mode"]:  # compile errors are suppressed (eager fallback): say whether it compiled at all
        from torch._dynamo.utils import counters

        out["compiled_graphs"] = int(counters["stats"]["unique_graphs"])
    return out


# What each kind of operator is called in the profiler (first match wins); the rest are "other ops".
OP_KINDS = {"convolution": ("convolution", "conv1d", "conv2d", "conv3d", "conv_transpose"),
            "matrix products": ("mm", "matmul", "linear"),
            "normalization": ("batch_norm", "layer_norm", "instance_norm", "group_norm"),
            "activations": ("relu", "tanh", "sigmoid", "threshold", "elu", "clamp"),
            "optimizer": ("adam", "foreach", "optimizer"), "copies": ("copy", "contiguous", "clone")}


def where_time_goes(events, seconds: float) -> dict[str, float]:
    """Shares of the timed wall time: each operator kind's self time on the calling thread (an operator's
    parallel work inside it included), and what ran outside operators (Python, the loop, waiting)."""
    total = {kind: 0.0 for kind in [*OP_KINDS, "other ops"]}
    for e in events:
        name = e.key.lower()
        kind = next((k for k, words in OP_KINDS.items() if any(w in name for w in words)), "other ops")
        total[kind] += e.self_cpu_time_total / 1e6
    shares = {kind: t / seconds for kind, t in total.items()}
    shares["outside operators"] = max(0.0, 1.0 - sum(shares.values()))
    return shares


def child_flops(job: dict) -> dict:
    """FLOPs of one eager training step (all networks, forward and backward, penalties' double backward).

    Counted per operator with the formulas torch's FlopCounterMode uses (its registry); the mode itself is not
    used because its per-module tracking breaks torch.autograd.grad (WGAN-GP's penalty)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class FlopCounter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.total = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            count = flop_registry.get(func._overloadpacket)
            if count is not None:
                self.total += count(*args, **(kwargs or {}), out_val=out)
            return out

    from gankit.api import _prepare
    from gankit.config import resolve_config
    from gankit.runtime.distributed import SINGLE
    from gankit.train.trainer import Trainer

    model, data, overrides = SYSTEMS[job["system"]]
    data = _data(data)
    cfg = resolve_config({"model": {"name": model}},
                         [f"data.spec={data}", *overrides, *QUIET, f"train.batch_size={job['batch']}",
                          f"train.device={job['device']}", *job.get("overrides", [])])
    dataset, net, device = _prepare(cfg, SINGLE)
    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(cfg, Path(tmp), net, dataset, device, [])
        net.train()
        net.train_step(tr.stream, 0)  # warm up (lazy init) outside the count
        with FlopCounter() as counter:
            net.train_step(tr.stream, 1)
    _sync(device)
    return {"flops": counter.total, "device": torch.cuda.get_device_name(device) if device.type == "cuda"
            else "cpu"}


def child_matmul_peak(job: dict) -> dict:
    """This GPU's achievable dense bf16 matmul rate (the denominator of model FLOP utilisation)."""
    import torch

    n = 8192
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(500):  # about a second on an H100: clocks and power settle before timing
        a @ b
    torch.cuda.synchronize()
    iters = 200
    t0 = time.perf_counter()
    for _ in range(iters):
        a @ b
    torch.cuda.synchronize()
    return {"flops_per_s": 2 * n**3 * iters / (time.perf_counter() - t0)}


def child_plain(job: dict) -> dict:
    """DCGAN-64 as the reference examples write it; the same G and D modules as gankit's."""
    import torch
    from torch import nn

    from gankit.config import DataConfig
    from gankit.data import load_dataset
    from gankit.nn import DCGANDiscriminator, DCGANGenerator, dcgan_init

    device = torch.device("cuda" if job["device"] in ("auto", "cuda") and torch.cuda.is_available() else "cpu")
    images = load_dataset(DataConfig(spec="digits", img_size=64, channels=3)).images  # uint8 (N, 3, 64, 64)

    class Images(torch.utils.data.Dataset):  # one item at a time, normalised on the fly, like ImageFolder
        def __len__(self):
            return len(images)

        def __getitem__(self, i):
            return images[i].float().div(127.5).sub(1.0), 0

    loader = torch.utils.data.DataLoader(Images(), batch_size=job["batch"], shuffle=True, drop_last=True,
                                         num_workers=job["plain_workers"])
    nz = 100
    G = DCGANGenerator(nz, 64, 3, 64)
    D = nn.Sequential(DCGANDiscriminator(64, 3, 64), nn.Sigmoid())
    g = torch.Generator().manual_seed(0)  # a CPU generator: initialise on the CPU, then move
    dcgan_init(G, g)
    dcgan_init(D, g)
    G, D = G.to(device), D.to(device)
    criterion = nn.BCELoss()
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    total = job["warmup"] + job["steps"]
    step = 0
    t0 = None
    while step < total:
        for real, _ in loader:
            if step == job["warmup"]:
                _sync(device)
                t0 = time.perf_counter()
            if step == total:
                break
            real = real.to(device)
            b = real.size(0)
            D.zero_grad()
            label = torch.full((b,), 1.0, device=device)
            err_real = criterion(D(real).view(-1), label)
            err_real.backward()
            fake = G(torch.randn(b, nz, 1, 1, device=device))
            label.fill_(0.0)
            err_fake = criterion(D(fake.detach()).view(-1), label)
            err_fake.backward()
            opt_D.step()
            G.zero_grad()
            label.fill_(1.0)
            err_G = criterion(D(fake).view(-1), label)
            err_G.backward()
            opt_G.step()
            _ = (err_real + err_fake).item(), err_G.item()  # the examples print these every step
            step += 1
    _sync(device)
    seconds = time.perf_counter() - t0
    return {"img_per_s": job["steps"] * job["batch"] / seconds, "step_ms": 1000 * seconds / job["steps"],
            "peak_mb": _peak_memory_mb(device)}


def child_ddp(job: dict) -> dict:
    """The same training under `torchrun --nproc_per_node=N` (gloo on CPU, NCCL on GPUs), timed from the
    stats rows rank 0 writes (wall-clock time at each step)."""
    model, data, overrides = SYSTEMS[job["system"]]
    data = _data(data)
    n = job["nproc"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        every = math.gcd(job["warmup"], job["steps"])  # rows at the warm-up step and the last, few syncs between
        sets = [*overrides, *MODES[job["mode"]], *QUIET, f"train.log_every={every}", *job.get("overrides", [])]
        args = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}",
                "-m", "gankit", "train", model, "--data", data, "--steps", str(job["warmup"] + job["steps"]),
                "--batch-size", str(job["batch"]), "--out", str(out), "--device", job["device"], "--quiet",
                *[x for s in sets for x in ("--set", s)]]
        threads = max(1, (os.cpu_count() or 1) // n)
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        proc = subprocess.run(args, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1])
        rows = {r["step"]: r for r in map(json.loads, (out / "stats.jsonl").read_text().splitlines())}
        from gankit.train import checkpoint

        ck, _ = checkpoint.latest(out / "checkpoints")  # the format a single process writes, readable here
    seconds = rows[job["warmup"] + job["steps"]]["time"] - rows[job["warmup"]]["time"]
    return {"img_per_s": job["steps"] * job["batch"] / seconds, "step_ms": 1000 * seconds / job["steps"],
            "peak_mb": 0.0, "checkpoint_step": ck.step, "threads_per_process": threads}


CHILDREN = {"gankit": child_gankit, "ddp": child_ddp, "flops": child_flops, "peak": child_matmul_peak,
            "plain": child_plain}


def _line(system: str, mode: str, batch: int, r: dict, extra: str = "") -> str:
    spread = ""
    if len(r.get("all_img_per_s", [])) > 1:
        spread = f" (runs {min(r['all_img_per_s']):.1f}-{max(r['all_img_per_s']):.1f})"
    return (f"{system:14} {mode:28} b{batch:<4} {r.get('img_per_s', 0):9.1f} img/s{spread} "
            f"{r.get('step_ms', 0):9.1f} ms/step  peak {r.get('peak_mb', 0):7.0f} MB{extra} {r.get('error', '')}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--systems", nargs="+", default=DEFAULT_SYSTEMS, choices=list(SYSTEMS))
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    p.add_argument("--batch", type=int, nargs="+", default=[64])
    p.add_argument("--steps", type=int, default=20, help="timed steps per run")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (compilation happens here)")
    p.add_argument("--repeats", type=int, default=1, help="runs per row (fresh processes); the median is shown")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-plain", action="store_true", help="skip the plain-loop DCGAN-64 yardstick")
    p.add_argument("--plain-workers", type=int, default=0, help="DataLoader workers of the plain loop")
    p.add_argument("--ddp", type=int, default=0, metavar="N",
                   help="also time fp32 under torchrun with N processes (gloo on CPU, NCCL on GPUs)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                   help="a config override for every gankit row, after the benchmark's own (e.g. "
                        "train.deterministic=true: gankit's untouched default)")
    p.add_argument("--profile", action="store_true",
                   help="after each row, one more run under torch's profiler: where the step's time goes")
    p.add_argument("--json", help="also write every result here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        return run_child(a.child, CHILDREN)

    import torch

    on_gpu = a.device in ("auto", "cuda") and torch.cuda.is_available()
    if on_gpu and a.profile:
        sys.exit("--profile reads the CPU's time only: on a GPU, use torch.profiler with CUDA activity")
    where = torch.cuda.get_device_name() if on_gpu else f"CPU, {os.cpu_count()} cores, torch {torch.__version__}"
    print(f"# {where}; {a.steps} timed steps after {a.warmup} warm-up steps, median of {a.repeats} run(s); "
          f"{' '.join(['train.deterministic=false', *a.sets])}", flush=True)
    peak = spawn({"kind": "peak"})["flops_per_s"] if on_gpu else None
    if peak:
        print(f"# measured bf16 matmul peak: {peak / 1e12:.0f} TFLOP/s", flush=True)
    results = []
    for batch in a.batch:
        base = {"batch": batch, "steps": a.steps, "warmup": a.warmup, "device": a.device, "overrides": a.sets}
        plain = None
        if not a.no_plain and "dcgan-64" in a.systems:
            plain = spawn_median({**base, "kind": "plain", "plain_workers": a.plain_workers}, a.repeats)
            results.append({"system": "dcgan-64", "mode": "plain loop (fp32)", "batch": batch, **plain})
            print(_line("dcgan-64", "plain loop (fp32)", batch, plain), flush=True)
        for system in a.systems:
            flops = spawn({**base, "kind": "flops", "system": system})
            gflop = flops.get("flops", 0) / 1e9
            print(f"{system:14} {'FLOPs per step':28} b{batch:<4} {gflop:9.2f} GFLOP {flops.get('error', '')}",
                  flush=True)
            for mode in a.modes:
                r = spawn_median({**base, "kind": "gankit", "system": system, "mode": mode}, a.repeats)
                row = {"system": system, "mode": mode, "batch": batch, "gflop_per_step": gflop, **r}
                extra = ""
                if "error" not in r:
                    if plain and system == "dcgan-64" and "img_per_s" in plain:
                        row["vs_plain"] = r["img_per_s"] / plain["img_per_s"]
                        extra += f"  x{row['vs_plain']:.2f} vs plain"
                    if gflop:
                        row["gflop_per_s"] = gflop * 1000 / r["step_ms"]
                        extra += f"  {row['gflop_per_s']:.0f} GFLOP/s"
                    if peak and gflop:
                        row["mfu"] = row["gflop_per_s"] * 1e9 / peak
                        extra += f"  MFU {100 * row['mfu']:.1f}%"
                results.append(row)
                print(_line(system, mode, batch, r, extra), flush=True)
                if a.profile:
                    shares = spawn({**base, "kind": "gankit", "system": system, "mode": mode, "profile": True})
                    row["time_shares"] = shares.get("shares")
                    parts = "  ".join(f"{k} {100 * v:.1f}%" for k, v in shares.get("shares", {}).items())
                    print(f"{'':14} {'  where the time goes':28} {parts} {shares.get('error', '')}", flush=True)
            if a.ddp:
                mode = f"fp32 torchrun x{a.ddp}"
                r = spawn_median({**base, "kind": "ddp", "system": system, "mode": "fp32", "nproc": a.ddp},
                                 a.repeats)
                results.append({"system": system, "mode": mode, "batch": batch, **r})
                extra = f"  ({r.get('threads_per_process')} threads each; checkpoint step {r.get('checkpoint_step')})"
                print(_line(system, mode, batch, r, extra), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({"device": where, "peak_flops_per_s": peak, "rows": results}, indent=1))


if __name__ == "__main__":
    run_main(main)
