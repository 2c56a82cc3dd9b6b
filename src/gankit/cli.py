"""The command line: parse, call the library, turn user errors into one line and exit code 2."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from .errors import did_you_mean

EXAMPLES = {
    "train": """examples:
  gankit train dcgan                                   # handwritten digits, built in
  gankit train dcgan --data mnist:../shared/data/mnist --steps 5000
  gankit train dcgan --data folder:~/photos --set data.img_size=64 --set data.flip=true
  gankit train dcgan --config my.yaml --set model.lr_G=1e-4 --out runs/try1
  gankit train dcgan --precision bf16 --channels-last --compile   # faster on a recent GPU
  torchrun --nproc_per_node=4 -m gankit train dcgan --data folder:~/photos   # 4 GPUs (or CPU processes)""",
    "resume": """examples:
  gankit resume runs/001-dcgan-digits                  # continue to the configured number of steps
  gankit resume runs/001-dcgan-digits --steps 20000    # or train further""",
    "sample": """examples:
  gankit sample runs/001-dcgan-digits --out samples.png
  gankit sample models/digits --n 16 --seed 3 --out x.npy --format npy
  gankit sample runs/012-lapgan-mnist --levels --n 10 --out chain.png   # lapgan: a row per pyramid level
  gankit sample runs/012-lapgan-mnist --coarse small/ --levels --out refined.png   # from given coarse images""",
    "translate": """examples:
  gankit translate runs/004-pix2pix-paired photos/*.jpg --out translated/
  gankit translate runs/004-pix2pix-paired photos/ --out fixed/ --test-mode eval    # pix2pix: dropout off
  gankit translate models/horse2zebra ~/horses --out zebras --grid zebras.png
  gankit translate models/horse2zebra ~/zebras --out horses --direction BtoA    # CycleGAN: either way
  gankit translate runs/009-stargan-mnist-attrs digits/ --out red --attrs "red=1,thick=1"   # StarGAN: a target
  gankit translate runs/009-stargan-mnist-attrs digits/ --out all --all-domains --grid grid.png""",
    "encode": """examples:
  gankit encode runs/005-bigan-mnist ~/digits --out codes.npy                 # E(x): one row per image
  gankit encode runs/005-bigan-mnist ~/digits --out codes.csv --reconstruct rec.png   # x beside G(E(x))
  gankit encode runs/006-infogan-mnist test/*.png --out codes.csv           # InfoGAN's Q: c1 category, c2, c3""",
    "explore": """examples:
  gankit explore runs/006-infogan-mnist --code c1 --out c1.png       # one row per category
  gankit explore runs/006-infogan-mnist --code c2 --out c2.png       # c2 from -2 to 2 across, a category per row
  gankit explore models/infogan --code c3 --range -1 1 --steps 5 --out c3.png""",
    "score": """examples:
  gankit score runs/007-anogan-mnist test/ --out scores.csv                   # f-AnoGAN's encoder: one pass
  gankit score runs/007-anogan-mnist test/ --out scores.csv --scorer latent   # AnoGAN's 500-step latent search
  gankit score runs/007-anogan-mnist scans/ --out s.csv --maps maps/ --calibrate normal/   # heat maps, yes/no""",
    "classify": """examples:
  gankit classify runs/008-triplegan-mnist photos/ --out labels.csv          # label and probabilities""",
    "upscale": """examples:
  gankit upscale runs/010-enhancenet-cbsd68 photos/ --out big/            # x4, names and formats kept
  gankit upscale runs/010-enhancenet-cbsd68 small.png --out big/ --compare cmp/   # bicubic beside it
  gankit upscale RUN small/ --out big/ --compare cmp/ --originals hr/   # bicubic | gankit | original""",
    "refine": """examples:
  gankit refine runs/011-simgan-fontdigits synthetic/ --out refined/    # class folders and label files kept""",
    "serve": """examples:
  gankit serve runs/001-dcgan-digits                   # http://127.0.0.1:8000/: a page and an HTTP API
  gankit serve models/horse2zebra --port 8080 --queue 4   # docs/deployment.md: endpoints, limits""",
    "report": """examples:
  gankit report runs/001-dcgan-digits                  # runs/001-dcgan-digits/report.html: open it in a browser
  gankit report runs/001-dcgan-digits --out ~/dcgan.html""",
    "export": """examples:
  gankit export runs/001-dcgan-digits --out models/digits
  gankit export runs/001-dcgan-digits --format onnx --out models/digits-onnx   # + onnx/*.onnx, one per network""",
    "evaluate": """examples:
  gankit evaluate runs/002-dcgan-mnist --n 10000 --out metrics.json
  gankit evaluate runs/003-gan-ring8                   # 2-D mixtures: modes captured, high-quality share
  gankit evaluate runs/002-dcgan-mnist --inception pt_inception-2015-12-05-6726825d.pth   # + standard FID/KID/IS""",
    "config": """examples:
  gankit config show dcgan > dcgan.yaml                # edit, then: gankit train dcgan --config dcgan.yaml""",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (plus where to find help), still exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        bad = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if bad:
            choices = re.findall(r"'([^']*)'", bad.group(2))
            message = f"invalid choice '{bad.group(1)}'{did_you_mean(bad.group(1), choices)}; valid: " + ", ".join(
                choices)
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive(text: str) -> int:
    """argparse type for counts that must be at least 1 (--batch-size)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _device(c: argparse.ArgumentParser, default: str | None = "auto") -> None:
    c.add_argument("--device", default=default, choices=["auto", "cpu", "cuda", "mps"])


def _image_tool(sub, name: str, help: str, out: tuple[str, str], batch_size: int | None) -> argparse.ArgumentParser:
    """A command that runs a trained model over image files (translate, encode, score, classify): they share their
    arguments so a user who knows one knows the others."""
    c = sub.add_parser(name, help=help, epilog=EXAMPLES[name], formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("model_dir", metavar="RUN_DIR|MODEL_DIR")
    c.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders or glob patterns")
    c.add_argument("--out", required=True, metavar=out[0], help=out[1])
    if batch_size is not None:
        c.add_argument("--batch-size", type=_positive, default=batch_size, metavar="N",
                       help=f"images per forward (default {batch_size})")
    _device(c)
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    return c


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gankit", description="Train, evaluate and use classic GANs.",
                epilog="run 'gankit COMMAND --help' for a command's options and examples",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    fmt = argparse.RawDescriptionHelpFormatter

    t = sub.add_parser("train", help="train a model; writes a run folder", epilog=EXAMPLES["train"],
                       formatter_class=fmt)
    t.add_argument("model", help="model name (see 'gankit list')")
    t.add_argument("--data", metavar="SPEC", help="digits (default) | mnist[:DIR] | fashion-mnist[:DIR] | "
                                                  "folder:DIR | paired:DIR | unpaired:DIR | ... (gankit list)")
    t.add_argument("--config", metavar="FILE.yaml", help="a config file (see 'gankit config show MODEL')")
    t.add_argument("--set", metavar="KEY=VALUE", action="append", default=[], dest="overrides",
                   help="override one config value, e.g. model.z_dim=64 (repeatable)")
    t.add_argument("--steps", type=int, metavar="N", help="training steps")
    t.add_argument("--batch-size", type=int, metavar="N")
    t.add_argument("--out", metavar="DIR", help="run folder (default: runs/NNN-MODEL-DATA)")
    _device(t, default=None)
    t.add_argument("--seed", type=int, metavar="N")
    t.add_argument("--precision", choices=["fp32", "bf16", "fp16"], help="autocast dtype (train.precision)")
    t.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="NHWC memory layout (default: where it measured faster, train.channels_last=auto)")
    t.add_argument("--compile", action="store_true", default=None, help="torch.compile the networks")
    t.add_argument("--quiet", action="store_true", help="no progress bar or messages")

    r = sub.add_parser("resume", help="continue a run exactly where it stopped", epilog=EXAMPLES["resume"],
                       formatter_class=fmt)
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.add_argument("--steps", type=int, metavar="N", help="train until step N (default: the run's own)")
    r.add_argument("--quiet", action="store_true")

    s = sub.add_parser("sample", help="draw images from a trained model", epilog=EXAMPLES["sample"],
                       formatter_class=fmt)
    s.add_argument("model_dir", metavar="RUN_DIR|MODEL_DIR")
    s.add_argument("--n", type=int, default=64, help="number of images (default 64)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--label", type=int, metavar="K", help="conditional models (cgan): draw class K only")
    s.add_argument("--out", required=True, metavar="FILE", help="FILE.png (a grid) or FILE.npy")
    s.add_argument("--format", choices=["png", "npy"], help="default: from the file name")
    s.add_argument("--levels", action="store_true",
                   help="coarse-to-fine models (lapgan): every level of the chain, a row each, coarsest first")
    s.add_argument("--coarse", metavar="FILE|DIR",
                   help="lapgan: start the chain from these images (a level's size, or the full size: their "
                        "coarsest level) instead of noise; sample i starts from image i mod their number")
    _device(s)

    tr = _image_tool(sub, "translate", "translate images with a pix2pix, CycleGAN or StarGAN model",
                     ("DIR", "output folder (file names are kept)"), batch_size=8)
    tr.add_argument("--direction", default="AtoB", choices=["AtoB", "BtoA"], help="CycleGAN: which generator")
    tr.add_argument("--tile", type=int, default=512, metavar="N",
                    help="images larger than N pixels go through in blended tiles, so memory is bounded (default "
                         "512; 0: whole images, as the papers ran them, memory growing with the photo); see "
                         "docs/translation.md for what tiles change under per-image normalisation")
    tr.add_argument("--attrs", metavar="NAME=0|1,...", help="StarGAN: the target attributes (the others kept)")
    tr.add_argument("--domain", metavar="NAME", help="StarGAN: a target domain (a group member or attribute)")
    tr.add_argument("--all-domains", action="store_true", help="StarGAN: every domain, one sub-folder each")
    tr.add_argument("--grid", metavar="FILE.png", help="also write inputs and outputs side by side")
    tr.add_argument("--seed", type=int, default=0, help="dropout noise (pix2pix's test mode)")
    tr.add_argument("--test-mode", choices=["paper", "eval"],
                    help="pix2pix: 'paper' keeps dropout on and normalises each image by itself (the paper); 'eval' "
                         "turns dropout off and uses the training statistics, one fixed output per input "
                         "(default: the model's model.test_mode)")

    en = _image_tool(sub, "encode", "images -> latent codes with a BiGAN or InfoGAN model",
                     ("FILE", "codes.npy (N x D floats) or codes.csv (named)"), batch_size=256)
    en.add_argument("--reconstruct", metavar="FILE.png", help="also write images beside their reconstructions")

    x = sub.add_parser("explore", help="a grid varying one latent code of an InfoGAN model",
                       epilog=EXAMPLES["explore"], formatter_class=fmt)
    x.add_argument("model_dir", metavar="RUN_DIR|MODEL_DIR")
    x.add_argument("--code", required=True, metavar="NAME", help="c1, c2, ... (categorical codes first)")
    x.add_argument("--out", required=True, metavar="FILE.png")
    x.add_argument("--range", nargs=2, type=float, default=[-2.0, 2.0], metavar=("LOW", "HIGH"),
                   help="continuous codes: values across (default -2 2; training saw -1 to 1)")
    x.add_argument("--steps", type=int, default=9, metavar="N", help="continuous codes: columns (default 9)")
    x.add_argument("--n", type=int, default=10, metavar="N",
                   help="columns of a categorical code, rows of a continuous one without categories (default 10)")
    x.add_argument("--seed", type=int, default=0)
    _device(x)

    sc = _image_tool(sub, "score", "anomaly scores for images with an AnoGAN model",
                     ("FILE.csv", "file, score (and anomaly yes/no)"), batch_size=64)
    sc.add_argument("--scorer", choices=["encoder", "latent"], help="default: the model's (model.scorer)")
    sc.add_argument("--maps", metavar="DIR", help="also write each image beside its residual heat map")
    sc.add_argument("--calibrate", nargs="+", metavar="NORMAL", help="normal images: the threshold is the "
                                                                      "--quantile of their scores")
    sc.add_argument("--quantile", type=float, default=0.95, help="of the normal scores (default 0.95)")
    sc.add_argument("--seed", type=int, default=0, help="the latent search's starting points")

    _image_tool(sub, "classify", "class probabilities for images with a Triple-GAN model",
                ("FILE.csv", "file, label, class index, probabilities"), batch_size=256)

    up = _image_tool(sub, "upscale", "enlarge images with an EnhanceNet model (x4 of any size)",
                     ("DIR", "output folder (file names are kept)"), batch_size=None)
    up.add_argument("--compare", metavar="DIR", help="also write the bicubic upsampling beside the model's")
    up.add_argument("--originals", metavar="DIR", help="with --compare: the high-resolution originals, found by the "
                                                        "inputs' names, shown after the model's")
    up.add_argument("--tile", type=_positive, default=128, metavar="N",
                    help="largest piece of an input (pixels a side) run at once (default 128)")

    rf = _image_tool(sub, "refine", "make synthetic images look real with a SimGAN model",
                     ("DIR", "output folder (names, sub-folders and label files kept)"), batch_size=256)
    rf.add_argument("--tile", type=_positive, default=256, metavar="N",
                    help="largest piece of an input (pixels a side) run at once (default 256)")

    sv = sub.add_parser("serve", help="a local web page and HTTP API over what a model does (needs gankit[serve])",
                        epilog=EXAMPLES["serve"], formatter_class=fmt)
    sv.add_argument("model_dir", metavar="RUN_DIR|MODEL_DIR")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine "
                                                        "only; 0.0.0.0: every interface, without authentication)")
    sv.add_argument("--port", type=int, default=8000, help="default 8000; 0: any free port")
    sv.add_argument("--queue", type=int, default=8, metavar="N",
                    help="model calls that may wait while one runs; past that: 503 (default 8)")
    sv.add_argument("--max-upload-mb", type=_positive, default=16, metavar="N", help="upload size cap (default 16)")
    sv.add_argument("--max-megapixels", type=float, default=12.0, metavar="N",
                    help="image size cap, read from the header before decoding (default 12)")
    _device(sv)

    rp = sub.add_parser("report", help="one self-contained HTML page of a run: losses, metrics, samples, config",
                        epilog=EXAMPLES["report"], formatter_class=fmt)
    rp.add_argument("run_dir", metavar="RUN_DIR")
    rp.add_argument("--out", metavar="FILE.html", help="default: RUN_DIR/report.html (also written after training)")

    e = sub.add_parser("export", help="write a self-contained model folder (and ONNX graphs)",
                       epilog=EXAMPLES["export"], formatter_class=fmt)
    e.add_argument("run_dir", metavar="RUN_DIR|MODEL_DIR")
    e.add_argument("--out", required=True, metavar="MODEL_DIR")
    e.add_argument("--format", default="gankit", choices=["gankit", "onnx"],
                   help="gankit: config.json + model.safetensors (default); onnx: the same plus onnx/NAME.onnx per "
                        "network its tasks run, checked against PyTorch (docs/deployment.md)")

    v = sub.add_parser("evaluate", help="measure a model's samples (Frechet distance, precision/recall, coverage)",
                       epilog=EXAMPLES["evaluate"], formatter_class=fmt)
    v.add_argument("run_dir", metavar="RUN_DIR|MODEL_DIR")
    v.add_argument("--n", type=int, default=10_000, help="samples to draw (default 10000)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--out", metavar="metrics.json")
    v.add_argument("--inception", metavar="FILE", help="the published FID Inception weights "
                   "(pt_inception-2015-12-05-6726825d.pth): adds the standard fid, kid and is (docs/standard-fid.md)")

    sub.add_parser("list", help="the models and datasets")

    c = sub.add_parser("config", help="show a model's full default config", epilog=EXAMPLES["config"],
                       formatter_class=fmt)
    c.add_argument("action", choices=["show"])
    c.add_argument("model")
    return p


def _train(a) -> int:
    from .api import train

    speed = [f"train.precision={a.precision}" if a.precision else None,
             None if a.channels_last is None else f"train.channels_last={str(a.channels_last).lower()}",
             "train.compile=true" if a.compile else None]
    run = train(a.model, a.data, config=a.config, overrides=[*a.overrides, *(s for s in speed if s)],
                steps=a.steps, batch_size=a.batch_size, out=a.out, device=a.device, seed=a.seed,
                progress=not a.quiet)
    if a.quiet and run.status == "interrupted":
        print(f"resume with: {run.resume_command}")
    return 0


def _resume(a) -> int:
    from .api import resume

    resume(a.run_dir, a.steps, progress=not a.quiet)
    return 0


def _sample(a) -> int:
    from .modelio import load
    from .tasks.sample import sample_to_file

    print(sample_to_file(load(a.model_dir, device=a.device), a.out, a.n, a.seed, a.label, a.format, a.levels,
                         a.coarse))
    return 0


def _translate(a) -> int:
    from .modelio import load
    from .tasks import require
    from .tasks.translate import choose_targets, set_test_mode, translate_files

    if a.tile < 0:
        from .errors import ArgumentError

        raise ArgumentError("tile", f"must be 0 (whole images) or a positive size, got {a.tile}")
    model = load(a.model_dir, device=a.device)
    require(model, "translate")
    if a.test_mode:
        set_test_mode(model, a.test_mode)
    targets = choose_targets(model, a.attrs, a.domain, a.all_domains)
    written = translate_files(model, a.inputs, a.out, a.direction, a.grid, a.batch_size, a.seed,
                              progress=not a.quiet, targets=targets, tile=a.tile)
    print(f"{len(written)} images written to {a.out}" + (f"; grid: {a.grid}" if a.grid else ""))
    return 0


def _encode(a) -> int:
    from .modelio import load
    from .tasks.encode import encode_files

    model = load(a.model_dir, device=a.device)
    files, codes = encode_files(model, a.inputs, a.out, a.reconstruct, a.batch_size, progress=not a.quiet)
    print(f"{len(files)} images encoded to {a.out} ({codes.shape[1]} codes each)"
          + (f"; reconstructions: {a.reconstruct}" if a.reconstruct else ""))
    return 0


def _explore(a) -> int:
    from .modelio import load
    from .tasks.encode import explore

    model = load(a.model_dir, device=a.device)
    print(explore(model, a.code, a.out, a.range[0], a.range[1], a.steps, a.n, a.seed))
    return 0


def _score(a) -> int:
    from .modelio import load
    from .tasks.score import score_files

    model = load(a.model_dir, device=a.device)
    files, scores, threshold = score_files(model, a.inputs, a.out, a.scorer, a.maps, a.calibrate, a.quantile,
                                           a.batch_size, a.seed, progress=not a.quiet)
    flagged = "" if threshold is None else f"; {int((scores > threshold).sum())} above the threshold {threshold:.6g}"
    print(f"{len(files)} images scored to {a.out}{flagged}" + (f"; heat maps in {a.maps}" if a.maps else ""))
    return 0


def _classify(a) -> int:
    from .modelio import load
    from .tasks.classify import classify_files

    files, _ = classify_files(load(a.model_dir, device=a.device), a.inputs, a.out, a.batch_size,
                              progress=not a.quiet)
    print(f"{len(files)} images classified to {a.out}")
    return 0


def _upscale(a) -> int:
    from .modelio import load
    from .tasks.upscale import upscale_files

    if a.originals and not a.compare:
        from .errors import ArgumentError

        raise ArgumentError("originals", "goes with --compare DIR (the side-by-side pictures it adds a column to)")
    written = upscale_files(load(a.model_dir, device=a.device), a.inputs, a.out, a.compare, a.tile,
                            progress=not a.quiet, originals=a.originals)
    print(f"{len(written)} images written to {a.out}" + (f"; comparisons: {a.compare}" if a.compare else ""))
    return 0


def _refine(a) -> int:
    from .modelio import load
    from .tasks.refine import refine_files

    written, labels = refine_files(load(a.model_dir, device=a.device), a.inputs, a.out, a.batch_size, a.tile,
                                   progress=not a.quiet)
    print(f"{len(written)} images refined into {a.out}" + (f"; {len(labels)} label files copied" if labels else ""))
    return 0


def _serve(a) -> int:
    from .errors import ArgumentError
    from .serve import serve

    if a.queue < 0:
        raise ArgumentError("queue", f"must be 0 or more, got {a.queue}")
    if not 0 < a.max_megapixels <= 80:
        raise ArgumentError("max_megapixels", f"must be above 0 and at most 80 (Pillow refuses more), got "
                                              f"{a.max_megapixels}")
    serve(a.model_dir, a.host, a.port, a.device, queue=a.queue, max_upload_bytes=a.max_upload_mb * 2**20,
          max_pixels=int(a.max_megapixels * 1e6))
    return 0


def _report(a) -> int:
    from .report import write_report

    print(write_report(a.run_dir, a.out))
    return 0


def _export(a) -> int:
    if a.format == "onnx":
        from .onnx_export import export_onnx

        print(export_onnx(a.run_dir, a.out))
        return 0
    from .modelio import export

    print(export(a.run_dir, a.out))
    return 0


def _evaluate(a) -> int:
    from .errors import ArgumentError
    from .evaluate import evaluate

    if a.n < 2:
        raise ArgumentError("n", "must be at least 2")
    evaluate(a.run_dir, n=a.n, seed=a.seed, out=a.out, inception=a.inception)
    return 0


def _list(a) -> int:
    from .registry import DATASETS, MODELS

    def first_paragraph(doc: str | None) -> str:
        text = " ".join((doc or "").strip().split("\n\n")[0].split())
        return text if len(text) <= 110 else text[:109] + "…"

    print("models:")
    for name in MODELS.names():
        print(f"  {name:<16} {first_paragraph(sys.modules[MODELS.get(name).__module__].__doc__)}")
    print("datasets (--data):")
    for name in DATASETS.names():
        doc = (DATASETS.get(name).__doc__ or "").strip().splitlines()[0]
        print(f"  {name:<16} {doc}")
    return 0


def _config(a) -> int:
    from .config import default_config

    print(default_config(a.model).to_yaml(), end="")
    return 0


COMMANDS = {"train": _train, "resume": _resume, "sample": _sample, "translate": _translate, "encode": _encode,
            "explore": _explore, "score": _score, "classify": _classify, "upscale": _upscale, "refine": _refine,
            "serve": _serve, "report": _report, "export": _export, "evaluate": _evaluate,
            "list": _list, "config": _config}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help or a usage error: argparse has printed it; callers get the code
        return e.code if isinstance(e.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    from . import models  # noqa: F401  (registers the systems)
    from .errors import GankitError

    if args.command in ("translate", "upscale", "refine"):
        _return_freed_memory()
    try:
        return COMMANDS[args.command](args)
    except GankitError as e:
        print(f"gankit {args.command}: error: {_worded(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # the machine's side (a file that went away, a full disk, a permission): one line
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"gankit {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `gankit list | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        _leave_process_group()


# The library's argument names that the CLI spells differently.
FLAGS = {"target": "a target (--attrs, --domain or --all-domains)", "run_dir": "the run folder"}
# The command that serves each task.
TASK_COMMANDS = {"sample": "sample", "translate": "translate", "encode": "encode", "explore": "explore",
                 "score": "score", "classify": "classify", "upscale": "upscale", "refine": "refine"}


def _worded(e: Exception) -> str:
    """A library error in the CLI's words: arguments as flags, and for a job the model does not do, the systems
    that do it."""
    from .errors import ArgumentError, TaskError

    if isinstance(e, ArgumentError):
        return f"{FLAGS.get(e.name, '--' + e.name.replace('_', '-'))} {e.problem}"
    if isinstance(e, TaskError):
        from .registry import MODELS

        serving = [name for name in MODELS.names() if e.task in MODELS.get(name).tasks]
        return f"{e}; 'gankit {TASK_COMMANDS[e.task]}' serves {', '.join(serving)}" if serving else str(e)
    return str(e)


def _return_freed_memory() -> None:
    """glibc serves allocations of up to 32 MB from its heap once a buffer that large has been freed, and a heap
    fragmented by image tiles of changing sizes is not given back: a 12-megapixel translation peaked at 1.45 GB
    instead of 0.98 GB. A fixed threshold of 4 MB keeps tile-sized buffers in their own mappings, returned when
    freed. For the commands that run networks over big images only: training reuses
    same-size buffers every step and gains nothing."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").mallopt(-3, 4 * 1024 * 1024)  # M_MMAP_THRESHOLD
        except (OSError, AttributeError):  # not glibc (musl, ...): nothing to set
            pass


def _leave_process_group() -> None:
    """Under torchrun: leave the process group cleanly (PyTorch warns at exit otherwise)."""
    if "torch" in sys.modules:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def program(argv: Sequence[str] | None = None) -> NoReturn:
    """The `gankit` executable: main(), then exit with its code.

    A process that was part of a torchrun group ends with os._exit once everything is written. Why: in this
    PyTorch, destroy_process_group does not free a gloo group once the optimizer's lazy imports have run (they
    keep a reference in C++), so the group's worker threads are still alive when the interpreter finalizes; a
    worker that releases its last finished all-reduce then needs the GIL of a dying interpreter and aborts the
    process (SIGABRT, "terminate called without an active exception": one resume in 13-30 in loops here). Every
    file is closed by then (the hooks' end) and the streams are flushed here, so skipping finalization loses
    nothing."""
    code = main(argv)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    program()
