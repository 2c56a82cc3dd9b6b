"""The fault-injection sweep behind docs/reliability.md, one command:

    python -m benchmarks.engineering.faults [--model dcgan] [--kills 20] [--seed 0]
                                            [--only kill damage disk divergence images files]

Every fault is injected into a real (tiny, CPU, deterministic) run of `--model` (DCGAN by default; also InfoGAN
and BiGAN, whose own state, the code draws and the encoder, must resume exactly too), and "survived" means what a
user needs: the run continues (or stops with one clear line), and its final weights are bitwise identical to the
run that never met the fault, so nothing was lost.

- kill: SIGKILL at random moments from outside the process (some land inside a checkpoint write) and, to be sure
  the dangerous window is hit, at random phases inside the writer itself (after the tensors, after the JSON,
  just before/after the rename); then `gankit resume`.
- damage: the newest checkpoint truncated, emptied, bit-flipped, its JSON from another step, a file missing;
  then resume must fall back to the previous good checkpoint, say so, and end identical.
- disk: ENOSPC injected at random writes (checkpoint tensors, checkpoint JSON, sample PNGs, stats); the run must
  stop with one line, the previous checkpoint must verify, and a resume must end identical.
- divergence: a NaN written into a random weight at a random step; the run must roll back, finish, and never
  save a non-finite checkpoint.
- images / files: the hostile image corpus and booby-trapped model files of the test suite, counted.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import torch

import gankit
from benchmarks.common import run_main
from gankit.errors import GankitError
from gankit.train import checkpoint

STEPS = 24
SETTINGS = ["model.base_channels=8", "model.z_dim=16", "data.img_size=16", "train.batch_size=8",
            "train.log_every=2", "train.sample_every=4", "train.checkpoint_every=3", "train.n_samples=4",
            "train.tensorboard=false", "train.ema_beta=0.9", "train.lr_decay=none"]
# Per system: what makes it as tiny as the DCGAN above, and the networks a NaN may be injected into.
TINY = {"dcgan": [], "infogan": ["model.hidden=32", "model.q_hidden=16"], "bigan": ["model.width=32"]}
NETS = {"dcgan": ["G", "D"], "infogan": ["G", "D", "Q"], "bigan": ["G", "E", "D"]}
MODEL = "dcgan"  # set by --model


def final(run_dir: Path) -> dict[str, torch.Tensor]:
    ck, _ = checkpoint.latest(run_dir / "checkpoints")
    assert ck.step == STEPS, ck.step
    return {k: v for k, v in ck.tensors.items() if not k.startswith("/rng/")}


def identical(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def train(out: Path, steps: int = STEPS, hooks=()) -> None:
    gankit.train(MODEL, "digits", overrides=SETTINGS + TINY[MODEL], steps=steps, out=out, device="cpu",
                 progress=False, hooks=list(hooks))


def cli_args(out: Path) -> list[str]:
    return [sys.executable, "-m", "gankit", "train", MODEL, "--steps", str(STEPS), "--device", "cpu", "--quiet",
            "--out", str(out)] + [x for s in SETTINGS + TINY[MODEL] for x in ("--set", s)]


# ------------------------------------------------------------------------------------------- kills


IN_WRITE = textwrap.dedent("""
    import os, signal, sys
    from gankit.train import checkpoint as ck
    target, phase = int(sys.argv[1]), sys.argv[2]
    real_write, real_rename, real_dump = ck.write_tensors, os.rename, ck.json.dump
    calls = {"n": 0}
    def die():
        os.kill(os.getpid(), signal.SIGKILL)
    def write_tensors(path, tensors, metadata=None):
        calls["n"] += 1
        real_write(path, tensors, metadata)
        if calls["n"] == target and phase == "after-tensors":
            die()
    def dump(obj, f, *a, **k):
        real_dump(obj, f, *a, **k)
        if calls["n"] == target and phase == "after-json":
            f.flush(); die()
    def rename(src, dst, *a, **k):
        if calls["n"] == target and phase == "before-rename" and ".tmp-" in str(src):
            die()
        real_rename(src, dst, *a, **k)
        if calls["n"] == target and phase == "after-rename" and ".tmp-" in str(src):
            die()
    ck.write_tensors, ck.json.dump, ck.os.rename = write_tensors, dump, rename
    from gankit.cli import main
    sys.exit(main(sys.argv[3:]))
