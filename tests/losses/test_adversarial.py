import math

import torch

from gankit.losses.adversarial import bce_discriminator_loss, minimax_generator_loss, nonsaturating_generator_loss


def test_closed_form_at_zero_logits():
    zero = torch.zeros(5)
    assert math.isclose(bce_discriminator_loss(zero, zero).item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(nonsaturating_generator_loss(zero).item(), math.log(2), rel_tol=1e-6)
    assert math.isclose(minimax_generator_loss(zero).item(), -math.log(2), rel_tol=1e-6)


def test_matches_probability_form():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_D = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    assert torch.allclose(bce_discriminator_loss(real, fake), expected_D)
    assert torch.allclose(nonsaturating_generator_loss(fake), -torch.log(d_fake).mean())
    assert torch.allclose(minimax_generator_loss(fake), torch.log(1 - d_fake).mean())


def test_finite_for_extreme_logits():
    big = torch.tensor([1e4, -1e4])
    for v in (bce_discriminator_loss(big, big), nonsaturating_generator_loss(big), minimax_generator_loss(big)):
        assert torch.isfinite(v)


def test_least_squares_closed_form():
    from gankit.losses.adversarial import ls_discriminator_loss, ls_generator_loss

    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])
    # D: 1/2 mean((real-1)^2) + 1/2 mean(fake^2) = 1/2 * 2 + 1/2 * 2
    assert ls_discriminator_loss(real, fake).item() == 2.0
    assert ls_generator_loss(fake).item() == 0.5  # 1/2 mean((fake-1)^2) = 1/2 * (1 + 1) / 2
    assert ls_discriminator_loss(torch.ones(3), torch.zeros(3)).item() == 0.0


def test_wasserstein_closed_form():
    from gankit.losses.adversarial import wasserstein_critic_loss, wasserstein_generator_loss

    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([-1.0, 1.0])
    assert wasserstein_critic_loss(real, fake).item() == 0.0 - 3.0
    assert wasserstein_generator_loss(fake).item() == 0.0
