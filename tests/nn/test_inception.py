"""The FID Inception network: every parameter's name and shape against the architecture written out independently
below, the graph's own pooling, pytorch-fid's preprocessing, and the checked one-time weights_only conversion of
the published file into a safetensors cache. Offline: a port-like file of random weights stands in for it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gankit.errors import CheckpointError, GankitError
from gankit.nn import inception as inc
from gankit.nn.inception import FIDInceptionV3, InceptionA, InceptionE, fid_inception, load_inception_weights, prepare
from gankit.safetensors_io import check_header, sha256_of


def _a(cin, pool):
    return [("branch1x1", 64, cin, 1, 1), ("branch5x5_1", 48, cin, 1, 1), ("branch5x5_2", 64, 48, 5, 5),
            ("branch3x3dbl_1", 64, cin, 1, 1), ("branch3x3dbl_2", 96, 64, 3, 3), ("branch3x3dbl_3", 96, 96, 3, 3),
            ("branch_pool", pool, cin, 1, 1)]


def _c(c7):
    return [("branch1x1", 192, 768, 1, 1), ("branch7x7_1", c7, 768, 1, 1), ("branch7x7_2", c7, c7, 1, 7),
            ("branch7x7_3", 192, c7, 7, 1), ("branch7x7dbl_1", c7, 768, 1, 1), ("branch7x7dbl_2", c7, c7, 7, 1),
            ("branch7x7dbl_3", c7, c7, 1, 7), ("branch7x7dbl_4", c7, c7, 7, 1), ("branch7x7dbl_5", 192, c7, 1, 7),
            ("branch_pool", 192, 768, 1, 1)]


def _e(cin):
    return [("branch1x1", 320, cin, 1, 1), ("branch3x3_1", 384, cin, 1, 1), ("branch3x3_2a", 384, 384, 1, 3),
            ("branch3x3_2b", 384, 384, 3, 1), ("branch3x3dbl_1", 448, cin, 1, 1), ("branch3x3dbl_2", 384, 448, 3, 3),
            ("branch3x3dbl_3a", 384, 384, 1, 3), ("branch3x3dbl_3b", 384, 384, 3, 1), ("branch_pool", 192, cin, 1, 1)]


# Every convolution of the graph as (name, out, in, kh, kw), written from the architecture, not from the code.
CONVS = [("Conv2d_1a_3x3", 32, 3, 3, 3), ("Conv2d_2a_3x3", 32, 32, 3, 3), ("Conv2d_2b_3x3", 64, 32, 3, 3),
         ("Conv2d_3b_1x1", 80, 64, 1, 1), ("Conv2d_4a_3x3", 192, 80, 3, 3)]
for block, rows in [("Mixed_5b", _a(192, 32)), ("Mixed_5c", _a(256, 64)), ("Mixed_5d", _a(288, 64)),
                    ("Mixed_6a", [("branch3x3", 384, 288, 3, 3), ("branch3x3dbl_1", 64, 288, 1, 1),
                                  ("branch3x3dbl_2", 96, 64, 3, 3), ("branch3x3dbl_3", 96, 96, 3, 3)]),
                    ("Mixed_6b", _c(128)), ("Mixed_6c", _c(160)), ("Mixed_6d", _c(160)), ("Mixed_6e", _c(192)),
                    ("Mixed_7a", [("branch3x3_1", 192, 768, 1, 1), ("branch3x3_2", 320, 192, 3, 3),
                                  ("branch7x7x3_1", 192, 768, 1, 1), ("branch7x7x3_2", 192, 192, 1, 7),
                                  ("branch7x7x3_3", 192, 192, 7, 1), ("branch7x7x3_4", 192, 192, 3, 3)]),
                    ("Mixed_7b", _e(1280)), ("Mixed_7c", _e(2048))]:
    CONVS += [(f"{block}.{name}", *shape) for name, *shape in rows]


def expected_state_shapes() -> dict[str, tuple[int, ...]]:
    shapes = {}
    for name, cout, cin, kh, kw in CONVS:
        shapes[f"{name}.conv.weight"] = (cout, cin, kh, kw)
        for p in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{name}.bn.{p}"] = (cout,)
        shapes[f"{name}.bn.num_batches_tracked"] = ()
    shapes["fc.weight"], shapes["fc.bias"] = (1008, 2048), (1008,)
    return shapes


def test_every_parameter_name_and_shape():
    with torch.device("meta"):
        net = FIDInceptionV3()
    state = net.state_dict()
    assert len(CONVS) == 94
    assert {k: tuple(v.shape) for k, v in state.items()} == expected_state_shapes()
    assert sum(p.numel() for p in net.parameters()) == inc.INCEPTION_PARAMETERS == 23_850_960
    # The published file holds these tensors, less the 94 batch counters, as float32 plus ~87 kB of pickle framing.
    stored = sum(v.numel() * 4 for k, v in state.items() if not k.endswith("num_batches_tracked"))
    assert stored == 95_541_568 and 0 < inc.INCEPTION_BYTES - stored < 100_000
    assert all(m.eps == 1e-3 for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_299_pixels_give_35_17_8_grids_pool3_and_1008_logits():
    net = fid_inception(seed=0)
    sizes = {}
    for name in ("Mixed_5d", "Mixed_6e", "Mixed_7c"):
        getattr(net, name).register_forward_hook(lambda m, i, o, name=name: sizes.__setitem__(name, o.shape[1:]))
    pool3, logits = net.embed(torch.rand(1, 3, 64, 48))
    assert sizes == {"Mixed_5d": (288, 35, 35), "Mixed_6e": (768, 17, 17), "Mixed_7c": (2048, 8, 8)}
    assert pool3.shape == (1, 2048) and logits.shape == (1, 1008) and torch.isfinite(logits).all()
    assert pool3.min() >= 0  # a mean of ReLU maps
    x = torch.rand(1, 3, 75, 75)
    before = net.embed(x, size=75)[1]
    net.fc.bias.data.fill_(5.0)
    assert torch.equal(net.embed(x, size=75)[1], before)  # the Inception Score's logits leave the bias out


def test_pool_branches_follow_the_graph_not_the_paper():
    torch.manual_seed(0)
    block = InceptionA(4, pool_features=2).eval()
    out = block(torch.ones(1, 4, 6, 6))[:, -2:]  # the pool branch: a constant input stays constant at the borders
    assert torch.allclose(out, out[..., 2:3, 2:3].expand_as(out), atol=1e-6)  # (zero padding counted: 4/9 corners)
    with torch.device("meta"):
        net = FIDInceptionV3()
    assert net.Mixed_7c.max_pool and not net.Mixed_7b.max_pool
    last = InceptionE(8, max_pool=True).eval()
    x = torch.randn(1, 8, 5, 5)
    expected = last.branch_pool(F.max_pool2d(x, 3, stride=1, padding=1))
    assert torch.allclose(last(x)[:, -192:], expected, atol=1e-6)


def test_preprocessing_is_pytorch_fids():
    ramp = torch.tensor([0.0, 1.0]).view(1, 1, 1, 2)
    x = prepare(ramp, size=4)  # bilinear, align_corners=False: 2 pixels -> 4 at 0, 1/4, 3/4, 1; then 2x - 1
    assert x.shape == (1, 3, 4, 4)
    assert torch.allclose(x[0, 0, 0], torch.tensor([-1.0, -0.5, 0.5, 1.0]))
    grey = torch.rand(2, 1, 20, 20)
    assert torch.equal(prepare(grey), prepare(grey.expand(-1, 3, -1, -1)))
    full = torch.rand(1, 3, 299, 299)
    assert torch.equal(prepare(full), 2 * full - 1)  # the network's own size is not resampled
    with pytest.raises(GankitError, match="1 or 3"):
        prepare(torch.rand(1, 4, 8, 8))


@pytest.fixture(scope="module")
def port_file(tmp_path_factory):
    """A file shaped like the published port: a plain dict of random float32 tensors, no batch counters."""
    net = fid_inception(seed=3)
    path = tmp_path_factory.mktemp("weights") / inc.INCEPTION_FILE
    torch.save({k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}, path)
    return path, sha256_of(path), net


def test_the_file_is_converted_once_then_read_from_the_cache(port_file, tmp_path, monkeypatch):
    path, digest, reference = port_file
    tensors = load_inception_weights(path, tmp_path, expected_sha256=digest)
    cache = tmp_path / "weights" / f"fid-inception-{digest[:8]}.safetensors"
    assert check_header(cache)["__metadata__"]["source_sha256"] == digest
    assert tensors.keys() == reference.state_dict().keys()
    assert all(torch.equal(tensors[k], v) for k, v in reference.state_dict().items() if "num_batches" not in k)

    def no_pickles(*args, **kwargs):
        raise AssertionError("torch.load called although the cache is fresh")

    monkeypatch.setattr(torch, "load", no_pickles)
    net = fid_inception(path, tmp_path, expected_sha256=digest)
    assert net.weights_sha256 == digest and not net.training
    x = torch.rand(2, 3, 75, 75)
    assert all(torch.equal(a, b) for a, b in zip(net.embed(x, size=75), reference.embed(x, size=75)))


def test_a_file_with_another_checksum_is_refused_with_it(port_file, tmp_path):
    path, digest, _ = port_file
    with pytest.raises(GankitError) as e:
        load_inception_weights(path, tmp_path)  # the published checksum is expected
    message = str(e.value)
    assert digest in message and inc.INCEPTION_SHA256 in message and "\n" not in message
    assert not (tmp_path / "weights").exists()  # nothing read, nothing cached
    with pytest.raises(GankitError, match="not found"):
        load_inception_weights(tmp_path / "absent.pth", tmp_path)


def test_a_file_of_the_wrong_network_or_not_weights_only_is_refused(tmp_path):
    with torch.device("meta"):
        shapes = FIDInceptionV3().state_dict()
    state = {k: torch.zeros(v.shape) for k, v in shapes.items() if not k.endswith("num_batches_tracked")}
    state["fc.weight"] = torch.zeros(1000, 2048)  # torchvision's 1000-class head
    wrong = tmp_path / "wrong.pth"
    torch.save(state, wrong)
    with pytest.raises(CheckpointError, match=r"fc.weight has shape \(1000, 2048\), expected \(1008, 2048\)"):
        load_inception_weights(wrong, tmp_path, expected_sha256=sha256_of(wrong))
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="cannot read as a weights-only state dict"):
        load_inception_weights(junk, tmp_path, expected_sha256=sha256_of(junk))
