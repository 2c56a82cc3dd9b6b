"""MATLAB-style bicubic imresize: hand-computed weights, border mirroring, antialiasing, output-size rules."""

import math

import pytest
import torch

from gankit.nn.resize import contributions, cubic, imresize, imresize_255

# 1-D response of a x2 upscale to [1, 0, 0, 0], by hand from k(0.25) = 0.8671875, k(0.75) = 0.2265625,
# k(1.25) = -0.0703125, k(1.75) = -0.0234375 (a = -0.5), samples at u = x / 2 + 0.25 and the mirrored border
# (index 0 -> 1, -1 -> 2): 1.09375 = 0.2265625 + 0.8671875 - 0.0234375 - 0.0703125 + 0.09375 ... see below.
#   out1 = (0.2265625 + 0.8671875) * x1 + (-0.0234375 - 0.0703125) * x2      -> 1.09375 for a delta at x1
#   out2 = (0.8671875 - 0.0703125) * x1 + 0.2265625 * x2 - 0.0234375 * x3    -> 0.796875
#   out3 = (0.2265625 - 0.0234375) * x1 + 0.8671875 * x2 - 0.0703125 * x3    -> 0.203125
#   out4 = -0.0703125 * x1 + ...,  out5 = -0.0234375 * x1 + ...,  out6..8 do not reach x1
DELTA_X2 = torch.tensor([1.09375, 0.796875, 0.203125, -0.0703125, -0.0234375, 0.0, 0.0, 0.0], dtype=torch.float64)


def test_cubic_kernel_values():
    x = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5], dtype=torch.float64)
    want = [1.0, 0.8671875, 0.5625, 0.2265625, 0.0, -0.0703125, -0.0625, -0.0234375, 0.0, 0.0]
    assert cubic(x).tolist() == want
    assert cubic(-x).tolist() == want


def test_upscale_x2_of_a_delta_matches_the_hand_computed_weights():
    x = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    x[..., 0, 0] = 1
    y = imresize(x, 2)
    assert y.shape == (1, 1, 8, 8)
    torch.testing.assert_close(y[0, 0], torch.outer(DELTA_X2, DELTA_X2), rtol=0, atol=1e-12)
    # mirrored the other way round for a delta in the last pixel
    x = torch.zeros(1, 1, 1, 4, dtype=torch.float64)
    x[..., -1] = 1
    torch.testing.assert_close(imresize(x, (1, 2))[0, 0, 0], DELTA_X2.flip(0), rtol=0, atol=1e-12)


def test_constants_stay_constant_and_ramps_stay_linear_inside():
    for scale in (0.25, 0.3, 0.5, 1.7, 2, 3, 4):
        c = torch.full((2, 3, 13, 17), 0.37, dtype=torch.float64)
        torch.testing.assert_close(imresize(c, scale), torch.full_like(imresize(c, scale), 0.37))
    ramp = torch.arange(1, 17, dtype=torch.float64).view(1, 1, 1, 16).expand(1, 1, 4, 16)
    y = imresize(ramp, 2)[0, 0, 0]
    u = torch.arange(1, 33, dtype=torch.float64) / 2 + 0.25  # MATLAB's input coordinate of each output pixel
    torch.testing.assert_close(y[4:-4], u[4:-4], rtol=0, atol=1e-12)  # away from the mirrored border
    y = imresize(ramp, 0.5)[0, 0, 0]
    u = torch.arange(1, 9, dtype=torch.float64) * 2 - 0.5
    torch.testing.assert_close(y[2:-2], u[2:-2], rtol=0, atol=1e-12)


def test_downscaling_is_antialiased():
    # A one-pixel checkerboard taken every third pixel is still a full-contrast checkerboard without antialiasing.
    i = torch.arange(60)
    board = ((i.view(-1, 1) + i.view(1, -1)) % 2).double().view(1, 1, 60, 60)
    aa = imresize(board, 1 / 3)
    raw = imresize(board, 1 / 3, antialias=False)
    assert aa.shape == raw.shape == (1, 1, 20, 20)
    assert (aa - 0.5).abs().max() < 0.02
    assert raw.max() - raw.min() > 0.9
    # x4: one bright line in every four; without antialiasing the sampling grid misses it (mean -0.0625, not 0.25)
    lines = (i % 4 == 0).double().view(1, 1, 1, 60).expand(1, 1, 8, 60)
    aa = imresize(lines, 0.25)[..., 2:-2]  # the 16-pixel kernel reaches the mirrored border
    assert (aa - 0.25).abs().max() < 0.01
    assert (imresize(lines, 0.25, antialias=False)[..., 2:-2] - 0.25).abs().min() > 0.3


def test_output_size_rules():
    x = torch.rand(1, 2, 10, 7)
    assert imresize(x, 0.25).shape == (1, 2, math.ceil(2.5), math.ceil(1.75))  # 3 x 2
    assert imresize(x, 1.5).shape == (1, 2, 15, 11)
    assert imresize(x, (0.5, 2)).shape == (1, 2, 5, 14)
    assert imresize(x, size=(4, 9)).shape == (1, 2, 4, 9)
    with pytest.raises(ValueError):
        imresize(x)
    with pytest.raises(ValueError):
        imresize(x, 2, size=(4, 4))
    w, idx = contributions(10, 3, 0.25)
    assert w.shape == idx.shape and int(idx.min()) >= 0 and int(idx.max()) <= 9
    torch.testing.assert_close(w.sum(1), torch.ones(3, dtype=torch.float64))


def test_uint8_path_rounds_and_clips():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (1, 3, 20, 24), generator=g, dtype=torch.uint8)
    y = imresize(x, 0.5)
    assert y.dtype == torch.uint8 and y.shape == (1, 3, 10, 12)
    assert (y.double() - imresize(x.double(), 0.5)).abs().max() <= 1.0  # rounded after each dimension
    f = imresize_255(x.double() / 255, 2)
    assert torch.equal((f * 255).round(), imresize(x, 2).double())


def test_a_512_image_resizes_quickly():
    import time

    x = torch.rand(1, 3, 512, 512)
    t = time.perf_counter()
    imresize(imresize(x, 0.25), 4)
    assert time.perf_counter() - t < 2.0  # generous for a shared CPU; about 0.1 s on an idle core
