import torch

from gankit.data.stream import Order


def test_every_item_once_per_epoch():
    order = Order(n_items=10, batch_size=4, seed=3)
    seen = torch.cat([order.indices(k) for k in range(5)])  # 20 samples = 2 epochs
    assert sorted(seen[:10].tolist()) == list(range(10))
    assert sorted(seen[10:].tolist()) == list(range(10))
    assert not torch.equal(seen[:10], seen[10:])  # epochs are shuffled differently


def test_order_is_a_function_of_seed_and_position():
    a, b = Order(7, 3, seed=1), Order(7, 3, seed=1)
    assert torch.equal(a.indices(5), b.indices(5))
    assert not torch.equal(Order(7, 3, seed=2).indices(0), a.indices(0))


def test_batch_larger_than_dataset():
    order = Order(n_items=3, batch_size=7, seed=0)
    assert len(order.indices(0)) == 7
