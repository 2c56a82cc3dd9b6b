"""EnhanceNet's feature-space losses (Sajjadi et al. 2017), pure functions of feature maps as a fixed network gives
them (`nn.efficientnet.FeatureNet`: a dict of (N, C, H, W) maps by the VGG layer name each stands for).

perceptual: the MSE between the two images' maps at each named depth, weighted.
texture: at each named depth, Gram matrices F F^T of every non-overlapping p x p patch of the map (per patch, not per
image: a global Gram averages textures away), and the MSE between the two images' Grams, weighted.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def perceptual_loss(f_fake: dict[str, torch.Tensor], f_real: dict[str, torch.Tensor],
                    weights: dict[str, float]) -> torch.Tensor:
    return sum(w * F.mse_loss(f_fake[k], f_real[k]) for k, w in weights.items())


def patch_grams(f: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, C, H, W) with H and W multiples of `patch` -> (N, H/p * W/p, C, C): the Gram matrix of each patch."""
    n, c, h, w = f.shape
    if h % patch or w % patch:
        raise ValueError(f"a {h}x{w} feature map does not tile into {patch}x{patch} patches")
    p = f.reshape(n, c, h // patch, patch, w // patch, patch).permute(0, 2, 4, 1, 3, 5)
    p = p.reshape(n, (h // patch) * (w // patch), c, patch * patch)
    return p @ p.transpose(-1, -2)


def texture_loss(f_fake: dict[str, torch.Tensor], f_real: dict[str, torch.Tensor], weights: dict[str, float],
                 patch: int = 16) -> torch.Tensor:
    return sum(w * F.mse_loss(patch_grams(f_fake[k], patch), patch_grams(f_real[k], patch))
               for k, w in weights.items())
