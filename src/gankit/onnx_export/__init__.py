"""`gankit export RUN|MODEL --format onnx --out DIR`: the model folder (config.json + model.safetensors) plus one ONNX
graph per network a declared task runs (task_graphs.py says which), each checked against PyTorch in onnxruntime as
it is written. A graph has a dynamic batch axis, and dynamic height and width where the network is fully
convolutional (inputs a multiple of `size_multiple` pixels a side; pad and crop around the graph as `gankit
translate` does).

The exporter is the TorchScript-based `torch.onnx.export(..., dynamo=False)`, opset 18: on every system here its
graphs agree with PyTorch to 4e-6 at other batch and image sizes, at about 0.1 s a tiny graph; torch's default, the
torch.export-based one, took 2 to 10 s a tiny graph on the same machine (docs/deployment.md).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from ..errors import GankitError
from ..modelio import export as export_model_folder
from ..modelio import load
from ..outputs import check_folder, write_atomically
from .task_graphs import Graph, Port, graphs

__all__ = ["Graph", "Port", "export_onnx", "file_stem", "graphs", "max_difference", "onnx_modules", "run_graph",
           "write_checked", "write_graph"]

# 18: Resize with antialiasing (StarGAN's attribute reader resizes any image to its training size).
OPSET = 18
# Agreement a written graph must show with PyTorch, or it is left out: fp32 networks of these sizes agree to about
# 1e-6; a larger gap is a graph that computes something else.
TOLERANCE = 1e-4

# -------------------------------------------------------------------------------------------- writing


def onnx_modules():
    """(onnx, onnxruntime), or a one-line error saying how to install them."""
    try:
        import onnx
        import onnxruntime
    except ImportError as e:
        raise GankitError(f"ONNX export needs the onnx extra ({e.name} is missing): pip install 'gankit[onnx]'"
                          ) from None
    return onnx, onnxruntime


def _dynamic_axes(graph: Graph) -> dict[str, dict[int, str]]:
    return {p.name: {i: str(d) for i, d in enumerate(p.shape) if isinstance(d, str)}
            for p in [*graph.inputs, *graph.outputs]}


def write_graph(graph: Graph, path: Path, model_name: str = "") -> None:
    """graph -> an ONNX file at `path`, with its description in the metadata (gankit.* keys)."""
    onnx, _ = onnx_modules()
    graph.net.eval()
    in_names = [p.name for p in graph.inputs]
    out_names = [p.name for p in graph.outputs]
    _register_symbolics()
    tmp = path.with_name(f".{path.name}.tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings: the result is checked numerically
        torch.onnx.export(graph.net, graph.examples, str(tmp), dynamo=False, input_names=in_names,
                          output_names=out_names, dynamic_axes=_dynamic_axes(graph), opset_version=OPSET)
    proto = onnx.load(str(tmp))
    tmp.unlink()
    meta = {"gankit.model": model_name, "gankit.task": graph.task, "gankit.graph": graph.name,
            "gankit.inputs": json.dumps([p.describe() for p in graph.inputs]),
            "gankit.outputs": json.dumps([p.describe() for p in graph.outputs])}
    if graph.size_multiple is not None:
        meta["gankit.size_multiple"] = str(graph.size_multiple)
    if graph.notes:
        meta["gankit.notes"] = " ".join(graph.notes)
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"gankit {model_name}: {graph.task} ({graph.name})"
    onnx.checker.check_model(proto)
    write_atomically(path, lambda tmp: onnx.save(proto, str(tmp)))


_REGISTERED = []


def _register_symbolics() -> None:
    """ONNX for the operations the TorchScript exporter lacks (once per process)."""
    if _REGISTERED:
        return
    torch.onnx.register_custom_op_symbolic("aten::_upsample_bilinear2d_aa", _antialiased_bilinear, OPSET)
    _REGISTERED.append(True)


def _antialiased_bilinear(g, x, output_size, align_corners, *scales):
    """F.interpolate(mode="bilinear", antialias=True) to a fixed size: ONNX Resize with antialias. exclude_outside
    renormalises the filter over the pixels inside the image, as PyTorch does (measured: equal to 1e-7)."""
    from torch.onnx import symbolic_helper

    size = symbolic_helper._maybe_get_const(output_size, "is")
    if symbolic_helper._maybe_get_const(align_corners, "b") or not isinstance(size, list):
        return symbolic_helper._unimplemented("_upsample_bilinear2d_aa", "align_corners or a size from the input", x)
    first_two = g.op("Slice", g.op("Shape", x), g.op("Constant", value_t=torch.tensor([0])),
                     g.op("Constant", value_t=torch.tensor([2])))
    sizes = g.op("Concat", first_two, g.op("Constant", value_t=torch.tensor(size, dtype=torch.int64)), axis_i=0)
    empty = g.op("Constant", value_t=torch.tensor([], dtype=torch.float32))
    return g.op("Resize", x, empty, empty, sizes, mode_s="linear", antialias_i=1, exclude_outside_i=1,
                coordinate_transformation_mode_s="half_pixel")


def run_graph(path: Path, inputs: tuple[torch.Tensor, ...]) -> list:
    """The ONNX graph at `path` run in onnxruntime (CPU) on `inputs`; its outputs as numpy arrays."""
    _, ort = onnx_modules()
    options = ort.SessionOptions()
    options.log_severity_level = 4  # the checks try shapes a graph may refuse: no error logging of its own
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {i.name: t.numpy() for i, t in zip(session.get_inputs(), inputs)}
    return session.run(None, feed)


def max_difference(graph: Graph, path: Path, inputs: tuple[torch.Tensor, ...] | None = None) -> float:
    """max |onnxruntime - PyTorch| over the graph's outputs on `inputs` (default: its examples)."""
    inputs = graph.examples if inputs is None else inputs
    with torch.no_grad():
        expected = graph.net(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = run_graph(path, inputs)
    if len(got) != len(expected) or any(tuple(g.shape) != tuple(e.shape) for g, e in zip(got, expected)):
        return float("inf")
    diffs = [float((torch.from_numpy(g) - e.float()).abs().max()) if e.numel() else 0.0 for g, e in zip(got, expected)]
    # max() would pass a NaN over (max(0.1, nan) is 0.1): any non-finite difference is infinitely far
    return max((d if math.isfinite(d) else float("inf")) for d in diffs)


def write_checked(graph: Graph, path: Path, model_name: str = "") -> float:
    """Write `graph` and check it in onnxruntime against PyTorch: on its examples, and at another batch size (and
    image size, where dynamic). A graph that fails at another image size is written again for its examples' size
    only, with a note (Graph.fix_size). Returns the largest difference seen; any other failure raises."""
    write_graph(graph, path, model_name)
    diff = max_difference(graph, path)
    batch = graph.examples[0].shape[0] + 1
    if graph.size_multiple is not None:
        m = graph.size_multiple
        image = next(e for p, e in zip(graph.inputs, graph.examples) if "height" in p.shape)
        try:
            other = max_difference(graph, path, graph.inputs_for(batch, image.shape[-2] + m, image.shape[-1] + 2 * m))
        except Exception:  # onnxruntime refusing a shape the trace fixed
            other = float("inf")
        if other <= TOLERANCE:
            return max(diff, other)
        graph.fix_size()
        write_graph(graph, path, model_name)
        diff = max_difference(graph, path)
    return max(diff, max_difference(graph, path, graph.inputs_for(batch)))


def file_stem(name: str, taken: set[str]) -> str:
    """A file name for a graph: its name with anything but letters, digits, '-', '_' and inner dots replaced
    (domain names come from the user's data or from a model file), unique among `taken`, which it joins."""
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name).strip(".") or "graph"
    unique, k = stem, 2
    while unique.lower() in taken:  # also unique where file names ignore case
        unique, k = f"{stem}-{k}", k + 1
    taken.add(unique.lower())
    return unique


