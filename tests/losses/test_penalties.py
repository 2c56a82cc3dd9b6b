import torch
from torch import nn

from gankit.losses.penalties import clip_weights, gradient_penalty


def test_gradient_penalty_zero_for_unit_norm_linear_critic():
    critic = nn.Linear(12, 1)
    with torch.no_grad():
        w = torch.randn(1, 12)
        critic.weight.copy_(w / w.norm())
    real, fake = torch.randn(8, 3, 2, 2), torch.randn(8, 3, 2, 2)
    gp = gradient_penalty(lambda x: critic(x.flatten(1)).flatten(), real, fake)
    assert gp.item() < 1e-10


def test_gradient_penalty_value_and_gradient_for_scaled_critic():
    critic = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0]]))  # norm 5: penalty (5 - 1)^2 = 16
    gp = gradient_penalty(lambda x: critic(x).flatten(), torch.randn(6, 4), torch.randn(6, 4))
    assert torch.isclose(gp, torch.tensor(16.0))
    gp.backward()  # differentiable w.r.t. the critic's weights (double backward)
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_clipping_keeps_weights_within_c():
    net = nn.Sequential(nn.Linear(5, 5), nn.Linear(5, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(100)
    clip_weights(net, 0.01)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())
