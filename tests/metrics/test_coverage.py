import numpy as np

from gankit.data.mixtures import grid25_means, ring8_means
from gankit.metrics import class_coverage, mixture_coverage, precision_recall


def test_mixture_counter_on_constructed_samples():
    means = ring8_means().numpy()
    # 3 modes hit exactly, one sample 2.5 sigma off mode 3 (still high quality), one far from everything
    x = np.concatenate([means[[0, 0, 1, 2]], means[[3]] + [0.025, 0.0], [[0.0, 0.0]]])
    m = mixture_coverage(x, means, sigma=0.01)
    assert m["modes"] == 4 and np.isclose(m["high_quality"], 5 / 6)
    # histogram over high-quality samples [2,1,1,1,0,0,0,0]/5 against uniform 1/8
    p = np.array([2, 1, 1, 1]) / 5
    assert np.isclose(m["reverse_kl"], np.sum(p * np.log(p * 8)))


def test_perfect_grid_has_all_modes_and_zero_kl():
    means = grid25_means().numpy()
    m = mixture_coverage(np.repeat(means, 4, 0), means, sigma=0.05)
    assert m == {"modes": 25, "high_quality": 1.0, "reverse_kl": 0.0}
    assert mixture_coverage(np.full((5, 2), 100.0), means, 0.05)["modes"] == 0


def test_class_coverage():
    c = class_coverage(np.array([0, 0, 1, 1]), 4)
    assert c["classes_covered"] == 2 and np.isclose(c["kl_to_data"], np.log(2))
    assert c["histogram"] == [0.5, 0.5, 0.0, 0.0]


def test_precision_recall_separate_quality_from_coverage():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(1000, 2))
    same = rng.normal(size=(1000, 2))
    p, r = precision_recall(real, same)
    assert p > 0.9 and r > 0.9
    collapsed = rng.normal(scale=0.05, size=(1000, 2))  # realistic points, no variety
    p, r = precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.3
    far = rng.normal(loc=10, size=(1000, 2))
    assert precision_recall(real, far) == (0.0, 0.0)
