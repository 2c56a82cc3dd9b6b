"""`folder:DIR` — a user's own images, flat or one sub-folder per class.

Every file is decoded once before training starts: unreadable, truncated and non-image files are skipped and
counted then, and reported in one line, so a bad file can never stop a run hours in. An empty or all-bad
folder is an error before the first step.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from PIL import Image

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .info import DataInfo
from .transforms import crop_box, pil_to_tensor, resize_shorter, to_mode


def _why_unreadable(path: Path) -> str | None:
    """None if Pillow can fully decode the file, else a short reason."""
    if path.is_symlink() and not path.exists():
        return "broken or looping symlink"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                if img.width < 1 or img.height < 1:
                    return "empty image"
    except Exception as e:  # Pillow raises many types on hostile input; any of them means "skip this file"
        return unreadable_reason(e)
    return None


def unreadable_reason(e: Exception) -> str:
    """A short reason for what Pillow raised while opening or decoding an image (a file here, an upload in serve)."""
    if isinstance(e, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return "too many pixels (decompression bomb?)"
    if isinstance(e, PermissionError):
        return "permission denied"
    if isinstance(e, OSError):
        text = str(e)
        if "cannot identify image file" in text:
            return "not an image"
        if "truncated" in text.lower() or "broken data stream" in text or "image file is" in text:
            return "truncated"
        if "unrecognized data stream" in text:
            return "damaged"
        return text.split(":")[0][:60] or "unreadable"
    return f"{type(e).__name__}"


def scan_images(files: list[Path], where: str) -> tuple[list[bool], dict[str, str]]:
    """Decode every file once (in threads): which are readable images, and why the others are not. Skipped
    files are reported in one line on stderr; none readable is a DataError."""
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        reasons = list(pool.map(_why_unreadable, files))
    skipped = {str(f): why for f, why in zip(files, reasons) if why is not None}
    if skipped:
        counts = Counter(skipped.values())
        detail = ", ".join(f"{n} {why}" for why, n in counts.most_common())
        print(f"gankit: {where}: skipped {len(skipped)} of {len(files)} files ({detail})", file=sys.stderr)
    if len(skipped) == len(files):
        raise DataError(f"{where}: none of its {len(files)} files is a readable image")
    return [why is None for why in reasons], skipped


def guess_channels(paths: list[str]) -> int:
    """RGB if any of the first 32 images has colour, else grayscale."""
    for path in paths[:32]:
        with Image.open(path) as img:
            if img.mode not in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
                return 3
    return 1


class SkipsLateFailures:
    """For datasets whose files were all decoded at the start: a file can still vanish or change mid-run. Take the
    next sample rather than stop the run, warn once per miss, and count it in `failed_late`."""

    failed_late = 0

    def first_readable(self, index: int, count: int, load, describe, where: str):
        """load(i) for the first i = index, index + 1, ... (mod count) that loads; describe(i) names sample i."""
        for attempt in range(count):
            i = (index + attempt) % count
            try:
                return load(i)
            except Exception:
                self.failed_late += 1
                if attempt == 0:
                    print(f"gankit: warning: {describe(i)} became unreadable; using another image", file=sys.stderr)
        raise DataError(f"{where}: no image is readable any more")


def visible_files(folder: Path) -> list[Path]:
    """A folder's files (and dangling symlinks, reported later as skipped), hidden ones left out, sorted."""
    return sorted(f for f in folder.iterdir() if not f.name.startswith(".")
                  and (f.is_file() or (f.is_symlink() and not f.exists())))


def _list_files(root: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    """(path, label) pairs and the class names ([] for a flat folder). Hidden files are ignored."""
    def visible(p: Path) -> bool:
        return not p.name.startswith(".")

    def candidate(p: Path) -> bool:
        """Files, and symlinks that lead nowhere (reported as skipped rather than silently ignored).
        Directory symlinks are not followed (rglob's default), so a cycle cannot trap the scan."""
        return p.is_file() or (p.is_symlink() and not p.exists())

    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and visible(p))
    class_dirs = [d for d in subdirs if any(visible(f) and f.is_file() for f in d.rglob("*"))]
    if class_dirs:
        files = []
        for label, d in enumerate(class_dirs):
            files += [(f, label) for f in sorted(d.rglob("*"))
                      if candidate(f) and not any(part.startswith(".") for part in f.relative_to(d).parts)]
        return files, [d.name for d in class_dirs]
    return [(f, -1) for f in visible_files(root)], []


