"""`gankit translate`: image-to-image models (pix2pix, CycleGAN, StarGAN) on tensors and on files, and their
evaluation on the held-out split.

Images of any size: each is padded (reflection) to the network's size multiple and cropped back. How the network
runs at test time is the system's choice: its translator() returns it ready (pix2pix's paper test mode included).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ..config import DataConfig
from ..data.folder import scan_images
from ..data.transforms import pil_to_tensor, to_mode, uint8_to_unit
from ..errors import ArgumentError, GankitError
from ..images import grid, save_png
from ..nn import inference, pad_to_multiple
from ..nn.tiling import receptive_radius, run_blended
from ..outputs import check_file, check_folder
from . import require, system_of
from .files import collect_inputs, input_bytes, save_image, writing_into


@runtime_checkable
class Translator(Protocol):
    """A system that translates images: the network for a direction (or a multi-domain target) and the multiple
    its image sizes must be padded to."""

    def translator(self, direction: str = "AtoB", target: dict[str, Any] | None = None) -> tuple[nn.Module, int]: ...


@runtime_checkable
class MultiDomain(Protocol):
    """A translator to many domains (StarGAN): targets by name, and what the system reads in an image."""

    def parse_target(self, attrs: str | None = None, domain: str | None = None) -> dict[str, Any]: ...
    def all_targets(self) -> list[tuple[str, dict[str, Any]]]: ...
    def predict_attributes(self, x: torch.Tensor) -> dict[str, torch.Tensor]: ...


@runtime_checkable
class TestModes(Protocol):
    """A translator whose test-time behaviour is a choice (pix2pix: the paper's noise, or eval mode)."""

    def set_test_mode(self, mode: str) -> None: ...


def set_test_mode(model, mode: str) -> None:
    if not isinstance(system_of(model), TestModes):
        raise ArgumentError("test_mode", f"is for pix2pix; {model.cfg.name} has no test-time noise to choose")
    model.set_test_mode(mode)


def choose_targets(model, attrs: str | None = None, domain: str | None = None, all_domains: bool = False
            ) -> list[tuple[str, dict[str, Any] | None]]:
    """(name, target) pairs to translate to: every domain, the one `attrs`/`domain` name, or [("", None)] for a
    two-domain model."""
    if not (all_domains or attrs or domain):
        return [("", None)]
    if not isinstance(system_of(model), MultiDomain):
        raise ArgumentError("attrs" if attrs else "domain" if domain else "all_domains",
                            f"is for multi-domain models (stargan); {model.cfg.name} takes no target")
    if all_domains:
        if attrs or domain:
            raise ArgumentError("all_domains", "translates to every domain: give no other target with it")
        return model.all_targets()
    return [("", model.parse_target(attrs, domain))]


def expected_channels(model, direction: str) -> tuple[int, int]:
    """(input, output) channels of a direction (multi-domain models keep the channels)."""
    info = model.info
    in_channels = info.in_channels or info.img_channels
    return (in_channels, info.img_channels) if direction == "AtoB" else (info.img_channels, in_channels)


def run_translator(model, x: torch.Tensor, direction: str = "AtoB", seed: int = 0,
                   target: dict[str, Any] | None = None, tile: int = 0) -> torch.Tensor:
    """x in [-1, 1] (or uint8 images, brought to [-1, 1] a tile at a time), one size, on the model's device -> the
    translation in [-1, 1], same size (to `target` for a multi-domain model). With `tile` > 0, an image larger than
    `tile` pixels goes through in blended tiles (nn/tiling.py), the output then on the CPU."""
    net, multiple = model.translator(direction, target)
    h, w = x.shape[-2:]

    def run(part: torch.Tensor) -> torch.Tensor:
        part = uint8_to_unit(part) if part.dtype == torch.uint8 else part
        return net(pad_to_multiple(part, multiple))[..., :part.shape[-2], :part.shape[-1]]

    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), inference(net):
        torch.manual_seed(seed)  # test-time noise (pix2pix): reproducible, and the caller's global RNG left alone
        if tile and max(h, w) > tile:
            return run_blended(run, x, tile, tile_context(model, net, x.shape[1], multiple), align=multiple)
        return run(x)


def tile_context(model, net: nn.Module, channels: int, multiple: int) -> int:
    """The margin each tile is given: the network's measured reach (at most 256 pixels), kept with the model."""
    cache = model.__dict__.setdefault("_tile_context", {})
    key = id(getattr(net, "convolutions", lambda: net)())  # a test-mode wrapper is made anew; its network is not
    if key not in cache:
        cache[key] = receptive_radius(net, channels, multiple)
    return cache[key]


