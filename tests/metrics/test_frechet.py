import numpy as np

from gankit.metrics import frechet_distance, gaussian_stats


def test_same_set_is_zero():
    x = np.random.default_rng(0).normal(size=(2000, 8))
    mu, s = gaussian_stats(x)
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-6


def test_two_gaussians_match_the_analytic_value():
    # N(m1, diag(a)) vs N(m2, diag(b)): |m1-m2|^2 + sum(a + b - 2 sqrt(a b))
    m1, m2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 0.25]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((m1 - m2) ** 2) + np.sum(a + b - 2 * np.sqrt(a * b))
    assert np.isclose(frechet_distance(m1, np.diag(a), m2, np.diag(b)), expected)


def test_full_covariances_against_scipy_sqrtm():
    from scipy.linalg import sqrtm

    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = A @ A.T, B @ B.T
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    ref = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(sqrtm(s1 @ s2).real)
    assert np.isclose(frechet_distance(mu1, s1, mu2, s2), ref, rtol=1e-6)


def test_sampled_gaussians_approach_the_analytic_value():
    rng = np.random.default_rng(2)
    x, y = rng.normal(0, 1, size=(20000, 4)), rng.normal(1, 2, size=(20000, 4))
    fd = frechet_distance(*gaussian_stats(x), *gaussian_stats(y))
    assert abs(fd - (4 * 1 + 4 * (1 + 4 - 2 * 2))) < 0.2  # = 8
