import torch

from gankit.images import grid


def test_grid_layout_and_upscaling():
    images = torch.zeros(5, 3, 8, 8)
    images[1] = 1.0
    picture = grid(images, nrow=3, pad=2, min_tile=16)
    assert picture.size == (3 * 18 + 2, 2 * 18 + 2) and picture.mode == "RGB"
    assert picture.getpixel((2 + 18 + 1, 3)) == (255, 255, 255)  # tile 1 is white
    assert picture.getpixel((3, 3)) == (0, 0, 0)
    assert grid(torch.zeros(4, 1, 8, 8)).mode == "L"
