"""The standard FID, KID and IS (metrics/standard.py): the estimators against brute force and known values, and the
whole protocol in the FID Inception network with random weights of the right shapes (offline; input 75 pixels,
the network's smallest, for speed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gankit.metrics import frechet_distance, gaussian_stats
from gankit.metrics.standard import (
    InceptionReference,
    fid,
    inception_score,
    kernel_distance,
    mmd2_unbiased,
    quantize,
)
from gankit.nn.inception import fid_inception


@pytest.mark.parametrize("n_x, n_y", [(9, 14), (14, 9), (3, 40), (60, 70)])
def test_fid_from_the_sets_equals_the_checked_frechet_distance(n_x, n_y):
    # 20 dimensions: fewer rows than dimensions takes the sets' own route, more takes metrics/frechet.py's
    rng = np.random.default_rng(n_x)
    x, y = rng.normal(size=(n_x, 20)), rng.gamma(2.0, size=(n_y, 20))
    expected = frechet_distance(*gaussian_stats(x), *gaussian_stats(y))
    assert np.isclose(fid(x, y), expected, rtol=1e-8)
    assert abs(fid(x, x)) < 1e-9 * expected


def brute_force_mmd2(x, y):
    """The unbiased estimator written as its definition: mean kernel over distinct pairs within each set, minus
    twice the mean over all cross pairs."""
    def k(a, b):
        return (float(a @ b) / len(a) + 1) ** 3

    m = len(x)
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    cross = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return within - 2 * cross


def test_mmd2_matches_the_brute_force_formula():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(9, 4)), rng.normal(0.5, 1.5, size=(9, 4))
    assert np.isclose(mmd2_unbiased(x, y), brute_force_mmd2(x, y), rtol=1e-10)
    with pytest.raises(ValueError):
        mmd2_unbiased(x, y[:5])


def test_kid_is_unbiased_where_the_plug_in_estimate_is_not():
    # Two samples of one distribution: the true MMD^2 is 0. Averaged over many draws the unbiased estimate is 0
    # within its standard error; the plug-in (diagonal kept) estimate is clearly positive.
    rng = np.random.default_rng(1)
    unbiased, plug_in = [], []
    for _ in range(400):
        x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
        unbiased.append(mmd2_unbiased(x, y))
        k = lambda a, b: (a @ b.T / 3 + 1) ** 3  # noqa: E731
        plug_in.append(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())
    se = np.std(unbiased) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < 3 * se
    assert np.mean(plug_in) > 10 * se


def test_kid_subsets():
    rng = np.random.default_rng(2)
    x, y, z = rng.normal(size=(300, 5)), rng.normal(size=(200, 5)), rng.normal(1.0, 1.0, size=(200, 5))
    same, same_std = kernel_distance(x, y, subsets=20, subset_size=100, seed=0)
    far, far_std = kernel_distance(x, z, subsets=20, subset_size=100, seed=0)
    assert abs(same) < 3 * same_std and far > 5 * far_std > 0
    assert kernel_distance(x, z, subsets=20, subset_size=100, seed=0) == (far, far_std)  # seeded
    # subsets never exceed the smaller set: all 200 rows of z every time, so only x's draw varies
    assert kernel_distance(x, z, subsets=3, subset_size=1000, seed=1)[0] > 0


def test_inception_score_known_values():
    assert inception_score(np.zeros((50, 1008))) == (1.0, 0.0)  # every sample uniform: no information
    confident = np.full((40, 1008), -50.0)
    confident[np.arange(40), np.arange(40) % 4] = 50.0  # four classes, equally often in every split of 4
    mean, std = inception_score(confident, splits=10)
    assert np.isclose(mean, 4.0) and std < 1e-9
    assert np.isclose(inception_score(confident[:3], splits=10)[0], 1.0)  # one sample per split: IS 1 each


@pytest.fixture(scope="module")
def net():
    return fid_inception(seed=0)


def test_fid_of_a_set_against_itself_is_zero_and_equals_the_formula(net):
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(12, 3, 16, 16, generator=gen)
    ref = InceptionReference(net, real, size=75)
    same = ref(real)
    assert abs(same["fid"]) < 1e-6 * np.trace(ref.real_stats[1])
    fake = torch.rand(10, 1, 16, 16, generator=gen) ** 2  # grey and darker
    m = ref(fake)
    feats, logits = ref.features(fake)
    assert feats.shape == (10, 2048) and logits.shape == (10, 1008)
    # The formula, computed another way: with S1 = A A^T, S2 = B B^T (A, B the centred features / sqrt(n - 1)),
    # S1 S2 has the nonzero eigenvalues of (A^T B)(A^T B)^T, so tr (S1 S2)^(1/2) is the nuclear norm of A^T B.
    a = (feats - feats.mean(0)).T / np.sqrt(len(feats) - 1)
    b = (ref.real_feats - ref.real_feats.mean(0)).T / np.sqrt(len(ref.real_feats) - 1)
    mean_term = np.sum((feats.mean(0) - ref.real_feats.mean(0)) ** 2)
    formula = mean_term + np.sum(a * a) + np.sum(b * b) - 2 * np.linalg.norm(a.T @ b, "nuc")
    assert np.isclose(m["fid"], formula, rtol=1e-4) and m["fid"] > 100 * abs(same["fid"])
    assert m["kid"] > 0 and m["kid_std"] >= 0
    assert np.isclose(m["is"], inception_score(logits)[0]) and m["is"] >= 1
    assert set(m) == {"fid", "kid", "kid_std", "is", "is_std"}


def test_images_are_measured_as_8_bit_files_hold_them(net):
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    ref = InceptionReference(net, x[:2], size=75)
    nudged = (quantize(x) + 0.4 / 255).clamp(0, 1)  # less than half a level
    assert np.array_equal(ref.features(x)[0], ref.features(nudged)[0])


def test_real_features_are_cached_by_weights_and_images(net, tmp_path, monkeypatch):
    real = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    monkeypatch.setattr(net, "weights_sha256", "ab" * 32)
    first = InceptionReference(net, real, cache=tmp_path, size=75)
    assert len(list((tmp_path / "inception-features").iterdir())) == 1

    def no_network(*args, **kwargs):
        raise AssertionError("the real images went through the network again")

    monkeypatch.setattr(net, "embed", no_network)
    again = InceptionReference(net, real, cache=tmp_path, size=75)
    assert np.array_equal(again.real_feats, first.real_feats.astype(np.float32).astype(np.float64))
    with pytest.raises(AssertionError, match="again"):
        InceptionReference(net, real.flip(0), cache=tmp_path, size=75)  # other images: a new entry


def test_one_real_image_is_refused(net):
    from gankit.errors import GankitError

    with pytest.raises(GankitError, match="2 real images at least, got 1"):
        InceptionReference(net, torch.rand(1, 3, 8, 8), size=75)
