import torch
from torch import nn

from gankit.losses.penalties import clip_weights, drift_penalty, gradient_penalty


def test_gradient_penalty_zero_for_unit_norm_linear_critic():
    critic = nn.Linear(12, 1)
    with torch.no_grad():
        w = torch.randn(1, 12)
        critic.weight.copy_(w / w.norm())
    real, fake = torch.randn(8, 3, 2, 2), torch.randn(8, 3, 2, 2)
    gp = gradient_penalty(lambda x: critic(x.flatten(1)).flatten(), real, fake, torch.rand(8))
    assert gp.item() < 1e-10


def test_gradient_penalty_value_and_gradient_for_scaled_critic():
    critic = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0]]))  # norm 5: penalty (5 - 1)^2 = 16
    gp = gradient_penalty(lambda x: critic(x).flatten(), torch.randn(6, 4), torch.randn(6, 4), torch.rand(6))
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


def test_gradient_penalty_with_fp16_loss_scaling_matches_the_unscaled_one():
    """The fp16 recipe scales D's outputs before the inner gradient and unscales after: same penalty, same
    weight gradient (up to rounding), and the scaled path really ran (the scaler holds a scale above 1)."""
    from gankit.runtime.precision import Precision

    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
    real, fake, eps = torch.randn(6, 4), torch.randn(6, 4), torch.rand(6)
    plain = gradient_penalty(lambda x: critic(x).flatten(), real, fake, eps)
    (g_plain,) = torch.autograd.grad(plain, critic[0].weight)
    fp16 = Precision("fp16", "cpu")
    scaled = gradient_penalty(lambda x: critic(x).flatten(), real, fake, eps, fp16.input_gradient)
    (g_scaled,) = torch.autograd.grad(scaled, critic[0].weight)
    assert fp16.scaler("D").get_scale() > 1
    assert torch.allclose(plain, scaled, rtol=1e-5)
    assert torch.allclose(g_plain, g_scaled, rtol=1e-4, atol=1e-7)


def test_gradient_penalty_with_a_target_is_divided_by_its_square():
    """PGGAN's gamma: a critic of gradient norm 5 against gamma 750 gives (5 - 750)^2 / 750^2."""
    critic = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 0.0, 4.0, 0.0]]))
    gp = gradient_penalty(lambda x: critic(x).flatten(), torch.randn(6, 4), torch.randn(6, 4), torch.rand(6),
                          target=750.0)
    assert torch.isclose(gp, torch.tensor((5 - 750) ** 2 / 750**2))


def test_drift_penalty_is_the_mean_squared_real_score():
    assert torch.isclose(drift_penalty(torch.tensor([1.0, -2.0, 3.0, 0.0])), torch.tensor(14 / 4))
