"""Using a trained translation model (pix2pix, CycleGAN) on images of any size.

The generators are fully convolutional, so an image is translated at its own resolution: padded (by reflection)
up to the network's multiple (256 for U-Net-256, 4 for the ResNet generator), translated, and cropped back.
Images of the same size are batched; pix2pix in the paper's test mode (dropout on, normalisation with the image's
own statistics) translates one image per forward, so an output never depends on which images shared its batch.
"""

from __future__ import annotations

import contextlib
import glob
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .data.folder import scan_images
from .data.transforms import pil_to_tensor, to_mode, uint8_to_unit
from .errors import GankitError
from .images import grid, save_png, to_uint8
from .models.base import GANModel, inference

WRITABLE = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """(N, C, H, W) padded on the right and bottom to multiples of `multiple`: by reflection where the image is
    large enough for it, else by repeating the edge."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph == 0 and pw == 0:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


@contextlib.contextmanager
def paper_test_mode(net: nn.Module) -> Iterator[None]:
    """pix2pix at test time (Isola et al. 2017, section 3.3): dropout on and batch norm with the statistics of
    the test batch. The running statistics are left untouched (momentum 0 while inside)."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
             for m in norms]
    was_training = net.training
    net.train()
    for m in norms:
        m.momentum = 0.0
    try:
        with torch.no_grad():
            yield
    finally:
        for m, (momentum, tracked) in zip(norms, saved):
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)
        net.train(was_training)


def expected_channels(model: GANModel, direction: str) -> tuple[int, int]:
    """(input, output) channels of a direction (multi-domain models keep the channels)."""
    info = model.info
    in_channels = info.in_channels or info.img_channels
    return (in_channels, info.img_channels) if direction == "AtoB" else (info.img_channels, in_channels)


def run_translator(model: GANModel, x: torch.Tensor, direction: str = "AtoB", seed: int = 0,
                   target: dict[str, Any] | None = None) -> torch.Tensor:
    """x in [-1, 1], one size, on the model's device -> the translation in [-1, 1], same size (to `target` for a
    multi-domain model)."""
    net, multiple = model.translator(direction, target)
    h, w = x.shape[-2:]
    if model.inference_mode() == "paper":
        devices = [x.device] if x.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), paper_test_mode(net):
            torch.manual_seed(seed)  # dropout draws: reproducible, and the caller's global RNG is left alone
            out = torch.cat([net(pad_to_multiple(x[i:i + 1], multiple)) for i in range(len(x))])
    else:
        with inference(net):
            out = net(pad_to_multiple(x, multiple))
    return out[..., :h, :w]


def translate_tensor(model: GANModel, images: torch.Tensor, direction: str = "AtoB", seed: int = 0,
                     batch_size: int = 16, target: dict[str, Any] | None = None) -> torch.Tensor:
    """Images in [0, 1], (N, C, H, W) -> translations in [0, 1], on the CPU."""
    c_in, _ = expected_channels(model, direction)
    model.translator(direction, target)  # a direction or target the model cannot do fails before any work
    if images.dim() != 4 or images.shape[1] != c_in:
        raise GankitError(f"{model.cfg.name} ({direction}) takes (N, {c_in}, H, W) images, got {tuple(images.shape)}")
    outs = []
    for chunk in images.split(batch_size):
        x = chunk.to(model.device, torch.float32) * 2 - 1
        outs.append(model.for_display(run_translator(model, x, direction, seed, target)).cpu())
    return torch.cat(outs)


# --------------------------------------------------------------------------------------------- files


def find_inputs(inputs: list[str], out_dir: Path | None = None) -> list[tuple[Path, Path]]:
    """(source file, its path relative to the folder it was found in) for files, folders (recursively; hidden
    files left out) and glob patterns, in the order given (sorted within a folder or pattern). A folder that is
    also `out_dir` is refused."""
    found: list[tuple[Path, Path]] = []
    for spec in inputs:
        path = Path(spec).expanduser()
        if path.is_dir():
            if out_dir is not None and path.resolve() == out_dir.resolve():
                raise GankitError(f"--out {out_dir} is also an input folder: choose another --out")
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
            raise GankitError(f"{targets[target]} and {source} would both be written to {target}; translate them "
                              "in separate runs or pass their folder")
        targets[target] = source
    return [(source, target) for target, source in targets.items()]


def _save(image: torch.Tensor, path: Path) -> None:
    arr = to_uint8(image[None])[0]
    img = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        img.save(path, quality=95)
    else:
        img.save(path)


def translate_files(model: GANModel, inputs: list[str], out_dir: str | Path, direction: str = "AtoB",
                    grid_path: str | Path | None = None, batch_size: int = 8, seed: int = 0,
                    progress: bool = True, targets: list[tuple[str, dict[str, Any]]] | None = None) -> list[Path]:
    """Translate image files into out_dir, keeping their names; returns the written paths. A multi-domain model
    takes `targets` (name, target): one target writes into out_dir, several into out_dir/NAME/ each."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    targets = targets or [("", None)]
    for _, target in targets:
        model.translator(direction, target)  # fails before any work
    c_in, _ = expected_channels(model, direction)
    pairs = collect_inputs(inputs, out_dir)
    good, _ = scan_images([source for source, _ in pairs], "translate")
    pairs = [pair for pair, ok in zip(pairs, good) if ok]
    # Same-size images share a batch; order within a size follows the inputs.
    by_size: dict[tuple[int, int], list[tuple[Path, Path, torch.Tensor]]] = {}
    for source, path in pairs:
        with Image.open(source) as img:
            x = pil_to_tensor(to_mode(img, c_in))
        by_size.setdefault(tuple(x.shape[-2:]), []).append((source, path, x))
    written: list[Path] = []
    shown: list[list[torch.Tensor]] = []  # per image: the input, then each target's output
    bar = tqdm(total=len(pairs), unit="img", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    for items in by_size.values():
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            x = uint8_to_unit(torch.stack([t for _, _, t in chunk]).to(model.device))
            outs = [model.for_display(run_translator(model, x, direction, seed, target)).cpu()
                    for _, target in targets]
            for i, (_, path, t) in enumerate(chunk):
                for (name, _), out in zip(targets, outs):
                    where = path if len(targets) == 1 else out_dir / name / path.relative_to(out_dir)
                    _save(out[i], where)
                    written.append(where)
                if len(shown) < 16:
                    shown.append([t.float() / 255, *(out[i] for out in outs)])
            bar.update(len(chunk))
    bar.close()
    if grid_path is not None and shown:
        save_png(_side_by_side(shown), Path(grid_path))
    return written


def _side_by_side(rows: list[list[torch.Tensor]], tile: int = 256) -> Image.Image:
    """Input | output(s) rows, each image fitted into a tile x tile square (aspect kept, grey margins)."""
    channels = max(img.shape[0] for row in rows for img in row)
    tiles = []
    for row in rows:
        for img in row:
            img = img.expand(channels, -1, -1)
            h, w = img.shape[-2:]
            scale = tile / max(h, w)
            size = (max(1, round(h * scale)), max(1, round(w * scale)))
            img = F.interpolate(img[None], size=size, mode="bilinear", antialias=scale < 1, align_corners=False)[0]
            canvas = torch.full((channels, tile, tile), 0.5)
            top, left = (tile - size[0]) // 2, (tile - size[1]) // 2
            canvas[:, top:top + size[0], left:left + size[1]] = img.clamp(0, 1)
            tiles.append(canvas)
    return grid(torch.stack(tiles), nrow=len(rows[0]))