def export_onnx(source: str | Path, out: str | Path, say: Callable[[str], None] = print) -> Path:
    """The model folder of `source` (a run folder or a model folder) at `out`, plus onnx/NAME.onnx per graph; the
    graphs' descriptions, measured agreement with PyTorch and notes go into config.json under "onnx"."""
    onnx_modules()
    out = check_folder(out, empty=True)
    model = load(source)  # fails on a bad source before anything is written
    tmp = out.with_name(f".{out.name}.onnx-tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        export_model_folder(source, tmp)
        found, notes = graphs(model)
        (tmp / "onnx").mkdir()
        described = []
        stems: set[str] = set()
        for graph in found:
            stem = file_stem(graph.name, stems)
            path = tmp / "onnx" / f"{stem}.onnx"
            try:
                diff = write_checked(graph, path, model.cfg.name)
            except Exception as e:  # an operation ONNX lacks, a trace that fails: the other graphs still go out
                notes.append(f"{graph.name}: not exported ({type(e).__name__}: {str(e).strip().splitlines()[0]})")
                path.unlink(missing_ok=True)
                continue
            if not diff <= TOLERANCE:
                notes.append(f"{graph.name}: not exported (it differs from PyTorch by {diff:.3g})")
                path.unlink()
                continue
            described.append({**graph.describe(f"onnx/{stem}.onnx"), "max_abs_difference": diff})
            say(f"{graph.name}: onnx/{stem}.onnx (max |onnxruntime - PyTorch| {diff:.2g})")
        notes += [note for graph in found for note in graph.notes if note not in notes]
        if not described:
            raise GankitError(f"{model.cfg.name}: no network could be exported to ONNX: {'; '.join(notes)}")
        for note in notes:
            say(f"note: {note}")
        meta = json.loads((tmp / "config.json").read_text())
        meta["onnx"] = {"opset": OPSET, "exporter": "torch.onnx.export (TorchScript-based, dynamo=False)",
                        "torch_version": torch.__version__, "graphs": described, "notes": notes}
        write_atomically(tmp / "config.json", lambda t: t.write_text(json.dumps(meta, indent=2) + "\n"))
        if out.exists():
            out.rmdir()
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
