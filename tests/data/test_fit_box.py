from types import SimpleNamespace

import numpy as np
import torch

from gankit.config import DataConfig
from gankit.data import DataInfo, load_dataset
from gankit.data.transforms import fit_box, fit_uint8
from gankit.tasks.files import to_model_input

from .test_idx import idx_bytes


def test_the_inks_box_fills_the_frame():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 3:7, 20:24] = 1.0  # a small square in a corner
    out = fit_box(x, 16, ink=0.1)
    assert out.shape == (1, 1, 16, 16)
    assert out.min() > 0.99  # the square is now the whole frame


def test_the_aspect_ratio_is_kept_and_centred():
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 4:20, 10:14] = 1.0  # a bar 16 tall, 4 wide (a "1")
    out = fit_box(x, 16, ink=0.1)[0, 0]
    assert out[:, 6:10].min() > 0.99  # 4/16 of the width, in the middle
    assert out[:, :5].max() < 0.01 and out[:, 11:].max() < 0.01
    assert torch.allclose(out, out.flip(-1), atol=1e-6)


def test_faint_halo_and_blank_images():
    x = torch.zeros(2, 1, 28, 28)
    x[0, 0, 10:20, 10:20] = 1.0
    x[0, 0, 0, 0] = 0.05  # below the ink threshold: not part of the box
    out = fit_box(x, 8, ink=0.1)
    assert out[0].min() > 0.99
    assert out[1].abs().max() == 0  # no ink: resized, not an error


def test_uint8_sets_and_their_colour_channels():
    x = torch.zeros(3, 3, 28, 28, dtype=torch.uint8)
    x[:, 1, 5:9, 5:9] = 255  # ink in one channel counts for the whole image
    out = fit_uint8(x, 12, "box")
    assert out.dtype == torch.uint8 and out.shape == (3, 3, 12, 12)
    assert (out[:, 1] == 255).all() and (out[:, 0] == 0).all()


def test_mnist_with_data_fit_box(tmp_path):
    imgs = np.zeros((2, 28, 28), dtype=np.uint8)
    imgs[0, 4:10, 4:10] = 255  # a digit in the top left corner
    imgs[1, 10:20, 12:16] = 200  # a bar 10 tall, 4 wide: 12.8 of the 32 columns, centred
    d = tmp_path / "mnist"
    d.mkdir()
    (d / "train-images-idx3-ubyte").write_bytes(idx_bytes(imgs))
    (d / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 2, 3, 7]))
    ds = load_dataset(DataConfig(spec=f"mnist:{tmp_path}", fit="box"))
    assert ds.images.shape == (2, 1, 32, 32) and ds.info.fit == "box"
    assert (ds.images[0] == 255).all()
    bar = ds.images[1, 0]
    assert (bar[:, 11:21] == 200).all() and bar[:, :8].max() == 0 == bar[:, 24:].max()


def test_new_images_are_boxed_as_in_training():
    model = SimpleNamespace(device=torch.device("cpu"), info=DataInfo(name="mnist", img_size=16, img_channels=1,
                                                                      fit="box"))
    x = torch.zeros(1, 1, 40, 40)
    x[0, 0, 30:38, 2:10] = 1.0
    assert to_model_input(model, x).min() > 0.99  # in [-1, 1]: all ink
