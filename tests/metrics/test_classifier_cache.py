import torch

from gankit.metrics.classifier import SmallCNN, cached_classifier


def test_cached_classifier_trains_once_and_loads_the_same_weights(tmp_path):
    calls = []

    def fit():
        calls.append(1)
        torch.manual_seed(len(calls))
        return SmallCNN(1, 3, 16).eval(), 0.75

    net, acc = cached_classifier(tmp_path / "judge", 1, 3, 16, fit, {"why": "test"})
    again, acc_again = cached_classifier(tmp_path / "judge", 1, 3, 16, fit)
    assert calls == [1] and acc == acc_again == 0.75 and not again.training
    x = torch.randn(2, 1, 16, 16)
    assert torch.equal(net(x), again(x))
    # Weights are written last: an entry without them (a run killed half way) is trained again.
    (tmp_path / "judge" / "model.safetensors").unlink()
    cached_classifier(tmp_path / "judge", 1, 3, 16, fit)
    assert calls == [1, 1]
