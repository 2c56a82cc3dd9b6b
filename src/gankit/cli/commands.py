"""What each command does: a thin call into the library per command, from its parsed arguments."""

from __future__ import annotations

import sys


def _train(a) -> int:
    from ..api import train

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
    from ..api import resume

    resume(a.run_dir, a.steps, progress=not a.quiet)
    return 0


def _sample(a) -> int:
    from ..modelio import load
    from ..tasks.sample import sample_to_file

    print(sample_to_file(load(a.model_dir, device=a.device), a.out, a.n, a.seed, a.label, a.format, a.levels,
                         a.coarse))
    return 0


def _translate(a) -> int:
    from ..modelio import load
    from ..tasks import require
    from ..tasks.translate import choose_targets, set_test_mode, translate_files

    if a.tile < 0:
        from ..errors import ArgumentError

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
    from ..modelio import load
    from ..tasks.encode import encode_files

    model = load(a.model_dir, device=a.device)
    files, codes = encode_files(model, a.inputs, a.out, a.reconstruct, a.batch_size, progress=not a.quiet)
    print(f"{len(files)} images encoded to {a.out} ({codes.shape[1]} codes each)"
          + (f"; reconstructions: {a.reconstruct}" if a.reconstruct else ""))
    return 0


def _explore(a) -> int:
    from ..modelio import load
    from ..tasks.encode import explore

    model = load(a.model_dir, device=a.device)
    print(explore(model, a.code, a.out, a.range[0], a.range[1], a.steps, a.n, a.seed))
    return 0


def _score(a) -> int:
    from ..modelio import load
    from ..tasks.score import score_files

    model = load(a.model_dir, device=a.device)
    files, scores, threshold = score_files(model, a.inputs, a.out, a.scorer, a.maps, a.calibrate, a.quantile,
                                           a.batch_size, a.seed, progress=not a.quiet)
    flagged = "" if threshold is None else f"; {int((scores > threshold).sum())} above the threshold {threshold:.6g}"
    print(f"{len(files)} images scored to {a.out}{flagged}" + (f"; heat maps in {a.maps}" if a.maps else ""))
    return 0


def _classify(a) -> int:
    from ..modelio import load
    from ..tasks.classify import classify_files

    files, _ = classify_files(load(a.model_dir, device=a.device), a.inputs, a.out, a.batch_size,
                              progress=not a.quiet)
    print(f"{len(files)} images classified to {a.out}")
    return 0


def _upscale(a) -> int:
    from ..modelio import load
    from ..tasks.upscale import upscale_files

    if a.originals and not a.compare:
        from ..errors import ArgumentError

        raise ArgumentError("originals", "goes with --compare DIR (the side-by-side pictures it adds a column to)")
    written = upscale_files(load(a.model_dir, device=a.device), a.inputs, a.out, a.compare, a.tile,
                            progress=not a.quiet, originals=a.originals)
    print(f"{len(written)} images written to {a.out}" + (f"; comparisons: {a.compare}" if a.compare else ""))
    return 0


def _refine(a) -> int:
    from ..modelio import load
    from ..tasks.refine import refine_files

    written, labels = refine_files(load(a.model_dir, device=a.device), a.inputs, a.out, a.batch_size, a.tile,
                                   progress=not a.quiet)
    print(f"{len(written)} images refined into {a.out}" + (f"; {len(labels)} label files copied" if labels else ""))
    return 0


def _serve(a) -> int:
    from ..errors import ArgumentError
    from ..serve import serve

    if a.queue < 0:
        raise ArgumentError("queue", f"must be 0 or more, got {a.queue}")
    if not 0 < a.max_megapixels <= 80:
        raise ArgumentError("max_megapixels", f"must be above 0 and at most 80 (Pillow refuses more), got "
                                              f"{a.max_megapixels}")
    serve(a.model_dir, a.host, a.port, a.device, queue=a.queue, max_upload_bytes=a.max_upload_mb * 2**20,
          max_pixels=int(a.max_megapixels * 1e6))
    return 0


def _report(a) -> int:
    from ..report import write_report

    print(write_report(a.run_dir, a.out))
    return 0


def _export(a) -> int:
    if a.format == "onnx":
        from ..onnx_export import export_onnx

        print(export_onnx(a.run_dir, a.out))
        return 0
    from ..modelio import export

    print(export(a.run_dir, a.out))
    return 0


def _evaluate(a) -> int:
    from ..errors import ArgumentError
    from ..evaluate import evaluate

    if a.n < 2:
        raise ArgumentError("n", "must be at least 2")
    evaluate(a.run_dir, n=a.n, seed=a.seed, out=a.out, inception=a.inception, device=a.device)
    return 0


def _list(a) -> int:
    from ..registry import DATASETS, MODELS

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
    from ..config import default_config

    print(default_config(a.model).to_yaml(), end="")
    return 0


COMMANDS = {"train": _train, "resume": _resume, "sample": _sample, "translate": _translate, "encode": _encode,
            "explore": _explore, "score": _score, "classify": _classify, "upscale": _upscale, "refine": _refine,
            "serve": _serve, "report": _report, "export": _export, "evaluate": _evaluate,
            "list": _list, "config": _config}