# A class folder has no test split of its own: the classifier `gankit evaluate` trains on one leaves out this seeded
# share of each class and measures its accuracy on it (part of the data's definition, as a built-in test set is).
HELD_OUT_SHARE, HELD_OUT_SEED = 0.1, 0


class ImageFolder(SkipsLateFailures, torch.utils.data.Dataset):
    """Map-style dataset indexed by (index, augmentation seed): the seed makes crops and flips a function of
    the sample's position in the run, so resumed and multi-worker runs see exactly the same pixels."""

    def __init__(self, root: str | Path, cfg: DataConfig):
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataError(f"folder:{root} is not a directory")
        files, classes = _list_files(self.root)
        if not files:
            raise DataError(f"folder:{root} holds no files (expected images, or one sub-folder per class)")
        if cfg.labels_per_class:
            raise DataError("data.labels_per_class works with the built-in labelled sets (digits, mnist, "
                            "fashion-mnist); for a folder, pass the labelled and unlabelled images yourself")
        if cfg.exclude_classes:
            if not classes:
                raise DataError(f"data.exclude_classes needs class sub-folders; folder:{root} is flat")
            bad = [c for c in cfg.exclude_classes if c >= len(classes)]
            if bad:
                raise DataError(f"data.exclude_classes: folder:{root} has classes 0..{len(classes) - 1} "
                                f"({', '.join(classes)}), got {bad}")
            files = [(f, label) for f, label in files if label not in cfg.exclude_classes]
        good, self.skipped = scan_images([f for f, _ in files], f"folder:{root}")
        self.files = [(str(f), label) for (f, label), ok in zip(files, good) if ok]
        self.cfg = cfg
        self.img_size = cfg.img_size or 64
        self.load_size = max(cfg.load_size or self.img_size, self.img_size)
        channels = cfg.channels or guess_channels([path for path, _ in self.files])
        self.info = DataInfo(name="folder", img_size=self.img_size, img_channels=channels,
                             num_classes=len(classes), class_names=classes)

    def held_out(self, share: float = HELD_OUT_SHARE, seed: int = HELD_OUT_SEED) -> tuple[torch.Tensor, torch.Tensor]:
        """(kept, held out): item indices, each sorted. Of every class, round(share x its images) are held out, at
        least one of a class with two or more and never its last one (stratified), chosen by a permutation seeded by
        `seed`, so the same files are held out every time."""
        if not self.info.num_classes:
            raise DataError(f"folder:{self.root} is flat: a held-out share is drawn per class (use one sub-folder "
                            "per class)")
        labels = torch.tensor([label for _, label in self.files])
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
        chosen = []
        for k in range(self.info.num_classes):
            members = order[labels[order] == k]
            n = len(members)
            chosen.append(members[:min(n - 1, max(1, round(share * n))) if n >= 2 else 0])
        test = torch.cat(chosen).sort().values
        if len(test) == 0:
            raise DataError(f"folder:{self.root}: every class has one image, so none can be held out to test the "
                            "evaluation classifier; add images (at least two in a class)")
        kept = torch.ones(len(labels), dtype=torch.bool)
        kept[test] = False
        return kept.nonzero().flatten(), test

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int, seed: int) -> torch.Tensor:
        path, _ = self.files[index]
        generator = torch.Generator().manual_seed(seed)
        with Image.open(path) as img:
            img = to_mode(img, self.info.img_channels)
        img = resize_shorter(img, self.load_size)
        img = img.crop(crop_box(*img.size, self.img_size, self.cfg.crop == "random", generator))
        if bool(self.cfg.flip) and torch.rand(1, generator=generator).item() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return pil_to_tensor(img)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, int]:
        index, seed = item
        return self.first_readable(index, len(self.files), lambda i: (self.load(i, seed), self.files[i][1]),
                                   lambda i: self.files[i][0], f"folder:{self.root}")


@DATASETS.register("folder")
def folder(arg: str, cfg: DataConfig) -> ImageFolder:
    """Your images: folder:DIR, flat or one sub-folder per class (labels); resized, cropped, flipped by config."""
    if not arg:
        raise DataError("folder needs a directory: --data folder:DIR")
    return ImageFolder(arg, cfg)
