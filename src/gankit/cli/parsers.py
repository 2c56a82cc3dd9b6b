"""The command line's words: every command's arguments, examples and help (`parser()`)."""

from __future__ import annotations

import argparse
import re

from ..errors import did_you_mean

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


def parser() -> argparse.ArgumentParser:
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
    _device(v, default="cpu")  # the same numbers on every machine unless asked (a GPU draws other noise)

    sub.add_parser("list", help="the models and datasets")

    c = sub.add_parser("config", help="show a model's full default config", epilog=EXAMPLES["config"],
                       formatter_class=fmt)
    c.add_argument("action", choices=["show"])
    c.add_argument("model")
    return p


