import torch

from gankit.metrics.classifier import handwriting_variation, train_classifier


def strokes(n: int = 8, columns: slice = slice(7, 9)) -> torch.Tensor:
    """Dark 16x16 images (-1) with a bright vertical bar two pixels wide: a stroke to move, thicken, thin, blur."""
    x = torch.full((n, 1, 16, 16), -1.0)
    x[:, :, 4:12, columns] = 1.0
    return x


def test_handwriting_variation_keeps_the_range_and_the_ground_and_is_reproducible():
    x = strokes()
    y = handwriting_variation(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    assert y.min() >= -1 and y.max() <= 1
    assert not torch.equal(y, x)
    assert torch.equal(y, handwriting_variation(x, torch.Generator().manual_seed(0)))
    assert not torch.equal(y, handwriting_variation(x, torch.Generator().manual_seed(1)))
    # the ground stays the ground (nothing bright comes in from outside the frame) and every stroke survives
    blank = torch.full_like(x, -1.0)
    assert torch.equal(handwriting_variation(blank, torch.Generator().manual_seed(0)), blank)
    assert ((y > -0.5).flatten(1).sum(1) > 0).all()
    # each image gets its own draw: the bars end up in different places or shapes
    assert len({tuple(img.flatten().tolist()) for img in y}) > 1


def test_train_classifier_trains_on_what_augment_returns():
    # two classes told apart by the side their bar is on; trained on mirrored images, a classifier learns the
    # mirrored rule and gets every unmirrored image wrong (the same 20 steps on the images as they are: 0.5)
    x = torch.cat([strokes(64, slice(2, 4)), strokes(64, slice(12, 14))])
    y = torch.cat([torch.zeros(64), torch.ones(64)]).long()
    _, mirrored = train_classifier(x, y, x, y, 2, epochs=20, max_steps=20, progress=False,
                                   augment=lambda batch, g: batch.flip(-1))
    assert mirrored == 0.0
