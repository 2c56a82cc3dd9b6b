import math

import torch

from gankit.losses.information import categorical_code_loss, gaussian_code_loss


def test_categorical_closed_form_and_minimum_at_the_codes():
    codes = torch.tensor([0, 3, 1, 2])
    uniform = torch.zeros(4, 4)
    assert math.isclose(categorical_code_loss(uniform, codes).item(), math.log(4), rel_tol=1e-6)
    exact = torch.nn.functional.one_hot(codes, 4).float() * 50  # Q certain of the right category
    assert categorical_code_loss(exact, codes).item() < 1e-6
    wrong = torch.nn.functional.one_hot((codes + 1) % 4, 4).float() * 50
    assert categorical_code_loss(wrong, codes).item() > 40


def test_gaussian_closed_form():
    c = torch.tensor([[1.0, -0.5]])
    mean = torch.tensor([[0.0, -0.5]])
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    # unit variance: 0.5 (c - mu)^2 + 0.5 log(2 pi) per code, summed over codes
    assert math.isclose(gaussian_code_loss(mean, c).item(), 0.5 + 2 * half_log_2pi, rel_tol=1e-6)
    # learned variance: 0.5 ((c - mu) / sigma)^2 + log sigma + 0.5 log(2 pi)
    log_std = torch.tensor([[math.log(2.0), 0.0]])
    expected = 0.5 * 0.25 + math.log(2.0) + half_log_2pi + half_log_2pi
    assert math.isclose(gaussian_code_loss(mean, c, log_std).item(), expected, rel_tol=1e-6)


def test_gaussian_minimal_and_flat_when_q_reads_the_codes_exactly():
    codes = torch.rand(64, 3) * 2 - 1
    mean = codes.clone().requires_grad_(True)
    loss = gaussian_code_loss(mean, codes)
    loss.backward()
    assert mean.grad.abs().max() < 1e-7
    for shift in (0.1, -0.3):
        assert gaussian_code_loss(codes + shift, codes) > loss
