import signal
import subprocess
import sys
import textwrap

import pytest
import torch

import gankit
from gankit.config import resolve_config
from gankit.errors import ConfigError
from gankit.models import DataInfo
from gankit.models.pggan import PGGAN, fade_reals, level_at
from gankit.nn.progressive import downscale2d, upscale2d
from gankit.train import checkpoint

from ..conftest import TINY, assert_same_final_checkpoints


def make(img_size=16, channels=1, **model):
    cfg = resolve_config({"model": {"name": "pggan", "base_channels": 8, "z_dim": 12, **model}})
    return PGGAN(cfg.model, DataInfo("t", img_size, channels))


def test_schedule_is_a_pure_function_of_images_shown():
    # 1,000 images alone, then 2,000 of fade per phase, from 4x4 (level 0) to 32x32 (level 3)
    at = [level_at(n, 0, 3, 1.0, 2.0) for n in (0, 999, 1000, 2000, 3000, 3999, 5000, 9000, 10**7)]
    assert at == [0, 0, 0, 0.5, 1, 1, 1.5, 3, 3]
    assert level_at(0, 3, 3, 1.0, 2.0) == 3  # no growing: the data's size from the start


def test_paper_widths_and_fixed_shapes():
    """The paper's widths (512 up to 32x32, 256 at 64x64); every network is built for the final size, so the
    weights have the same shapes at every level and samples are always full size."""
    model = PGGAN(resolve_config({"model": {"name": "pggan"}}).model, DataInfo("t", 64, 3))
    assert [b[-3].weight.shape[0] for b in model.G.blocks] == [512, 512, 512, 512, 256]
    assert model.G.dense.weight.shape == (512 * 16, 512)
    small = make(32)
    shapes = {k: v.shape for k, v in small.state_dict().items()}
    small.set_level(0.0)
    assert {k: v.shape for k, v in small.state_dict().items()} == shapes
    x = small.generate(3)
    assert x.shape == (3, 1, 32, 32) and torch.allclose(x, upscale2d(downscale2d(x, 8), 8))  # 4x4 upscaled


def test_generator_is_continuous_across_a_fade_and_equals_each_branch_at_its_ends():
    model = make(16)
    z = torch.randn(4, 12)
    G = model.G

    def at(level):
        G.level.fill_(level)
        return G(z)

    with torch.no_grad():
        x = G.blocks[0](G.dense(G.latent_norm(z)).view(4, -1, 4, 4))
        old = upscale2d(G.to_rgb[0](x), 4)  # 4x4 branch
        new = upscale2d(G.to_rgb[1](G.blocks[1](x)), 2)  # 8x8 branch
        assert torch.equal(at(0.0), old)
        assert torch.allclose(at(1.0), new, atol=1e-6)
        assert torch.allclose(at(0.25), torch.lerp(old, new, 0.25), atol=1e-6)
        assert (at(1e-4) - old).abs().max() < 1e-3 * (new - old).abs().max()
        assert (at(1 - 1e-4) - new).abs().max() < 1e-3 * (new - old).abs().max()


def test_discriminator_at_a_lower_level_sees_only_box_averages():
    model = make(16)
    x = torch.randn(4, 1, 16, 16)
    blurred = upscale2d(downscale2d(x, 2), 2)
    with torch.no_grad():
        for level in (0.0, 0.5, 1.0):  # up to 8x8
            model.D.level.fill_(level)
            assert torch.allclose(model.D(x), model.D(blurred), atol=1e-5)
        for level in (1.5, 2.0):  # 16x16 fading in, or in
            model.D.level.fill_(level)
            assert not torch.allclose(model.D(x), model.D(blurred), atol=1e-3)


def test_reals_at_half_fade_are_the_blend_of_the_image_and_its_down_up_version():
    x = torch.randn(2, 3, 16, 16)
    up_box = upscale2d(downscale2d(x))
    assert torch.allclose(fade_reals(x, 1.5, 2), 0.5 * x + 0.5 * up_box, atol=1e-6)
    assert torch.equal(fade_reals(x, 2.0, 2), x)
    x8 = downscale2d(x)  # level 0.5: fading 8x8 in, over 4x4
    expected = 0.5 * x8 + 0.5 * upscale2d(downscale2d(x8))
    assert torch.allclose(fade_reals(x, 0.5, 2), upscale2d(expected), atol=1e-6)
    # A quarter into the fade the new resolution weighs a quarter (the direction a half fade cannot show).
    assert torch.allclose(fade_reals(x, 1.25, 2), 0.25 * x + 0.75 * up_box, atol=1e-6)


def test_discriminator_is_continuous_across_a_fade():
    model = make(16)
    x = torch.randn(4, 1, 16, 16)

    def at(level):
        model.D.level.fill_(level)
        return model.D(x)

    with torch.no_grad():
        for k in (0, 1):
            step = (at(k + 1) - at(k)).abs().max()
            assert step > 1e-3  # the levels differ ...
            assert (at(k + 1e-5) - at(k)).abs().max() < 1e-3 * step  # ... and the fade starts at the old one
            assert (at(k + 1 - 1e-5) - at(k + 1)).abs().max() < 1e-3 * step  # ... and ends at the new one


