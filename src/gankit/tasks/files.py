"""Image files in and out for every task: finding them (files, folders, globs), reading them into a model's input,
and writing results under the input's names."""

from __future__ import annotations

import glob
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from PIL import Image

from ..data.folder import scan_images
from ..data.transforms import fit_images, pil_to_tensor, to_mode
from ..errors import ArgumentError, GankitError
from ..images import to_uint8
from ..outputs import write_atomically

# Formats an output keeps from its input; any other input is written as PNG.
WRITABLE = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def find_inputs(inputs: list[str], out_dir: Path | None = None) -> list[tuple[Path, Path]]:
    """(source file, its path relative to the folder it was found in) for files, folders (recursively; hidden
    files left out) and glob patterns, in the order given (sorted within a folder or pattern). A folder that is
    also `out_dir` is refused."""
    found: list[tuple[Path, Path]] = []
    for spec in inputs:
        path = Path(spec).expanduser()
        if path.is_dir():
            if out_dir is not None and path.resolve() == out_dir.resolve():
                raise ArgumentError("out", f"{out_dir} is also an input folder: choose another folder")
            # Files, and symlinks that lead nowhere (reported as skipped); directory links are not followed.
            files = sorted(p for p in path.rglob("*") if (p.is_file() or (p.is_symlink() and not p.exists()))
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            if not files:
                raise GankitError(f"{spec} holds no files")
            found += [(p, p.relative_to(path)) for p in files]
        elif path.is_file() or path.is_symlink():
            found.append((path, Path(path.name)))
        else:
            matches = sorted(Path(m) for m in glob.glob(str(path), recursive=True) if Path(m).is_file())
            if not matches:
                raise GankitError(f"{spec}: no such file or folder, and no file matches it as a pattern")
            found += [(p, Path(p.name)) for p in matches]
    return found


def collect_inputs(inputs: list[str], out_dir: Path) -> list[tuple[Path, Path]]:
    """(source file, output path) for the inputs find_inputs() finds, keeping the layout below a folder. An output
    keeps its input's name, and its format when Pillow writes it (else PNG). Two inputs that would write the same
    output are an error, found before any work."""
    targets: dict[Path, Path] = {}
    for source, rel in find_inputs(inputs, out_dir):
        target = out_dir / rel if rel.suffix.lower() in WRITABLE else out_dir / rel.with_suffix(".png")
        if target in targets and targets[target].resolve() != source.resolve():
            raise GankitError(f"{targets[target]} and {source} would both be written to {target}; process them "
                              "in separate runs or pass their folder")
        targets[target] = source
    return [(source, target) for target, source in targets.items()]


def input_bytes(pairs: list[tuple[Path, Path]]) -> int:
    """The inputs' size on disk: what an output folder of the same images needs, about."""
    return sum(source.stat().st_size for source, _ in pairs if source.is_file())


def image_files(inputs: list[str], where: str) -> list[Path]:
    """The readable images among files, folders and globs; the others are skipped and counted on stderr."""
    files = [source for source, _ in find_inputs(inputs)]
    good, _ = scan_images(files, where)
    return [f for f, ok in zip(files, good) if ok]


def check_model_images(model, images: torch.Tensor) -> None:
    """(N, C, H, W) with the model's channels, or a one-line error."""
    channels = model.info.img_channels
    if images.dim() != 4 or images.shape[1] != channels:
        raise GankitError(f"{model.cfg.name} takes (N, {channels}, H, W) images, got {tuple(images.shape)}")


def save_image(image: torch.Tensor, path: Path) -> None:
    """One (C, H, W) image in [0, 1] to `path`, in the format its suffix names (JPEG at quality 95)."""
    arr = to_uint8(image[None])[0]
    img = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    options = {"quality": 95} if fmt == "JPEG" else {}
    write_atomically(path, lambda tmp: img.save(tmp, format=fmt, **options))  # never half a file under its name


@contextmanager
def writing_into(out_dir: Path, written: list, total: int) -> Iterator[None]:
    """A write that fails half-way (a full disk, a permission changed) as one line saying what was written."""
    try:
        yield
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        raise GankitError(f"writing into {out_dir} stopped after {len(written)} of {total} files ({where}"
                          f"{e.strerror or e}); those are complete and no file was left half-written") from None


def to_model_input(model, images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1], (N, C, H, W) with C 1 or 3 and any size -> the model's channels and size, in [-1, 1], on
    its device: resized as its training data was (antialiased bilinear, or zero-padded with data.fit=pad), colour
    into a grayscale model by luma."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise GankitError(f"images must be (N, 1 or 3, H, W) floats in [0, 1], got {tuple(images.shape)}")
    x = images.to(model.device, torch.float32)
    channels, size = model.info.img_channels, model.info.img_size
    if x.shape[1] != channels:
        x = (x * LUMA.to(x.device)).sum(1, keepdim=True) if channels == 1 else x.expand(-1, 3, -1, -1)
    x = fit_images(x, size, model.info.fit)  # as in training
    return x.clamp(0, 1) * 2 - 1


def load_images(model, paths: list[Path]) -> torch.Tensor:
    """Image files in the model's channels, each resized alone to the model's size: (N, C, S, S) in [0, 1], on the
    CPU, ready to share a batch."""
    out = []
    for path in paths:
        with Image.open(path) as img:
            t = pil_to_tensor(to_mode(img, model.info.img_channels)).float() / 255
        out.append((to_model_input(model, t[None]).cpu() + 1) / 2)
    return torch.cat(out) if out else torch.zeros(0, model.info.img_channels, model.info.img_size,
                                                  model.info.img_size)
