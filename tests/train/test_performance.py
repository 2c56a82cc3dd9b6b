"""Speed options: mixed precision, channels-last, torch.compile (and its fallbacks), fused Adam."""

import warnings

import pytest
import torch

import gankit
from gankit.train import checkpoint, performance

from ..conftest import TINY


def latest(run_dir):
    ck, problems = checkpoint.latest(run_dir / "checkpoints")
    assert not problems
    return ck


def weights(ck):
    return {k: v for k, v in ck.tensors.items() if k.startswith("/model/")}


def test_bf16_training_steps_run_under_autocast(tmp_path):
    from gankit.train.hooks import Hook

    seen = []

    class Spy(Hook):  # records the dtype D's first convolution produces inside the training step
        def start(self, tr):
            tr.model.D.body[0].register_forward_hook(lambda m, i, out: seen.append(out.dtype))

    run = gankit.train("dcgan", "digits", overrides=[*TINY, "train.precision=bf16", "train.sample_every=100"],
                       steps=2, out=tmp_path / "r", device="cpu", progress=False, hooks=[Spy()])
    assert seen and set(seen) == {torch.bfloat16}
    assert all(torch.isfinite(v).all() for v in weights(latest(tmp_path / "r")).values())
    assert all(p.dtype == torch.float32 for p in run.model.parameters())  # master weights stay fp32


def test_fp16_wgan_gp_keeps_one_scaler_per_optimizer_and_resumes_them(tmp_path):
    out = tmp_path / "r"
    settings = ["train.precision=fp16", "model.n_critic=2", "model.d_width=16", "model.g_width=16",
                "train.checkpoint_every=2", "train.tensorboard=false", "train.batch_size=16"]
    gankit.train("wgan-gp", "ring8", overrides=settings, steps=2, out=out, device="cpu", progress=False)
    state = latest(out).state
    assert set(state["grad_scalers"]) == {"D", "G"}
    assert state["grad_scalers"]["D"]["scale"] > 1
    run = gankit.resume(out, steps=4, progress=False)
    assert run.model.precision.scaler("D").get_scale() > 1
    assert all(torch.isfinite(v).all() for v in weights(latest(out)).values())


def test_channels_last_trains_to_the_same_weights_up_to_rounding(tmp_path):
    for name, extra in (("plain", ["train.channels_last=false"]), ("nhwc", ["train.channels_last=true"])):
        gankit.train("dcgan", "digits", overrides=[*TINY, *extra], steps=3, out=tmp_path / name, device="cpu",
                     progress=False)
    a, b = weights(latest(tmp_path / "plain")), weights(latest(tmp_path / "nhwc"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=1e-3, atol=1e-5), k
    model = gankit.load(tmp_path / "nhwc")
    assert model.sample(2, seed=0).shape == (2, 1, 16, 16)


def test_channels_last_auto_is_nhwc_for_image_models_on_the_cpu_only(tmp_path, monkeypatch):
    from gankit.data.info import DataInfo
    from gankit.models.dcgan import DCGAN, DCGANConfig
    from gankit.models.gan import GAN, GANConfig

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    images = DCGAN(DCGANConfig(base_channels=4, z_dim=4), DataInfo("d", 16, 1))
    vectors = GAN(GANConfig(g_width=4, d_width=4, z_dim=2), DataInfo("v", 0, 0, dim=2))
    assert performance.wants_channels_last("auto", images, cpu)
    assert not performance.wants_channels_last("auto", images, cuda)  # not measured on GPUs yet
    assert not performance.wants_channels_last("auto", vectors, cpu)
    assert not performance.wants_channels_last(False, images, cpu)
    assert performance.wants_channels_last(True, images, cuda)
    monkeypatch.setattr(DCGAN, "cpu_channels_last", False)  # as a system that measured slower in NHWC says
    assert not performance.wants_channels_last("auto", images, cpu)

    # The trainer applies the resolved layout to the weights and the batches without being asked. Three channels:
    # a one-channel NCHW tensor also counts as channels_last (size-1 dimensions are not checked).
    def nhwc(t: torch.Tensor) -> bool:
        return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()

    seen, weights = [], []
    from gankit.train.hooks import Hook

    class Spy(Hook):
        def start(self, tr):
            weights.extend(nhwc(p) for p in tr.model.D.parameters() if p.dim() == 4 and p.shape[1] > 1)
            tr.model.D.register_forward_pre_hook(lambda m, args: seen.append(nhwc(args[0])))

    monkeypatch.setattr(DCGAN, "cpu_channels_last", True)
    gankit.train("dcgan", "digits", overrides=[*TINY, "data.channels=3"], steps=1, out=tmp_path / "r", device="cpu",
                 progress=False, hooks=[Spy()])
    assert seen and all(seen) and weights and all(weights)


def test_compile_falls_back_to_eager_with_a_warning_when_it_cannot_work(tmp_path, monkeypatch):
    monkeypatch.setattr(performance, "compile_problem", lambda device: "no C++ compiler found (test)")
    with pytest.warns(UserWarning, match="--compile ignored: no C\\+\\+ compiler"):
        run = gankit.train("dcgan", "digits", overrides=[*TINY, "train.compile=true"], steps=2,
                           out=tmp_path / "r", device="cpu", progress=False)
    assert run.status == "finished"


def test_compile_skips_networks_the_model_marks_with_the_reason(monkeypatch):
    from gankit.config import resolve_config
    from gankit.data import load_dataset
    from gankit.modelio import build_model

    monkeypatch.setattr(performance, "compile_problem", lambda device: None)
    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kw: compiled.append((type(self).__name__, kw)))
    cfg = resolve_config({"model": {"name": "wgan-gp"}}, ["model.g_width=8", "model.d_width=8"])
    model = build_model(cfg, load_dataset(resolve_config({"model": {"name": "gan"}}, ["data.spec=ring8"]).data).info,
                        torch.device("cpu"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = performance.compile_networks(model, torch.device("cpu"))
    assert names == ["G"]
    assert compiled == [("MLPGenerator", {"dynamic": False})]
    assert any("D stays uncompiled" in str(w.message) and "double backward" in str(w.message) for w in caught)


def test_adam_uses_the_fused_kernel():
    from gankit.models.base import fast_optimizer_kwargs

    assert fast_optimizer_kwargs(torch.device("cpu")) == {"fused": True}
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))], **fast_optimizer_kwargs(torch.device("cpu")))
    assert opt.defaults["fused"] is True