""")
PHASES = ["after-tensors", "after-json", "before-rename", "after-rename"]


ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # every process computes with the same thread count


def kill_sweep(n: int, rng: random.Random, tmp: Path) -> tuple[int, int, list[str]]:
    survived, lost, notes = 0, 0, []
    # The reference run, timed from the moment its folder exists (startup excluded) to its exit.
    proc = subprocess.Popen(cli_args(tmp / "cli-reference"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=ENV)
    while not (tmp / "cli-reference" / "config.yaml").exists():
        time.sleep(0.01)
    t0 = time.time()
    proc.wait()
    rows = (tmp / "cli-reference" / "stats.jsonl").read_text().splitlines()
    # The steps themselves: from the first logged step (2) to the last, counted from the folder's creation
    # (start-up before the first step and the exit after the last are not where a checkpoint can be hit).
    first, last = json.loads(rows[0])["time"] - t0, json.loads(rows[-1])["time"] - t0
    reference = final(tmp / "cli-reference")
    for i in range(n):
        out = tmp / f"kill{i}"
        args = cli_args(out)
        if i % 2 == 0:  # from outside, at a random moment of the run (tried again if it had already finished)
            for attempt in range(5):
                shutil.rmtree(out, ignore_errors=True)
                proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
                while not (out / "config.yaml").exists() and proc.poll() is None:
                    time.sleep(0.005)
                time.sleep(rng.uniform(first, last))
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                found = checkpoint.candidates(out / "checkpoints")
                if not (found and int(found[0].name[5:]) == STEPS):
                    break
                notes.append(f"kill {i}: attempt {attempt + 1} came after the run had finished; drawn again")
            newest = int(found[0].name[5:]) if found else 0
            how = f"external, after checkpoint {newest}" if found else "external, before the first checkpoint"
        else:  # inside the checkpoint writer, at a random write and phase
            target, phase = rng.randint(1, STEPS // 3 - 1), rng.choice(PHASES)
            how = f"write {target} {phase}"
            proc = subprocess.run([sys.executable, "-c", IN_WRITE, str(target), phase, *args[3:]],
                                  capture_output=True, env=ENV)
        try:
            found = checkpoint.candidates(out / "checkpoints")
            if found and int(found[0].name[5:]) == STEPS and checkpoint.read(found[0]):
                notes.append(f"kill {i} ({how}): the run had finished")
            else:
                subprocess.run([sys.executable, "-m", "gankit", "resume", str(out), "--quiet"], check=True,
                               capture_output=True, env=ENV)
            ok = identical(final(out), reference)
        except (GankitError, AssertionError, subprocess.CalledProcessError) as e:
            ok = False
            notes.append(f"kill {i} ({how}): {getattr(e, 'stderr', None) or e}")
        survived += ok
        lost += not ok
        print(f"  kill {i:2d} ({how}): {'identical' if ok else 'DIFFERENT'}", flush=True)
    return survived, lost, notes


# --------------------------------------------------------------------------------------- damage


def _truncate(p):
    f = p / checkpoint.TENSORS
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _flip(p):
    f = p / checkpoint.TENSORS
    data = bytearray(f.read_bytes())
    data[len(data) * 3 // 4] ^= 0x10
    f.write_bytes(bytes(data))


DAMAGE = {
    "tensors truncated": _truncate,
    "tensors zero bytes": lambda p: (p / checkpoint.TENSORS).write_bytes(b""),
    "one bit flipped": _flip,
    "JSON from another step": lambda p: (p / checkpoint.STATE).write_text(
        (p.parent / f"step_{int(p.name[5:]) - 3:08d}" / checkpoint.STATE).read_text()),
    "JSON truncated": lambda p: (p / checkpoint.STATE).write_text((p / checkpoint.STATE).read_text()[:100]),
    "tensors missing": lambda p: (p / checkpoint.TENSORS).unlink(),
    "JSON missing": lambda p: (p / checkpoint.STATE).unlink(),
}


def damage_sweep(tmp: Path, reference: dict) -> dict[str, bool]:
    """Train to step 18 (checkpoints 12, 15, 18), damage step 18, resume to 24: must fall back to 15."""
    results = {}
    for name, damage in DAMAGE.items():
        out = tmp / f"damage-{name.replace(' ', '_')}"
        train(out, steps=18)
        newest = out / "checkpoints" / "step_00000018"
        damage(newest)
        try:
            ck, problems = checkpoint.latest(out / "checkpoints")
            named = len(problems) == 1 and "step_00000018" in problems[0]
            kept = (out / "checkpoints" / "step_00000015").is_dir()
            gankit.resume(out, steps=STEPS, progress=False)
            ok = named and kept and ck.step == 15 and identical(final(out), reference)
        except (GankitError, AssertionError) as e:
            print(f"  {name}: {e}")
            ok = False
        results[name] = ok
        print(f"  damage: {name:24} {'survived, identical' if ok else 'FAILED'}", flush=True)
    return results


# ------------------------------------------------------------------------------------------- disk


def disk_sweep(n: int, rng: random.Random, tmp: Path, reference: dict) -> tuple[int, int]:
    import gankit.images as images
    import gankit.safetensors_io as io
    from gankit.train import checkpoint as ck
    from gankit.train import hooks

    survived = 0
    for i in range(n):
        out = tmp / f"disk{i}"
        where = rng.choice(["tensors", "json", "png"])
        after = rng.randint(2, 6)
        real = {"tensors": io.save_file, "json": ck.json.dump, "png": images.save_png}

        def failing(kind, after=after, calls=[0], real=real):  # noqa: B006  (a counter shared by the calls)
            def f(*a, **k):
                calls[0] += 1
                if calls[0] >= after:
                    raise OSError(errno.ENOSPC, "No space left on device", "injected")
                return real[kind](*a, **k)
            return f

        if where == "tensors":
            io.save_file = failing("tensors")
        elif where == "json":
            ck.json.dump = failing("json")
        else:
            images.save_png = failing("png")
            hooks.save_png = images.save_png
        try:
            try:
                train(out)
                stopped = False
            except GankitError as e:
                stopped = "No space left on device" in str(e) and "\n" not in str(e)
        finally:
            io.save_file, ck.json.dump, images.save_png = real["tensors"], real["json"], real["png"]
            hooks.save_png = real["png"]
        try:
            intact = all(checkpoint.read(p) for p in checkpoint.candidates(out / "checkpoints"))
            gankit.resume(out, progress=False)
            ok = stopped and intact and identical(final(out), reference)
        except (GankitError, AssertionError) as e:
            print(f"  disk {i}: {e}")
            ok = False
        survived += ok
        print(f"  disk {i:2d} (ENOSPC at {where} write {after}): {'survived, identical' if ok else 'FAILED'}",
              flush=True)
    return survived, n - survived


# ------------------------------------------------------------------------------------- divergence


def divergence_sweep(n: int, rng: random.Random, tmp: Path) -> tuple[int, int]:
    from gankit.train.hooks import Hook

    survived = 0
    for i in range(n):
        step, net = rng.randint(4, STEPS - 2), rng.choice(NETS[MODEL])

        class Poison(Hook):
            def __init__(self, step: int, net: str):
                self.at, self.net, self.done = step, net, False

            def step(self, tr):
                if tr.step == self.at and not self.done:
                    self.done = True
                    params = list(getattr(tr.model, self.net).parameters())
                    with torch.no_grad():
                        params[rng.randrange(len(params))].view(-1)[0] = math.nan

        out = tmp / f"nan{i}"
        try:
            train(out, hooks=[Poison(step, net)])
            clean = all(torch.isfinite(t).all() for p in checkpoint.candidates(out / "checkpoints")
                        for t in checkpoint.read(p).tensors.values() if t.is_floating_point())
            ok = clean and checkpoint.latest(out / "checkpoints")[0].state["rollbacks"] == 1
        except GankitError as e:
            print(f"  nan {i}: {e}")
            ok = False
        survived += ok
        print(f"  divergence {i:2d} (NaN in {net} after step {step}): {'rolled back, finished' if ok else 'FAILED'}",
              flush=True)
    return survived, n - survived


# --------------------------------------------------------------------------------------- inputs


def images_sweep(tmp: Path) -> tuple[int, int]:
    from gankit.config import DataConfig
    from gankit.data.folder import ImageFolder
    from tests.data.hostile import make_corpus

    expected = make_corpus(tmp / "corpus")
    ds = ImageFolder(tmp / "corpus", DataConfig(spec="folder", img_size=16, channels=3))
    loaded = {os.path.basename(p): i for i, (p, _) in enumerate(ds.files)}
    skipped = {os.path.basename(p): why for p, why in ds.skipped.items()}
    right = 0
    for name, (kind, why) in expected.items():
        if kind == "load":
            right += name in loaded and ds.load(loaded[name], 0).shape == (3, 16, 16)
        else:
            right += name in skipped and why in skipped[name]
    return right, len(expected)


def files_sweep(tmp: Path, run: Path) -> tuple[int, int]:
    import pickle
    import struct

    marker = tmp / "pwned"

    class Trap:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    cases = []
    for protocol in (2, 3, 4, 5):
        cases.append(("pickle", pickle.dumps({"w": Trap()}, protocol=protocol)))
    buf = tmp / "zip.pt"
    torch.save({"w": Trap()}, buf)
    cases.append(("torch.save", buf.read_bytes()))
    cases += [("huge header", struct.pack("<Q", 1 << 60) + b"{}"), ("empty", b""),
              ("garbage", os.urandom(4096))]
    gankit.export(run, tmp / "model")
    refused = 0
    for i, (_, data) in enumerate(cases):
        victim = tmp / f"victim{i}"
        shutil.copytree(tmp / "model", victim)
        (victim / "model.safetensors").write_bytes(data)
        try:
            gankit.load(victim)
        except GankitError:
            refused += not marker.exists()
    return refused, len(cases)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="dcgan", choices=sorted(TINY))
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--disk", type=int, default=10)
    p.add_argument("--divergence", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="+", default=["kill", "damage", "disk", "divergence", "images", "files"])
    a = p.parse_args()
    global MODEL
    MODEL = a.model
    torch.set_num_threads(1)
    rng = random.Random(a.seed)
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        train(tmp / "reference")
        reference = final(tmp / "reference")
        if "kill" in a.only:
            s, lost, notes = kill_sweep(a.kills, rng, tmp)
            for note in notes:
                print("  note:", note)
            rows.append(("SIGKILL at random moments (half from outside, half inside the checkpoint writer)",
                         a.kills, s, f"{lost} runs"))
        if "damage" in a.only:
            r = damage_sweep(tmp, reference)
            rows.append((f"damaged newest checkpoint ({', '.join(r)})", len(r), sum(r.values()),
                         f"{len(r) - sum(r.values())} runs"))
        if "disk" in a.only:
            s, f = disk_sweep(a.disk, rng, tmp, reference)
            rows.append(("disk full (ENOSPC injected at a random checkpoint/PNG write)", a.disk, s, f"{f} runs"))
        if "divergence" in a.only:
            s, f = divergence_sweep(a.divergence, rng, tmp)
            rows.append(("NaN injected into a random weight at a random step", a.divergence, s, f"{f} runs"))
        if "images" in a.only:
            s, n = images_sweep(tmp)
            rows.append(("hostile image files (loaded correctly or skipped with the right reason)", n, s, "-"))
        if "files" in a.only:
            s, n = files_sweep(tmp, tmp / "reference")
            rows.append(("untrusted model files (pickle traps, torch.save zip, huge header, junk)", n, s,
                         "code never ran" if s == n else "CHECK"))
    print("\n| fault | tried | survived | lost |\n|---|---|---|---|")
    for name, tried, ok, lost in rows:
        print(f"| {name} | {tried} | {ok}/{tried} | {lost if ok < tried else 'nothing'} |")


if __name__ == "__main__":
    run_main(main)
