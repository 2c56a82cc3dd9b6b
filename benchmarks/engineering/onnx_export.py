"""The ONNX agreement table of docs/deployment.md, one command:

    python -m benchmarks.engineering.onnx_export [--out results.json] [--only dcgan pix2pix ...]

Every registered system at its paper-default network sizes (untrained weights, seeded; agreement is a property of
the graph, not of the training) on small data of its kind: 32x32 grey digits with 10 classes, 64x64 colour pairs
and domains, x4 super-resolution, 32x32 synthetic digits to refine. Each graph its tasks yield is written as
`gankit export --format onnx` writes it (gankit.onnx_export.write_checked), then run in onnxruntime on the CPU at
batch sizes 1 and 4, and at two image sizes where its height and width are dynamic; the table gives the largest
|onnxruntime - PyTorch| over every output, the seconds the export and checks took, and the file's size.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import torch

import gankit.models  # noqa: F401  (registers the systems)
from gankit.errors import GankitError
from gankit.models import DataInfo
from gankit.onnx_export import graphs, max_difference, write_checked
from gankit.registry import MODELS

DIGITS = [str(k) for k in range(10)]
DATA = [DataInfo("digits", 32, 1, num_classes=10, class_names=DIGITS),
        DataInfo("paired", 64, 3, kind="paired", in_channels=3),
        DataInfo("unpaired", 64, 3, kind="unpaired", in_channels=3),
        DataInfo("sr", 64, 3, kind="sr", in_channels=3, scale=4),
        DataInfo("fontdigits", 32, 1, num_classes=10, class_names=DIGITS, kind="refine")]


def build(name: str):
    """The system at its default config on the first data it accepts (EnhanceNet's feature network, used only by
    its training losses, random: no weights download)."""
    cls = MODELS.get(name)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    cfg = cls.Config(**({"feature_net": "random"} if "feature_net" in fields else {}))
    for info in DATA:
        try:
            torch.manual_seed(0)
            return cls(cfg, info).eval(), info
        except GankitError:
            continue
    raise SystemExit(f"{name}: builds on none of the benchmark's data")


def measure(name: str, folder: Path) -> list[dict]:
    model, info = build(name)
    found, notes = graphs(model)
    rows = []
    for graph in found:
        path = folder / f"{name}-{graph.name}.onnx"
        start = time.perf_counter()
        worst = write_checked(graph, path, name)
        m = graph.size_multiple
        unit = None if m is None else m * -(-info.img_size // m)
        sizes = [(None, None)] if m is None else [(unit, 2 * unit), (2 * unit, unit)]
        for batch in (1, 4):
            for height, width in sizes:
                worst = max(worst, max_difference(graph, path, graph.inputs_for(batch, height, width, seed=batch)))
        rows.append({"model": name, "graph": graph.name, "data": info.name, "dynamic_size": m is not None,
                     "max_abs_difference": worst, "seconds": round(time.perf_counter() - start, 2),
                     "megabytes": round(path.stat().st_size / 2**20, 2), "notes": graph.notes})
        print(f"| {name} | {graph.name} | {'yes (x' + str(m) + ')' if m else 'no'} | {worst:.1e} | "
              f"{rows[-1]['seconds']} | {rows[-1]['megabytes']} |", flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="also write the rows as JSON")
    p.add_argument("--only", nargs="+", help="these systems (default: every registered one)")
    a = p.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}; one CPU thread")
    print("| system | graph | dynamic height/width | max abs difference | seconds | MB |\n|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.only or MODELS.names():
            rows += measure(name, Path(tmp))
    for note in dict.fromkeys(n for row in rows for n in row["notes"]):
        print(f"note: {note}")
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
