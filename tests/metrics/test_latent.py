import numpy as np
import pytest

from gankit.metrics.latent import cluster_accuracy, ink, linear_probe_accuracy, nearest_neighbour_accuracy, slant


def test_cluster_accuracy_under_the_best_matching():
    labels = np.repeat(np.arange(4), 25)
    permuted = (labels * 3 + 1) % 4  # the same partition under other names
    assert cluster_accuracy(permuted, labels) == 1.0
    assert cluster_accuracy(np.zeros(100, int), labels) == 0.25  # one cluster can be one class only
    mixed = permuted.copy()
    mixed[:10] = permuted[50]  # ten images of class 0 placed in class 2's cluster
    assert cluster_accuracy(mixed, labels) == pytest.approx(0.9)
    # twenty clusters for four classes: only four can be matched, the rest count as errors
    assert cluster_accuracy(np.arange(100) // 5, labels) == pytest.approx(0.2)


def test_nearest_neighbour_and_linear_probe_on_separable_codes():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)) * 5
    y_train, y_test = np.repeat(np.arange(3), 30), np.repeat(np.arange(3), 10)
    x_train = centres[y_train] + rng.normal(size=(90, 8)) * 0.1
    x_test = centres[y_test] + rng.normal(size=(30, 8)) * 0.1
    assert nearest_neighbour_accuracy(x_train, y_train, x_test, y_test) == 1.0
    assert linear_probe_accuracy(x_train, y_train, x_test, y_test) == 1.0
    noise = rng.normal(size=(30, 8))
    assert nearest_neighbour_accuracy(x_train, y_train, noise, y_test) < 0.7


def bar(shear: float, width: int) -> np.ndarray:
    """A vertical stroke of `width` pixels on a 28x28 canvas in [-1, 1], its top moved `shear` pixels per row up."""
    img = -np.ones((28, 28))
    for row in range(4, 24):
        centre = 14 + shear * (14 - row)
        img[row, int(round(centre - width / 2)):int(round(centre - width / 2)) + width] = 1
    return img


def test_slant_sign_and_ink_grow_as_they_should():
    right, upright, left = bar(0.4, 3), bar(0.0, 3), bar(-0.4, 3)
    s = slant(np.stack([right, upright, left])[:, None])
    assert s[0] > 0.3 and abs(s[1]) < 1e-9 and s[2] < -0.3
    widths = ink(np.stack([bar(0.0, w) for w in (1, 2, 4, 6)]))
    assert np.all(np.diff(widths) > 0)
    assert ink(-np.ones((1, 28, 28)))[0] == 0 and ink(np.ones((1, 28, 28)))[0] == 1
