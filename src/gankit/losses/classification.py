"""Classification terms on a discriminator's auxiliary head: StarGAN's domain classification loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def attribute_loss(logits: torch.Tensor, targets: torch.Tensor, groups: list[list[int]], known: torch.Tensor
                   ) -> torch.Tensor:
    """Choi et al. 2018, L_cls: binary cross-entropy for each binary attribute and cross-entropy for each one-of-N
    group (targets one-hot there), counting only the labels a sample has (`known`, (N, L) of 0/1: with two datasets
    the other dataset's labels are unknown, the mask vector's point), summed over attributes, averaged over the
    batch. Logits and targets are (N, L)."""
    logits, targets, known = logits.float(), targets.float(), known.float()
    grouped = {j for group in groups for j in group}
    binary = [j for j in range(logits.shape[1]) if j not in grouped]
    loss = logits.new_zeros(logits.shape[0])
    if binary:
        bce = F.binary_cross_entropy_with_logits(logits[:, binary], targets[:, binary], reduction="none")
        loss = loss + (bce * known[:, binary]).sum(1)
    for group in groups:
        ce = F.cross_entropy(logits[:, group], targets[:, group].argmax(1), reduction="none")
        loss = loss + ce * known[:, group[0]]
    return loss.mean()


def attribute_predictions(logits: torch.Tensor, groups: list[list[int]]) -> torch.Tensor:
    """0/1 labels from logits: positive logits for binary attributes, the largest one in each group."""
    out = (logits > 0).float()
    for group in groups:
        out[:, group] = F.one_hot(logits[:, group].argmax(1), len(group)).float()
    return out