def translate(model, images: torch.Tensor, direction: str = "AtoB", seed: int = 0,
                     batch_size: int = 16, target: dict[str, Any] | None = None, tile: int = 0) -> torch.Tensor:
    """Images in [0, 1], (N, C, H, W) -> translations in [0, 1], on the CPU (in blended tiles of `tile` pixels when
    they are larger; 0: whole)."""
    require(model, "translate")
    c_in, _ = expected_channels(model, direction)
    model.translator(direction, target)  # a direction or target the model cannot do fails before any work
    if images.dim() != 4 or images.shape[1] != c_in:
        raise GankitError(f"{model.cfg.name} ({direction}) takes (N, {c_in}, H, W) images, got {tuple(images.shape)}")
    outs = []
    for chunk in images.split(batch_size):
        x = chunk.to(model.device, torch.float32) * 2 - 1
        outs.append(model.for_display(run_translator(model, x, direction, seed, target, tile)).cpu())
    return torch.cat(outs)


# --------------------------------------------------------------------------------------------- files


def translate_files(model, inputs: list[str], out_dir: str | Path, direction: str = "AtoB",
                    grid_path: str | Path | None = None, batch_size: int = 8, seed: int = 0,
                    progress: bool = True, targets: list[tuple[str, dict[str, Any]]] | None = None,
                    tile: int = 512) -> list[Path]:
    """Translate image files into out_dir, keeping their names; returns the written paths. A multi-domain model
    takes `targets` (name, target): one target writes into out_dir, several into out_dir/NAME/ each. Images larger
    than `tile` pixels go through in blended tiles (0: whole, whatever the memory)."""
    from tqdm import tqdm

    require(model, "translate")
    out_dir = check_folder(out_dir)
    if grid_path is not None:
        check_file(grid_path, flag="grid")
    targets = targets or [("", None)]
    for _, target in targets:
        model.translator(direction, target)  # fails before any work
    c_in, _ = expected_channels(model, direction)
    pairs = collect_inputs(inputs, out_dir)
    check_folder(out_dir, need_bytes=input_bytes(pairs) * len(targets))
    good, _ = scan_images([source for source, _ in pairs], "translate")
    pairs = [pair for pair, ok in zip(pairs, good) if ok]
    # Same-size images share a batch; order within a size follows the inputs. Sizes come from the headers: images
    # are decoded a batch at a time.
    by_size: dict[tuple[int, int], list[tuple[Path, Path]]] = {}
    for source, path in pairs:
        with Image.open(source) as img:
            turned = img.getexif().get(0x0112, 1) in (5, 6, 7, 8)  # EXIF orientations that swap the sides
            by_size.setdefault(img.size[::-1] if turned else img.size, []).append((source, path))
    written: list[Path] = []
    shown: list[list[torch.Tensor]] = []  # per image: the input, then each target's output
    bar = tqdm(total=len(pairs), unit="img", disable=not progress, file=sys.stderr, dynamic_ncols=True)
    with writing_into(out_dir, written, len(pairs) * len(targets)):
        for items in by_size.values():
            for start in range(0, len(items), batch_size):
                chunk = []
                for source, path in items[start:start + batch_size]:
                    with Image.open(source) as img:
                        chunk.append((source, path, pil_to_tensor(to_mode(img, c_in))))
                x = torch.stack([t for _, _, t in chunk]).to(model.device)  # uint8: made float a tile at a time
                # [-1, 1] -> [0, 1] in place: at 12 megapixels every copy is 144 MB
                outs = [run_translator(model, x, direction, seed, target, tile).cpu().clamp_(-1, 1).add_(1).div_(2)
                        for _, target in targets]
                del x
                for i, (_, path, t) in enumerate(chunk):
                    for (name, _), out in zip(targets, outs):
                        where = path if len(targets) == 1 else out_dir / name / path.relative_to(out_dir)
                        save_image(out[i], where)
                        written.append(where)
                    if grid_path is not None and len(shown) < 16:  # small copies: a photo is 144 MB as floats
                        shown.append([_fit(t.float() / 255), *(_fit(out[i]) for out in outs)])
                bar.update(len(chunk))
    bar.close()
    if grid_path is not None and shown:
        save_png(_side_by_side(shown), Path(grid_path))
    return written


def _fit(img: torch.Tensor, tile: int = 256) -> torch.Tensor:
    """(C, H, W) in [0, 1] fitted into a tile x tile square (aspect kept, grey margins)."""
    h, w = img.shape[-2:]
    scale = tile / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    img = F.interpolate(img[None], size=size, mode="bilinear", antialias=scale < 1, align_corners=False)[0]
    canvas = torch.full((img.shape[0], tile, tile), 0.5)
    top, left = (tile - size[0]) // 2, (tile - size[1]) // 2
    canvas[:, top:top + size[0], left:left + size[1]] = img.clamp(0, 1)
    return canvas


