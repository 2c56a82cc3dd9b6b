"""The Inception-v3 network of the standard FID (Heusel et al. 2017): TensorFlow's `inception-2015-12-05` graph as
the FID, KID and Inception Score papers used it, in the PyTorch port published by pytorch-fid
(`pt_inception-2015-12-05-6726825d.pth`, also re-hosted by torch-fidelity under another name, same bytes).

Architecture (Szegedy et al. 2016), every convolution bias-free + batch norm (eps 1e-3, TensorFlow's) + ReLU:
stem 3x3/2 32, 3x3 32, 3x3 pad 1 64, max-pool 3/2, 1x1 80, 3x3 192, max-pool 3/2; three A blocks (35x35), a B
reduction, four C blocks (17x17, factorised 7x7), a D reduction, two E blocks (8x8); global average pool = the
2048-d "pool3" features of FID and KID; a 1008-way linear layer (the graph's 1,000 ImageNet classes plus 8 unused).
Where the graph differs from the paper's network (and from torchvision's), this follows the graph: the average
pools in the A, C and first E blocks' pool branches leave the zero padding out of the mean (TensorFlow's "SAME"
average pool), and the last E block's pool branch is a max pool. 23,850,960 parameters.

Parameter names are the port's (`Conv2d_1a_3x3.conv.weight`, `Mixed_5b.branch_pool.bn.running_var`, `fc.bias`),
so its state dict loads with strict=True. The file is read once, after its SHA-256 matched the published one, with
torch.load(weights_only=True) into a safetensors cache; later runs read only the cache (docs/standard-fid.md).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError, GankitError
from ..safetensors_io import sha256_of
from .published import cached_weights

# The published file: https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/<INCEPTION_FILE>.
# Torch hub names a file by its SHA-256's first 8 hex digits (6726825d); the full digest and size are the ones
# other projects pin for this URL (e.g. torch-fidelity's re-hosted copy of the same bytes).
INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"
INCEPTION_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
INCEPTION_BYTES = 95_628_359
INCEPTION_PARAMETERS = 23_850_960
INPUT_SIZE = 299
FEATURES = 2048
CLASSES = 1008
BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon in this graph


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BN -> ReLU, named `conv` and `bn` as in the port."""

    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1,
                 padding: int | tuple[int, int] = 0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool_same(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's SAME average pool divides by the number of real pixels under the window, not by 9.
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """35x35: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1; 224 + pool_features channels."""

    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1x1(x),
                          self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(_avg_pool_same(x))], 1)


