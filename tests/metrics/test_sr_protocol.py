"""The super-resolution evaluation protocol: Y conversion, mod-crop, shave, and the bicubic literature anchors."""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.metrics.image_quality import high_frequency_ratio, mod_crop, psnr, quantize_8bit, rgb_to_y, sr_psnr, sr_ssim
from gankit.nn.resize import imresize

from ..conftest import shared


def test_rgb_to_y_is_bt601_studio_swing():
    black, white = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    assert torch.allclose(rgb_to_y(black), torch.full((1, 1, 2, 2), 16 / 255, dtype=torch.float64))
    assert torch.allclose(rgb_to_y(white), torch.full((1, 1, 2, 2), 235 / 255, dtype=torch.float64))
    red = torch.zeros(1, 3, 1, 1)
    red[:, 0] = 1
    assert rgb_to_y(red).item() == pytest.approx((16 + 65.481) / 255)
    assert rgb_to_y(red, round_8bit=True).item() == pytest.approx(81 / 255)  # 81.481 -> 81, as rgb2ycbcr(uint8)


def test_mod_crop_keeps_the_top_left_multiple():
    x = torch.arange(7 * 10).view(1, 1, 7, 10)
    assert torch.equal(mod_crop(x, 4), x[..., :4, :8])
    assert mod_crop(x, 1).shape == x.shape


def test_sr_psnr_shaves_the_border_and_uses_y():
    g = torch.Generator().manual_seed(0)
    hr = quantize_8bit(torch.rand(2, 3, 24, 24, generator=g))
    sr = hr.clone()
    sr[..., :4, :] = 1 - sr[..., :4, :]  # damage only the 4-pixel border: shaved away at scale 4
    assert torch.isinf(sr_psnr(sr, hr, 4)).all()
    assert torch.isfinite(sr_psnr(sr, hr, 3)).all()
    # a change of chroma that keeps Y does not count; grey images are their own Y
    shifted = hr.clone()
    shifted[:, 0] += 24.966 / 255 * 0.1
    shifted[:, 2] -= 65.481 / 255 * 0.1
    assert sr_psnr(shifted.clamp(0, 1), hr, 4, quantize=False).min() > 40
    grey_sr, grey_hr = sr[:, :1], hr[:, :1]
    torch.testing.assert_close(sr_psnr(grey_sr, grey_hr, 2), psnr(grey_sr[..., 2:-2, 2:-2], grey_hr[..., 2:-2, 2:-2]))
    assert torch.allclose(sr_ssim(hr, hr, 4), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(high_frequency_ratio(hr, hr, 4), torch.ones(2, dtype=torch.float64))


def _load(path) -> torch.Tensor:
    a = np.asarray(Image.open(path)).astype(np.float64) / 255
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(a))[None]


def _bicubic_x4(folder: str) -> dict[str, tuple[float, float]]:
    """PSNR and high-frequency ratio of bicubic x4 per image: HR mod-cropped to 4, downscaled x4 with imresize and
    stored as 8 bits (the LR PNG), upscaled x4 with imresize and stored as 8 bits (the SR PNG)."""
    out = {}
    for path in sorted(shared(f"sr/{folder}").glob("*.png")):
        hr = mod_crop(_load(path), 4)
        sr = quantize_8bit(imresize(quantize_8bit(imresize(hr, 0.25)), 4))
        out[path.stem] = (sr_psnr(sr, hr, 4).item(), high_frequency_ratio(sr, hr, 4).item())
    return out


def test_set5_x4_bicubic_is_the_literature_28_42_db():
    """Set5 x4 bicubic = 28.42 dB (baby 31.77, bird 30.18, butterfly 22.10, head 31.58, woman 26.46), reproduced on
    the colour CSet5 (Y of RGB); the grey Set5 folder gives 27.10 dB and is not what the tables used.

    The high-frequency ratio of bicubic comes out 0.121 here (mean of the per-image ratios); the guide's 0.073 is
    not reproduced by this definition (finest binomial Laplacian band, Y, 4-px shave), so 0.121 is pinned as this
    code's own number, not as a literature value."""
    res = _bicubic_x4("CSet5")
    want = {"baby": 31.77, "bird": 30.18, "butterfly": 22.10, "head": 31.58, "woman": 26.46}
    assert set(res) == set(want)
    for name, db in want.items():
        assert res[name][0] == pytest.approx(db, abs=0.01), name
    assert np.mean([p for p, _ in res.values()]) == pytest.approx(28.42, abs=0.01)
    assert np.mean([h for _, h in res.values()]) == pytest.approx(0.121, abs=0.001)


def test_cbsd68_x4_bicubic_is_26_06_db():
    """CBSD68 (colour) x4 bicubic, mod-crop 480x320: 26.06 dB. HF ratio (own number, guide's 0.029 not
    reproduced): 0.055. About 1.5 s: not marked slow."""
    res = _bicubic_x4("CBSD68")
    assert len(res) == 68
    assert np.mean([p for p, _ in res.values()]) == pytest.approx(26.06, abs=0.01)
    assert np.mean([h for _, h in res.values()]) == pytest.approx(0.055, abs=0.001)
