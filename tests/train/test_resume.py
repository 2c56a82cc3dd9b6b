"""Exact resume: a run killed with SIGKILL and resumed ends bitwise equal to the run that never stopped."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

import gankit
from gankit.train import checkpoint

from ..conftest import TINY

STEPS = 12
SETTINGS = [*TINY, "train.ema_beta=0.9", "data.flip=true", "train.lr_decay=linear"]


def final_state(run_dir):
    ck, problems = checkpoint.latest(run_dir / "checkpoints")
    assert not problems
    return ck


def assert_bitwise_equal(a, b):
    assert a.step == b.step == STEPS
    assert a.tensors.keys() == b.tensors.keys()
    for key in a.tensors:
        if key.startswith("/rng/"):
            continue  # generator states are compared through the weights they produced
        assert torch.equal(a.tensors[key], b.tensors[key]), key


def run_killed_at(out, kill_step):
    """A child process trains and SIGKILLs itself right after step `kill_step` (no chance to clean up)."""
    script = textwrap.dedent(f"""
        import os, signal, gankit
        from gankit.train.hooks import Hook
        class KillAt(Hook):
            def step(self, tr):
                if tr.step == {kill_step}:
                    os.kill(os.getpid(), signal.SIGKILL)
        gankit.train("dcgan", "digits", overrides={SETTINGS!r}, steps={STEPS}, out={str(out)!r},
                     device="cpu", hooks=[KillAt()], progress=False)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


@pytest.mark.slow
def test_sigkill_then_resume_is_bitwise_identical(tmp_path):
    gankit.train("dcgan", "digits", overrides=SETTINGS, steps=STEPS, out=tmp_path / "straight", device="cpu",
                 progress=False)
    run_killed_at(tmp_path / "killed", kill_step=7)  # last checkpoint: step 4
    assert [p.name for p in checkpoint.candidates(tmp_path / "killed" / "checkpoints")] == ["step_00000004"]
    run = gankit.resume(tmp_path / "killed", progress=False)
    assert run.status == "finished" and run.step == STEPS
    assert_bitwise_equal(final_state(tmp_path / "straight"), final_state(tmp_path / "killed"))
    # stats.jsonl holds each logged step once: rows written after the checkpoint were dropped on resume
    steps = [int(line.split(",")[0].split(":")[1]) for line in
             (tmp_path / "killed" / "stats.jsonl").read_text().splitlines()]
    assert steps == list(range(2, STEPS + 1, 2))


@pytest.mark.slow
def test_kill_from_outside_at_a_random_moment(tmp_path):
    """The CLI process is killed by another process whenever it happens to be (maybe mid-checkpoint)."""
    settings = [s for s in SETTINGS if not s.startswith("train.checkpoint_every")] + ["train.checkpoint_every=2"]
    args = [sys.executable, "-m", "gankit", "train", "dcgan", "--steps", str(STEPS), "--device", "cpu",
            "--quiet"] + [x for s in settings for x in ("--set", s)]
    subprocess.run([*args, "--out", str(tmp_path / "straight")], check=True, capture_output=True, timeout=300)
    proc = subprocess.Popen([*args, "--out", str(tmp_path / "killed")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ckpts = tmp_path / "killed" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if any(p.name >= "step_00000004" for p in checkpoint.candidates(ckpts)):
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = checkpoint.candidates(ckpts)
    if done and int(done[0].name[5:]) >= STEPS:
        pytest.fail("the run finished before it could be killed; make it longer")
    gankit.resume(tmp_path / "killed", progress=False)
    assert_bitwise_equal(final_state(tmp_path / "straight"), final_state(tmp_path / "killed"))


@pytest.mark.slow
def test_sigterm_saves_and_exits_cleanly(tmp_path):
    args = [sys.executable, "-m", "gankit", "train", "dcgan", "--steps", "100000", "--device", "cpu",
            "--out", str(tmp_path / "run")] + [x for s in TINY for x in ("--set", s)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stats = tmp_path / "run" / "stats.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (stats.exists() and stats.stat().st_size > 0):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert f"gankit resume {tmp_path / 'run'}" in err
    ck, _ = checkpoint.latest(tmp_path / "run" / "checkpoints")
    assert 0 < ck.step < 100000


@pytest.mark.slow
def test_killed_before_the_first_checkpoint_resume_starts_over(tmp_path):
    gankit.train("dcgan", "digits", overrides=SETTINGS, steps=STEPS, out=tmp_path / "straight", device="cpu",
                 progress=False)
    run_killed_at(tmp_path / "killed", kill_step=2)  # first checkpoint would be at step 4
    assert not checkpoint.candidates(tmp_path / "killed" / "checkpoints")
    run = gankit.resume(tmp_path / "killed", progress=False)
    assert run.status == "finished" and run.step == STEPS
    assert_bitwise_equal(final_state(tmp_path / "straight"), final_state(tmp_path / "killed"))


def test_a_checkpoint_whose_noise_generator_is_from_another_device_resumes_reseeded(tmp_path, capsys):
    """A CUDA generator's state is 16 bytes, a CPU one's 5,056: a GPU run resumed on the CPU goes on, and says so."""
    from gankit.data.stream import mix
    from gankit.train.hooks import Hook

    after = {}

    class FromAGPU(Hook):
        def step(self, tr):
            if tr.step == 2 and not after:
                state = tr.state()
                state["rng"]["noise"] = torch.zeros(16, dtype=torch.uint8)
                tr.load_state(state)
                after["noise"] = tr.model.noise.get_state()

    run = gankit.train("dcgan", "digits", overrides=TINY, steps=3, out=tmp_path / "r", device="cpu",
                       hooks=[FromAGPU()], progress=False)
    assert run.status == "finished"
    expected = torch.Generator().manual_seed(mix(0, 5, 2)).get_state()  # train.seed 0, step 2
    assert torch.equal(after["noise"], expected)
    assert "noise is reseeded from the seed and step 2" in capsys.readouterr().err