class InceptionB(nn.Module):
    """35 -> 17: 3x3/2 384 | 1x1 -> 3x3 -> 3x3/2 96 | max pool 3/2; 480 + cin channels."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch3x3(x),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    """17x17 with the 7x7 factorised into 1x7 and 7x1 (c7 channels inside); 768 channels out."""

    def __init__(self, cin: int, c7: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            double = conv(double)
        return torch.cat([self.branch1x1(x), seven, double, self.branch_pool(_avg_pool_same(x))], 1)


class InceptionD(nn.Module):
    """17 -> 8: 1x1 -> 3x3/2 320 | 1x1 -> 1x7 -> 7x1 -> 3x3/2 192 | max pool 3/2; 512 + cin channels."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7x3_1(x)
        for conv in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            seven = conv(seven)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), seven, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """8x8 with split 1x3 / 3x1 outputs; 2048 channels out. `max_pool`: the graph's last block pools by max."""

    def __init__(self, cin: int, max_pool: bool = False):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg_pool_same(x)
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(a), self.branch3x3_2b(a),
                          self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b), self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """`forward(x)`: input already resized to 299x299 and scaled to [-1, 1] -> (pool3 features (N, 2048), logits
    (N, 1008) without the classifier's bias, as the Inception Score reads them). `embed` does the preprocessing."""

    def __init__(self):
        super().__init__()
        self.weights_sha256: str | None = None  # the published file's digest once loaded from it
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(FEATURES, CLASSES)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        pool3 = x.mean((2, 3))
        # The Inception Score's logits: pool3 times the softmax weights, no bias (the improved-GAN code's matmul).
        return pool3, pool3 @ self.fc.weight.T

    @torch.no_grad()
    def embed(self, x01: torch.Tensor, size: int = INPUT_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [0, 1], (N, 1 or 3, H, W), any size -> (pool3, logits) as float32. `size` other than 299 is
        for fast tests only; the network needs 75 pixels at least."""
        return self(prepare(x01, size))


def prepare(x01: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """pytorch-fid's preprocessing: grey repeated to RGB; bilinear resize to size x size with align_corners=False
    and no antialiasing (F.interpolate's defaults there; antialiasing would change only downscaling, which GAN
    samples below 299 pixels never need); then 2x - 1, the graph's [-1, 1] input."""
    if x01.ndim != 4 or x01.shape[1] not in (1, 3):
        raise GankitError(f"the FID Inception network takes (N, 1 or 3, H, W) images, got {tuple(x01.shape)}")
    x = x01.float().expand(-1, 3, -1, -1) if x01.shape[1] == 1 else x01.float()
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    return 2 * x - 1


def _fit(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The port's state dict checked key by key and shape by shape against the architecture. It is a plain dict
    without BN's `num_batches_tracked` counters (unused in eval mode); they are stored as 0 so the cache is the
    module's full state dict."""
    with torch.device("meta"):  # names and shapes only: no memory, no initialisation
        expected = FIDInceptionV3().state_dict()
    state = dict(state)
    for key in expected:
        if key.endswith("num_batches_tracked"):
            state.setdefault(key, torch.tensor(0, dtype=torch.long))
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        problem = (f"{len(missing)} missing (e.g. {missing[0]})" if missing else
                   f"{len(unexpected)} unexpected (e.g. {unexpected[0]})" if unexpected else
                   f"{wrong[0]} has shape {tuple(state[wrong[0]].shape)}, expected {tuple(expected[wrong[0]].shape)}")
        raise CheckpointError(f"does not fit the FID Inception network: {problem}")
    return {k: state[k].contiguous() for k in expected}


def load_inception_weights(source: str | Path, cache_dir: str | Path,
                           expected_sha256: str | None = None) -> dict[str, torch.Tensor]:
    """The FID Inception state dict from the user's copy of the published file.

    The file's SHA-256 must be `expected_sha256` (default: the published INCEPTION_SHA256; tests inject their
    own): any other file is refused, its checksum in the message, because FID values only compare when the network
    is the same. The first call converts the file into `<cache_dir>/weights/fid-inception-<sha8>.safetensors`
    (the digest kept in its metadata); later calls check the digest and read only the cache."""
    source = Path(source).expanduser()
    if not source.is_file():
        raise GankitError(f"Inception weights file not found: {source} (get {INCEPTION_FILE}: docs/standard-fid.md)")
    expected_sha256 = expected_sha256 or INCEPTION_SHA256
    digest = sha256_of(source)
    if digest != expected_sha256:
        raise GankitError(f"{source} is not the FID Inception weights: SHA-256 {digest}, expected {expected_sha256} "
                          f"({INCEPTION_FILE}, {INCEPTION_BYTES:,} bytes)")
    cache = Path(cache_dir).expanduser() / "weights" / f"fid-inception-{digest[:8]}.safetensors"
    return cached_weights(source, digest, cache, _fit)


def fid_inception(source: str | Path | None = None, cache_dir: str | Path | None = None,
                  expected_sha256: str | None = None, seed: int | None = None) -> FIDInceptionV3:
    """The network in eval mode, frozen: the published weights from `source` (cached in `cache_dir`), or with
    `seed` seeded random weights of the same shapes (tests only: not a feature extractor anyone should report)."""
    net = FIDInceptionV3()
    if seed is not None:
        from .efficientnet import random_init

        random_init(net, seed)
    else:
        if source is None or cache_dir is None:
            raise ValueError("the published weights need a source file and a cache_dir")
        net.load_state_dict(load_inception_weights(source, cache_dir, expected_sha256), strict=True)
        net.weights_sha256 = expected_sha256 or INCEPTION_SHA256
    return net.eval().requires_grad_(False)
