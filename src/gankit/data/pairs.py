"""Translation data in the layouts users already have: `paired:DIR` (pix2pix) and `unpaired:DIR` (CycleGAN).

paired:DIR   either one folder of images with A and B side by side (split at half the width), or folders `A/` and
             `B/` whose files match by name; in either, `train/`, `test/` sub-folders are used when present.
unpaired:DIR `trainA/` and `trainB/` (`testA/`, `testB/` for data.split=test), sampled independently.

Batches hold "A" and "B" (and nothing else): `data.direction=BtoA` swaps them at load time, so every model reads
"A" as its input. Both halves of a pair get the same resize, crop and flip; unpaired images get their own. As for
`folder:`, every file is decoded once before training and unreadable ones are skipped and counted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from PIL import Image

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .folder import SkipsLateFailures, guess_channels, scan_images, visible_files
from .info import DataInfo
from .transforms import crop_box, pil_to_tensor, to_mode

# The papers' sizes for photos: resize to 286, random 256 crop, random flips.
PAPER_IMG_SIZE, PAPER_LOAD_SIZE = 256, 286


class Geometry:
    """One sample's resize, crop and flip, drawn once from its seed and applied to every image of the sample."""

    def __init__(self, cfg: DataConfig, img_size: int, load_size: int, default_crop: str, default_flip: bool):
        self.cfg, self.img_size, self.load_size = cfg, img_size, load_size
        self.random_crop = (cfg.crop or default_crop) == "random"
        self.flip = default_flip if cfg.flip is None else cfg.flip

    def target_size(self, w: int, h: int) -> tuple[int, int]:
        """The size an image of (w, h) is resized to: never below the crop on either side."""
        load = self.load_size
        if self.cfg.resize == "square":
            return load, load
        scale = load / (w if self.cfg.resize == "width" else min(w, h))
        scale = max(scale, self.img_size / min(w, h))  # a wide image scaled by width may end up too short
        return max(self.img_size, round(w * scale)), max(self.img_size, round(h * scale))

    def draw(self, w: int, h: int, generator: torch.Generator) -> tuple[tuple[int, int], tuple[int, ...], bool]:
        tw, th = self.target_size(w, h)
        box = crop_box(tw, th, self.img_size, self.random_crop, generator)
        flip = self.flip and torch.rand(1, generator=generator).item() < 0.5
        return (tw, th), box, flip

    @staticmethod
    def apply(img: Image.Image, size: tuple[int, int], box: tuple[int, ...], flip: bool) -> torch.Tensor:
        if img.size != size:
            img = img.resize(size, Image.BICUBIC)
        img = img.crop(box)
        if flip:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return pil_to_tensor(img)


def _split_dir(root: Path, split: str) -> Path:
    """root/train or root/test when the layout has them (split 'all' reads root itself)."""
    if split != "all" and (root / split).is_dir():
        return root / split
    return root


def _root(kind: str, arg: str) -> tuple[Path, str]:
    root = Path(arg).expanduser()
    if not root.is_dir():
        raise DataError(f"{kind}:{arg} is not a directory")
    return root, f"{kind}:{arg}"