def test_adam_state_is_reset_when_a_fade_starts_and_ends():
    """batch 8, 8 images alone, 16 of fade: step 2 starts the fade (level 0.5), step 3 ends it (level 1)."""
    model = make(16, train_kimg=0.008, fade_kimg=0.016)
    model.optimizers = model.configure_optimizers()
    batch = {"x": torch.rand(8, 1, 16, 16) * 2 - 1}
    counts, levels = [], []
    for step in range(5):
        stats = model.train_step(lambda: batch, step)
        levels.append(stats["level"].item())
        counts.append([int(next(iter(opt.state.values()))["step"]) for opt in model.optimizers.values()])
    assert levels == [0, 0, 0.5, 1, 1]
    assert counts == [[1, 1], [2, 2], [1, 1], [1, 1], [2, 2]]
    assert all(torch.isfinite(v) for v in stats.values())


def test_bad_settings_are_one_line_errors():
    with pytest.raises(ConfigError, match="power-of-two data.img_size"):
        make(28)
    with pytest.raises(ConfigError, match="model.start_res must be a power of two"):
        make(16, start_res=12)
    model = make(16, mbstd_group=4)
    train = resolve_config({"model": {"name": "pggan"}, "train": {"batch_size": 6}}).train
    with pytest.raises(ConfigError, match="mbstd_group=4 needs train.batch_size divisible"):
        model.check(train, 100)


def test_check_prints_each_phase_in_steps_images_and_time(capsys):
    model = make(16, train_kimg=0.016, fade_kimg=0.032)
    train = resolve_config({"model": {"name": "pggan"}, "train": {"batch_size": 8, "steps": 10}}).train
    model.check(train, 100)
    text = capsys.readouterr().err
    assert "4x4             steps 0-2 (images 0-16)" in text
    assert "8x8 fade-in     steps 2-6 (images 16-48)" in text
    assert "16x16 fade-in   steps 8-10" in text and "16x16           from step 12: not reached" in text
    assert "ms/step" in text and "the run ends at level 1.50 (8x8)" in text


def test_the_level_is_read_back_from_its_buffer_only_after_the_buffer_changed(monkeypatch):
    """Reading a GPU tensor waits for the GPU: the forwards must not do it on every call."""
    model = make(16)
    as_stored = torch.tensor(1.3).item()  # float32, as the buffer holds it
    reads = []
    real_float, real_item = torch.Tensor.__float__, torch.Tensor.item

    def counted(read):
        def patched(t):
            if t.data_ptr() in (model.G.level.data_ptr(), model.D.level.data_ptr()):
                reads.append(1)
            return read(t)
        return patched

    monkeypatch.setattr(torch.Tensor, "__float__", counted(real_float))
    monkeypatch.setattr(torch.Tensor, "item", counted(real_item))
    z, x = torch.randn(4, 12), torch.randn(4, 1, 16, 16)
    model.set_level(1.3)
    for _ in range(3):
        model.D(model.G(z))
    assert reads == [] and model.G.level_value() == as_stored
    model.G.level.fill_(0.5)  # written behind its back: read once, then remembered
    assert model.G.level_value() == 0.5 and model.G.level_value() == 0.5 and len(reads) == 1
    other = make(16)
    other.set_level(2.0)
    model.load_state_dict(other.state_dict())
    assert model.G.level_value() == model.D.level_value() == 2.0
    copy = __import__("copy").deepcopy(model.G)
    copy.level.fill_(1.0)
    assert copy.level_value() == 1.0 and model.G.level_value() == 2.0
    with torch.inference_mode():  # no version counter on inference tensors: read every time
        fresh = make(16)
        fresh.set_level(1.5)
        assert fresh.G.level_value() == 1.5 and fresh.D(x).shape == (4,)


# 16x16 (levels 0-2), batch 8: 2 steps alone and 4 of fade per phase; the full size from step 12 on.
SETTINGS = [*TINY, "train.ema_beta=0.9", "train.checkpoint_every=5", "model.train_kimg=0.016",
            "model.fade_kimg=0.032"]
STEPS = 14


@pytest.mark.slow
def test_sigkill_in_the_middle_of_a_fade_then_resume_is_bitwise_identical(tmp_path):
    gankit.train("pggan", "digits", overrides=SETTINGS, steps=STEPS, out=tmp_path / "straight", device="cpu",
                 progress=False)
    script = textwrap.dedent(f"""
        import os, signal, gankit
        from gankit.train.hooks import Hook
        class KillAt(Hook):
            def step(self, tr):
                if tr.step == 11:
                    os.kill(os.getpid(), signal.SIGKILL)
        gankit.train("pggan", "digits", overrides={SETTINGS!r}, steps={STEPS}, out={str(tmp_path / "killed")!r},
                     device="cpu", hooks=[KillAt()], progress=False)
    """)
    # same thread count as this process: CPU kernels may sum in a different order with another count
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    ckpt, _ = checkpoint.latest(tmp_path / "killed" / "checkpoints")
    assert ckpt.step == 10 and ckpt.tensors["/model/G.level"].item() == 1.25  # mid-fade, 8x8 -> 16x16
    run = gankit.resume(tmp_path / "killed", progress=False)  # through the Adam reset at step 12
    assert run.status == "finished"
    a, _ = assert_same_final_checkpoints(tmp_path / "straight", tmp_path / "killed", STEPS)
    assert a.tensors["/model/G.level"].item() == 2.0 and a.tensors["/ema/level"].item() == 2.0