@pytest.mark.slow
def test_compiled_training_matches_eager(tmp_path):
    if performance.compile_problem(torch.device("cpu")):
        pytest.skip(f"torch.compile cannot run here: {performance.compile_problem(torch.device('cpu'))}")
    # G without hidden layers (so without batch norm): every parameter has a real gradient, and Adam cannot
    # blow rounding noise in a zero gradient (a bias before batch norm) up to a full-size step.
    settings = ["model.g_depth=0", "model.d_width=16", "train.batch_size=16", "train.tensorboard=false",
                "train.sample_every=100"]
    for name, extra in (("eager", []), ("compiled", ["train.compile=true"])):
        gankit.train("gan", "ring8", overrides=[*settings, *extra], steps=3, out=tmp_path / name, device="cpu",
                     progress=False)
    a, b = weights(latest(tmp_path / "eager")), weights(latest(tmp_path / "compiled"))
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-6), k
    from torch._dynamo.utils import counters

    assert counters["stats"]["unique_graphs"] > 0  # it really compiled


def test_resumed_adam_moments_take_their_parameters_nhwc_layout():
    """A checkpoint's moments come back contiguous; fused Adam pairs elements by memory position, so without the
    layout fix an NHWC parameter would get another element's moments."""
    torch.manual_seed(0)
    w, g1, g2 = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    nhwc = {"memory_format": torch.channels_last}

    def two_steps(resume_fix):
        p = torch.nn.Parameter(w.clone().contiguous(**nhwc))
        opt = torch.optim.Adam([p], lr=0.1, fused=True)
        p.grad = g1.contiguous(**nhwc)
        opt.step()
        saved = opt.state_dict()
        saved["state"][0] = {k: v.contiguous() for k, v in saved["state"][0].items()}  # as a checkpoint returns them
        opt = torch.optim.Adam([p], lr=0.1, fused=True)
        opt.load_state_dict(saved)
        if resume_fix:
            performance.match_state_layouts(opt)
            assert opt.state[p]["exp_avg"].stride() == p.stride()
        p.grad = g2.contiguous(**nhwc)
        opt.step()
        return p.detach()

    p = torch.nn.Parameter(w.clone())
    opt = torch.optim.Adam([p], lr=0.1, fused=True)
    for g in (g1, g2):
        p.grad = g.clone()
        opt.step()
    assert torch.allclose(two_steps(True), p.detach(), atol=1e-6)
    assert not torch.allclose(two_steps(False), p.detach(), atol=1e-3)  # the failure the fix prevents
