"""The image pool CycleGAN's discriminators learn from (Shrivastava et al. 2017, 50 images)."""

import torch

from gankit.runtime.buffers import ImagePool


def images(start, n):
    """n distinct 1x1x1 'images' whose value is their serial number."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1)


def test_pool_fills_with_the_inputs_then_mixes_past_and_current_with_probability_one_half():
    pool = ImagePool(50)
    g = torch.Generator().manual_seed(0)
    for k in range(50):  # while filling, every input comes straight back (and is stored)
        x = images(k, 1)
        assert torch.equal(pool.query(x, torch.rand(1, 2, generator=g)), x)
    assert pool.count == 50 and sorted(pool.images.flatten().tolist()) == list(range(50))
    from_history, n = 0, 4000
    for k in range(50, 50 + n):
        x = images(k, 1)
        before = set(pool.images.flatten().tolist())
        out = pool.query(x, torch.rand(1, 2, generator=g))
        value = out.item()
        if value != k:
            from_history += 1
            assert value in before and value < k  # a past image, which the input replaced in the pool
            assert k in pool.images.flatten().tolist() and value not in pool.images.flatten().tolist()
        else:
            assert set(pool.images.flatten().tolist()) == before  # kept the input for itself: pool unchanged
    assert abs(from_history / n - 0.5) < 0.03  # 4000 fair coins: 0.5 +- 0.016 (two standard deviations)


def test_pool_handles_batches_and_saves_its_contents():
    pool = ImagePool(3)
    u = torch.tensor([[0.9, 0.0], [0.9, 0.0], [0.1, 0.99], [0.1, 0.0], [0.9, 0.5]])
    out = pool.query(images(0, 5), u)
    # 0, 1, 2 fill the pool whatever their u; 3's coin (0.1) takes slot 0 (u=0.0) and leaves itself there;
    # 4's coin (0.9) says keep the input
    assert out.flatten().tolist() == [0.0, 1.0, 2.0, 0.0, 4.0]
    assert pool.images.flatten().tolist() == [3.0, 1.0, 2.0]
    copy = ImagePool(3)
    copy.load_state_dict(pool.state_dict())
    assert copy.count == 3 and torch.equal(copy.images, pool.images)
    u2 = torch.tensor([[0.1, 0.4]])
    assert torch.equal(copy.query(images(9, 1), u2), pool.query(images(9, 1), u2))


def test_empty_and_disabled_pools():
    assert ImagePool(4).state_dict() == {}
    x = images(0, 3)
    assert torch.equal(ImagePool(0).query(x, torch.zeros(3, 2)), x)


def test_half_batch_history_fills_then_replaces_exactly_half_a_batch_of_distinct_entries():
    from gankit.runtime.buffers import HalfBatchHistory

    history, half = HalfBatchHistory(10), 4
    g = torch.Generator().manual_seed(0)
    assert history.draw(half, torch.rand(10, generator=g)) is None  # nothing stored yet
    for k in range(1, 4):
        history.push(images(100 * k, half), torch.rand(10, generator=g))
        assert history.count == min(k * half, 10)
    stored = history.images.flatten().tolist()  # the third push filled 2 free slots and replaced 2 old entries
    assert {300, 301, 302, 303} <= set(stored) and len(set(stored) & {100, 101, 102, 103, 200, 201, 202, 203}) == 6
    for k in range(4, 40):
        before = history.images.flatten().tolist()
        drawn = history.draw(half, torch.rand(10, generator=g)).flatten().tolist()
        assert len(set(drawn)) == half and set(drawn) <= set(before)  # distinct stored images
        history.push(images(100 * k, half), torch.rand(10, generator=g))
        after = history.images.flatten().tolist()
        assert sum(a != b for a, b in zip(before, after)) == half  # exactly half a batch replaced
        assert sorted(v for v in after if v >= 100 * k) == [100 * k + i for i in range(half)]
        assert history.count == 10


def test_half_batch_history_state_survives_a_round_trip():
    from gankit.runtime.buffers import HalfBatchHistory

    a, g = HalfBatchHistory(6), torch.Generator().manual_seed(1)
    a.push(images(0, 4), torch.rand(6, generator=g))
    b = HalfBatchHistory(6)
    b.load_state_dict(a.state_dict())
    assert b.count == 4 and torch.equal(b.images[:4], a.images[:4])
    u = torch.rand(6, generator=g)
    a.push(images(10, 4), u)
    b.push(images(10, 4), u)
    assert torch.equal(a.images, b.images) and a.count == b.count == 6