class _TranslationFolder(SkipsLateFailures, torch.utils.data.Dataset):
    """Shared by the two folder layouts: sizes, channels, the retry on files that break mid-run."""

    kind = ""

    def __init__(self, spec: str, cfg: DataConfig, files_A: list[str], files_B: list[str], side_by_side: bool):
        self.spec, self.cfg = spec, cfg
        self.files_A, self.files_B, self.side_by_side = files_A, files_B, side_by_side
        self.img_size = cfg.img_size or PAPER_IMG_SIZE
        default_load = PAPER_LOAD_SIZE if cfg.img_size is None else self.img_size
        self.load_size = max(cfg.load_size or default_load, self.img_size)
        self.geometry = Geometry(cfg, self.img_size, self.load_size, "random", True)
        in_ch, out_ch = self._channels()
        if cfg.direction == "BtoA":
            in_ch, out_ch = out_ch, in_ch
        in_ch, out_ch = cfg.in_channels or in_ch, cfg.channels or out_ch
        self.channels = {"A": in_ch, "B": out_ch}
        self.info = DataInfo(name=spec.split(":")[0], img_size=self.img_size, img_channels=out_ch,
                             kind=self.kind, in_channels=in_ch)

    def _channels(self) -> tuple[int, int]:
        return guess_channels(self.files_A), guess_channels(self.files_B)

    def _open(self, path: str) -> Image.Image:
        with Image.open(path) as img:
            img.load()
            return img

    def pair_images(self, i_A: int, i_B: int) -> tuple[Image.Image, Image.Image]:
        """The (A, B) images of one sample, before direction and geometry."""
        if self.side_by_side:
            img = self._open(self.files_A[i_A])
            half = img.width // 2
            if half < 1:
                raise DataError(f"{self.files_A[i_A]} is too narrow to hold two images side by side")
            return img.crop((0, 0, half, img.height)), img.crop((half, 0, 2 * half, img.height))
        return self._open(self.files_A[i_A]), self._open(self.files_B[i_B])

    def load(self, index: int, seed: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def __getitem__(self, item: tuple[int, int]) -> tuple[dict[str, torch.Tensor], int]:
        index, seed = item
        return self.first_readable(index, len(self), lambda i: (self.load(i, seed), -1),
                                   lambda i: f"sample {i} of {self.spec}", self.spec)

    def _finish(self, a: Image.Image, b: Image.Image) -> tuple[Image.Image, Image.Image]:
        """Direction, then each domain in its channels."""
        if self.cfg.direction == "BtoA":
            a, b = b, a
        return to_mode(a, self.channels["A"]), to_mode(b, self.channels["B"])


class PairedFolder(_TranslationFolder):
    kind = "paired"

    def __init__(self, arg: str, cfg: DataConfig):
        root, spec = _root("paired", arg)
        base = _split_dir(root, cfg.split)
        dir_A, dir_B = base / "A", base / "B"
        if dir_A.is_dir() and dir_B.is_dir():
            dir_A, dir_B = _split_dir(dir_A, cfg.split), _split_dir(dir_B, cfg.split)
            by_name = {f.name: f for f in visible_files(dir_B)}
            by_stem = {f.stem: f for f in by_name.values()}
            all_A = visible_files(dir_A)
            pairs = [(a, by_name.get(a.name) or by_stem.get(a.stem)) for a in all_A]
            unmatched = sum(b is None for _, b in pairs)
            pairs = [(a, b) for a, b in pairs if b is not None]
            if not pairs:
                raise DataError(f"{spec}: no file in {dir_A} has a partner of the same name in {dir_B}")
            if unmatched:
                print(f"gankit: {spec}: {unmatched} of {len(all_A)} files in A/ have no partner in B/; "
                      "left out", file=sys.stderr)
            flat = [p for pair in pairs for p in pair]
            good, self.skipped = scan_images(flat, spec)
            keep = [good[2 * k] and good[2 * k + 1] for k in range(len(pairs))]
            files_A = [str(a) for (a, _), ok in zip(pairs, keep) if ok]
            files_B = [str(b) for (_, b), ok in zip(pairs, keep) if ok]
            if not files_A:
                raise DataError(f"{spec}: no pair has two readable images")
            super().__init__(spec, cfg, files_A, files_B, side_by_side=False)
        else:
            files = visible_files(base)
            if not files:
                raise DataError(f"{spec}: {base} holds no files (expected images with A and B side by side, "
                                "or folders A/ and B/ with matching file names)")
            good, self.skipped = scan_images(files, spec)
            files_A = [str(f) for f, ok in zip(files, good) if ok]
            super().__init__(spec, cfg, files_A, files_A, side_by_side=True)

    def _channels(self) -> tuple[int, int]:
        if not self.side_by_side:
            return super()._channels()
        both = guess_channels(self.files_A)
        return both, both

    def __len__(self) -> int:
        return len(self.files_A)

    def load(self, index: int, seed: int) -> dict[str, torch.Tensor]:
        generator = torch.Generator().manual_seed(seed)
        a, b = self._finish(*self.pair_images(index, index))
        if b.size != a.size:  # A/ and B/ files of different sizes: B is brought to A's before the crop
            b = b.resize(a.size, Image.BICUBIC)
        size, box, flip = self.geometry.draw(*a.size, generator)
        return {"A": Geometry.apply(a, size, box, flip), "B": Geometry.apply(b, size, box, flip)}


class UnpairedFolder(_TranslationFolder):
    kind = "unpaired"

    def __init__(self, arg: str, cfg: DataConfig):
        root, spec = _root("unpaired", arg)
        splits = ["train", "test"] if cfg.split == "all" else [cfg.split]
        lists: dict[str, list[str]] = {"A": [], "B": []}
        self.skipped = {}
        for split in splits:
            for domain in "AB":
                d = root / f"{split}{domain}"
                if not d.is_dir():
                    raise DataError(f"{spec}: no folder {d.name}/ (expected trainA/ and trainB/, and testA/, "
                                    "testB/ for the test split)")
                files = visible_files(d)
                if not files:
                    raise DataError(f"{spec}: {d} holds no files")
                good, skipped = scan_images(files, f"{spec}/{d.name}")
                self.skipped.update(skipped)
                lists[domain] += [str(f) for f, ok in zip(files, good) if ok]
        super().__init__(spec, cfg, lists["A"], lists["B"], side_by_side=False)

    def __len__(self) -> int:
        return max(len(self.files_A), len(self.files_B))

    def load(self, index: int, seed: int) -> dict[str, torch.Tensor]:
        """A is item `index` (mod its count); B is drawn at random, so no fixed A-B pairs recur epoch after
        epoch (the CycleGAN code's unaligned sampling)."""
        generator = torch.Generator().manual_seed(seed)
        i_B = int(torch.randint(len(self.files_B), (1,), generator=generator))
        a, b = self._finish(*self.pair_images(index % len(self.files_A), i_B))
        out = {}
        for key, img in (("A", a), ("B", b)):
            size, box, flip = self.geometry.draw(*img.size, generator)
            out[key] = Geometry.apply(img, size, box, flip)
        return out


@DATASETS.register("paired")
def paired(arg: str, cfg: DataConfig) -> PairedFolder:
    """Image pairs (pix2pix): DIR of A|B side-by-side images, or DIR/A and DIR/B with matching names."""
    if not arg:
        raise DataError("paired needs a directory: --data paired:DIR")
    return PairedFolder(arg, cfg)


@DATASETS.register("unpaired")
def unpaired(arg: str, cfg: DataConfig) -> UnpairedFolder:
    """Two image domains (CycleGAN): DIR/trainA and DIR/trainB (testA, testB for the test split)."""
    if not arg:
        raise DataError("unpaired needs a directory: --data unpaired:DIR")
    return UnpairedFolder(arg, cfg)
