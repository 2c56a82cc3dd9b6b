"""fontdigits, SimGAN's simulator: digits drawn from fonts and framed as MNIST, labels from the rendering."""

import numpy as np
import pytest

from gankit.data import fontdigits
from gankit.errors import DataError


def test_pillows_own_face_is_always_there():
    assert (fontdigits.BUILTIN, "Aileron Regular") in fontdigits.fonts()


def test_mnist_framing_fits_20x20_and_centres_the_mass():
    ink = np.zeros((90, 50), np.uint8)
    ink[10:80, 20:35] = 255  # a tall bar off centre
    frame = fontdigits.mnist_frame(ink)
    assert frame.shape == (28, 28)
    rows, cols = np.nonzero(frame)
    assert rows.max() - rows.min() + 1 <= 20 and cols.max() - cols.min() + 1 <= 20
    ys, xs = np.indices(frame.shape)
    mass = frame.astype(float).sum()
    assert abs((ys * frame).sum() / mass - 13.5) <= 0.5 and abs((xs * frame).sum() / mass - 13.5) <= 0.5


def test_rendered_sets_are_deterministic_labelled_in_turn_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    x, y = fontdigits.render_set(3, seed=5, progress=False)
    assert x.shape == (30, 28, 28) and x.dtype == np.uint8 and list(y[:12]) == [*range(10), 0, 1]
    assert all(img.max() > 0 for img in x)  # every digit has ink
    assert len(list((tmp_path / "fontdigits").glob("*.safetensors"))) == 1
    again, _ = fontdigits.render_set(3, seed=5, progress=False)  # from the cache
    assert np.array_equal(x, again)
    import gankit.data.fontdigits as fd

    rng = np.random.default_rng(5)
    face = fd._load_font(fd.fonts()[0][0], fd.RENDER_SIZE)
    assert np.array_equal(fd.render(7, face, rng), fd.render(7, face, np.random.default_rng(5)))


def test_a_font_folder_without_fonts_is_one_clear_error(tmp_path):
    (tmp_path / "readme.txt").write_text("no fonts here")
    fontdigits.fonts.cache_clear()
    with pytest.raises(DataError, match="no face below"):
        fontdigits.fonts(str(tmp_path))
    with pytest.raises(DataError, match="is not a directory"):
        fontdigits.fonts(str(tmp_path / "missing"))