def _side_by_side(rows: list[list[torch.Tensor]]) -> Image.Image:
    """Input | output(s) rows of fitted tiles (grey ones shown as RGB when any is in colour)."""
    channels = max(img.shape[0] for row in rows for img in row)
    return grid(torch.stack([img.expand(channels, -1, -1) for row in rows for img in row]), nrow=len(rows[0]))


# ---------------------------------------------------------------------------------------- evaluation


class TranslationEvaluator:
    """Two-domain translators on the held-out split (data.split=test, centre crops, no flips): paired data gets
    PSNR, SSIM and the Laplacian-patch Fréchet distance of G(A) to B; unpaired data the distance of G_AB(A) to the
    B images, and both cycle reconstruction errors (mean |G_BA(G_AB(a)) - a| in [0, 1] units)."""

    def __init__(self, data_cfg: DataConfig, info, progress: bool = True, max_items: int = 2000):
        from ..data import load_dataset

        self.kind = info.kind
        cfg = dataclasses.replace(data_cfg, split="test", crop="center", flip=False)
        try:
            data = load_dataset(cfg)
        except GankitError as e:
            raise GankitError(f"evaluation translates the held-out split (data.split=test): {e}") from None
        count = min(len(data), max_items)
        with torch.random.fork_rng():
            items = [data[(i, i)][0] for i in range(count)]
        self.A = torch.stack([it["A"] for it in items]).float() / 255
        self.B = torch.stack([it["B"] for it in items]).float() / 255

    def __call__(self, model, n: int = 2000, seed: int = 0, G=None) -> dict[str, Any]:
        from ..metrics.image_quality import laplacian_fd, psnr, ssim

        A, B = self.A[:n], self.B[:n]
        fake_B = translate(model, A, "AtoB", seed=seed)
        m: dict[str, Any] = {"pairs" if self.kind == "paired" else "images": len(A)}
        if self.kind == "paired":
            p = psnr(fake_B, B)
            m["psnr_db"] = float(p[torch.isfinite(p)].mean()) if torch.isfinite(p).any() else float("inf")
            m["ssim"] = float(ssim(fake_B, B).mean()) if min(B.shape[-2:]) >= 11 else None
        else:
            m["cycle_l1_A"] = float((translate(model, fake_B, "BtoA", seed=seed) - A).abs().mean())
            fake_A = translate(model, B, "BtoA", seed=seed)
            m["cycle_l1_B"] = float((translate(model, fake_A, "AtoB", seed=seed) - B).abs().mean())
        if min(B.shape[-2:]) >= 28 and len(B) >= 2:
            m.update(laplacian_fd(B, fake_B, seed=seed))
        return m


class MultiDomainEvaluator:
    """Multi-domain translators (StarGAN) on the held-out split: each held-out image translated to every domain,
    and the share of translations the model's own attribute reader (StarGAN's D_cls) reads as the target
    (`target_accuracy_own_D`, a quick check: it is the judge G was trained against; benchmarks/stargan_mnist.py
    judges with independent classifiers)."""

    def __init__(self, data_cfg: DataConfig, info, progress: bool = True, max_items: int = 500):
        from ..data import load_dataset, read_batch

        data = load_dataset(dataclasses.replace(data_cfg, split="test", flip=False))
        self.x = read_batch(data, torch.arange(min(len(data), max_items)))["x"].cpu()

    def __call__(self, model, n: int = 500, seed: int = 0, G=None) -> dict[str, Any]:
        x = self.x[:n].to(model.device)
        m: dict[str, Any] = {"images": len(x)}
        with inference(model):
            source = model.predict_attributes(x)  # what a flipped attribute flips
            for name, target in model.all_targets():
                net, _ = model.translator(target=target)
                pred = model.predict_attributes(net(x))
                (attr, value), = target.items()
                wanted = 1 - source[attr] if value == "flip" else value
                m[f"target_accuracy_own_D_{name}"] = float((pred[attr] == wanted).float().mean())
        accuracies = [v for k, v in m.items() if k.startswith("target_accuracy_own_D_")]
        m["target_accuracy_own_D"] = sum(accuracies) / len(accuracies)
        return m


def make_evaluator(data_cfg: DataConfig, model, progress: bool = True
                   ) -> TranslationEvaluator | MultiDomainEvaluator:
    """Two-domain translation (paired or unpaired data) or multi-domain translation."""
    evaluator = MultiDomainEvaluator if isinstance(system_of(model), MultiDomain) else TranslationEvaluator
    return evaluator(data_cfg, model.info, progress=progress)
