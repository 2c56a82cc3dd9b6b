"""How much a learned code knows: cluster accuracy of a categorical code, nearest-neighbour and linear-probe
accuracy of an encoding, and two measurable properties of handwriting (slant, ink) for continuous codes."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def cluster_accuracy(clusters: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy of unsupervised clusters as a classifier, under the best one-to-one matching of clusters to
    classes (the Hungarian algorithm on the cluster x class counts). With more clusters than classes the
    unmatched clusters count as errors, so the score never rewards splitting a class."""
    clusters, labels = np.asarray(clusters, dtype=np.int64), np.asarray(labels, dtype=np.int64)
    counts = np.zeros((clusters.max() + 1, labels.max() + 1), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(labels))


def nearest_neighbour_accuracy(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray,
                               test_labels: np.ndarray) -> float:
    """1-nearest-neighbour classification of `test` by `train` under cosine distance (scale-free, so codes and
    pixels are compared alike)."""
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=1, metric="cosine", algorithm="brute")
    knn.fit(np.asarray(train, dtype=np.float32), train_labels)
    return float((knn.predict(np.asarray(test, dtype=np.float32)) == np.asarray(test_labels)).mean())


def linear_probe_accuracy(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray,
                          test_labels: np.ndarray, max_iter: int = 1000) -> float:
    """A multinomial logistic regression on standardised features, fitted on `train`, scored on `test`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    probe.fit(np.asarray(train, dtype=np.float64), train_labels)
    return float((probe.predict(np.asarray(test, dtype=np.float64)) == np.asarray(test_labels)).mean())


def _ink_and_grid(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, H, W) ink in [0, 1] from (N, [1,] H, W) images in [-1, 1] (bright strokes on dark, as MNIST)."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4:
        x = x.mean(1)
    ink = np.clip((x + 1) / 2, 0, 1)
    ys, xs = np.mgrid[0:ink.shape[1], 0:ink.shape[2]].astype(np.float64)
    return ink, ys, xs


def slant(images: np.ndarray) -> np.ndarray:
    """Per image, the shear of its ink from second moments: -mu11 / mu02 about the centroid, i.e. how far the
    strokes move right per pixel up (positive: leaning right, as italic). Images in [-1, 1]."""
    ink, ys, xs = _ink_and_grid(images)
    mass = ink.sum((1, 2)) + 1e-9
    cy = (ink * ys).sum((1, 2)) / mass
    cx = (ink * xs).sum((1, 2)) / mass
    dy, dx = ys[None] - cy[:, None, None], xs[None] - cx[:, None, None]
    mu11 = (ink * dx * dy).sum((1, 2)) / mass
    mu02 = (ink * dy * dy).sum((1, 2)) / mass + 1e-9
    return -mu11 / mu02


def ink(images: np.ndarray) -> np.ndarray:
    """Per image, the share of the image covered by ink (mean intensity in [0, 1]): for one digit drawn at one
    size, thicker strokes mean more ink. Images in [-1, 1]."""
    return _ink_and_grid(images)[0].mean((1, 2))
