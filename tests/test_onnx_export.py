"""ONNX export: a tiny model of every registered system, each graph its tasks yield run in onnxruntime at batch sizes
and image sizes it was not traced at, against PyTorch; then `gankit export --format onnx` end to end, and its
refusals."""

import dataclasses
import json

import numpy as np
import onnx
import pytest
import torch

import gankit
from gankit import onnx_export
from gankit.cli import main
from gankit.errors import GankitError
from gankit.models import DataInfo
from gankit.onnx_export import graphs, max_difference, run_graph, task_graphs, write_checked, write_graph
from gankit.registry import MODELS
from gankit.trained import Model

from .conftest import TINY

# Any system small: these config fields, where a system has them (the others keep their defaults).
SHRINK = {"base_channels": 4, "d_base_channels": 4, "z_dim": 8, "width": 8, "g_width": 16, "d_width": 16,
          "hidden": 16, "q_hidden": 8, "encoder_hidden": 16, "blocks": 1, "n_blocks": 1, "n_layers": 2,
          "losses": "E", "feature_net": "random"}
# The smallest data of each kind; a system is built on the first it accepts (the others raise a one-line error).
DATA = [DataInfo("labelled", 16, 1, num_classes=3, class_names=["a", "b", "c"]),
        DataInfo("paired", 16, 3, kind="paired", in_channels=1),
        DataInfo("unpaired", 16, 3, kind="unpaired", in_channels=3),
        DataInfo("sr", 16, 3, kind="sr", in_channels=3, scale=4),
        DataInfo("refine", 16, 1, num_classes=3, kind="refine")]
VECTORS = DataInfo("ring", 0, 0, dim=2)
TOLERANCE = 1e-4


def tiny(name: str, infos: list[DataInfo] = DATA):
    cls = MODELS.get(name)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    cfg = cls.Config(**{k: v for k, v in SHRINK.items() if k in fields})
    refusals = []
    for info in infos:
        try:
            return cls(cfg, info).eval()
        except GankitError as e:
            refusals.append(str(e))
    raise AssertionError(f"{name} builds on none of the test data: {refusals}")


def vector_samplers() -> list[str]:
    """The samplers that take 2-D data (the PacGAN mixtures)."""
    found = []
    for name in MODELS.names():
        if "sample" in MODELS.get(name).tasks:
            try:
                tiny(name, [VECTORS])
                found.append(name)
            except AssertionError:
                pass
    return found


def check_graphs(model, tmp_path) -> dict[str, float]:
    """Export each graph, run it at batch sizes 1 and 3 (and two image sizes where dynamic); the largest difference
    from PyTorch per graph."""
    found, _ = graphs(model)
    diffs = {}
    for graph in found:
        path = tmp_path / f"{graph.name}.onnx"
        dynamic = graph.size_multiple is not None
        write_checked(graph, path, model.cfg.name)
        if dynamic and graph.size_multiple is None:  # fixed to one size by the check: said so in a note
            assert any("inputs only" in note for note in graph.notes), graph.notes
        meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        assert meta["gankit.task"] == graph.task and json.loads(meta["gankit.inputs"])[0]["name"]
        m = graph.size_multiple
        unit = None if m is None else m * -(-8 // m)  # a multiple of the size multiple, 8 pixels or more
        sizes = [(None, None)] if m is None else [(unit, 2 * unit), (2 * unit, unit)]
        worst = 0.0
        for batch in (1, 3):
            for height, width in sizes:
                worst = max(worst, max_difference(graph, path, graph.inputs_for(batch, height, width, seed=batch)))
        # the axes the graph declares dynamic are dynamic in the file
        declared = {d.dim_param for i in onnx.load(str(path)).graph.input for d in i.type.tensor_type.shape.dim}
        assert "batch" in declared and (m is None or {"height", "width"} <= declared)
        diffs[graph.name] = worst
    print(model.cfg.name, {k: f"{v:.1e}" for k, v in diffs.items()})
    return diffs


@pytest.mark.parametrize("name", MODELS.names())
def test_every_graph_runs_in_onnxruntime_as_in_pytorch(name, tmp_path, monkeypatch):
    monkeypatch.setattr(task_graphs, "TILE", 32)  # a fixed-size graph's size (upscale): small images, fast
    model = tiny(name)
    found, notes = graphs(model)
    covered = {g.task for g in found}
    # every declared task yields a graph, but explore, whose grids are G at chosen codes: encode's decode graph
    assert set(model.tasks) - {"explore"} <= covered, (model.tasks, covered, notes)
    if "explore" in model.tasks:
        assert "decode" in {g.name for g in found}
    diffs = check_graphs(model, tmp_path)
    assert max(diffs.values()) <= TOLERANCE, diffs


@pytest.mark.parametrize("name", vector_samplers())
def test_samplers_of_2d_data(name, tmp_path):
    diffs = check_graphs(tiny(name, [VECTORS]), tmp_path)
    assert list(diffs) == ["sample"] and diffs["sample"] <= TOLERANCE


def test_the_sample_graph_takes_the_noise_generate_draws(tmp_path):
    """Fed the noise a seed gives, the graph draws what model.sample(seed=) draws; labels are an input."""
    model = tiny("cgan")
    (graph,), _ = graphs(model)
    assert [p.name for p in graph.inputs] == ["z", "label"] and graph.inputs[0].distribution == "normal(0, 1)"
    write_graph(graph, tmp_path / "s.onnx", "cgan")
    z = torch.randn(5, model.cfg.z_dim, generator=torch.Generator().manual_seed(7))
    label = torch.full((5,), 2)
    (got,) = run_graph(tmp_path / "s.onnx", (z, label))
    want = Model(model).sample(5, seed=7, label=2)
    assert np.abs(got - want.numpy()).max() <= TOLERANCE


def image_samplers() -> list[str]:
    return [name for name in MODELS.names() if "sample" in MODELS.get(name).tasks and tiny(name).info.is_image]


@pytest.mark.parametrize("name", image_samplers())
def test_every_sample_graph_takes_its_draws_in_generates_order(name, tmp_path):
    """Seeded noise fed in port order gives model.sample(seed=): InfoGAN's three draws, LAPGAN's chain, labels."""
    model = tiny(name)
    graph = next(g for g in graphs(model)[0] if g.task == "sample")
    write_graph(graph, tmp_path / "s.onnx", name)
    generator = torch.Generator().manual_seed(7)  # model.seeded(7): the draws model.sample(seed=7) makes
    noise = tuple((torch.randn if p.distribution == "normal(0, 1)" else torch.rand)(
        [5 if d == "batch" else d for d in p.shape], generator=generator) for p in graph.inputs if p.distribution)
    labels = tuple(torch.arange(5) % model.info.num_classes for p in graph.inputs if p.name == "label")
    (got,) = run_graph(tmp_path / "s.onnx", noise + labels)
    want = Model(model).sample(5, seed=7)
    assert np.abs(got - want.numpy()).max() <= TOLERANCE


class SizeInPython(torch.nn.Module):
    """A network that reads its input's size into Python numbers: the trace keeps them."""

    def forward(self, x):
        return x + torch.arange(int(x.shape[-1])).float() / 100


def test_a_graph_that_keeps_its_size_is_written_for_that_size_and_says_so(tmp_path):
    x = torch.rand(2, 1, 8, 12)
    graph = onnx_export.Graph("refine", "refine", SizeInPython(), (x,),
                              [onnx_export.Port("images", ["batch", 1, "height", "width"], range=[0, 1])],
                              [onnx_export.Port("refined", ["batch", 1, "height", "width"], range=[0, 1])], 4)
    assert write_checked(graph, tmp_path / "g.onnx") <= TOLERANCE
    assert graph.size_multiple is None and graph.inputs[0].shape == ["batch", 1, 8, 12]
    assert graph.outputs[0].shape == ["batch", 1, 8, 12] and "takes 8x12 inputs only" in graph.notes[0]



def test_graph_files_are_named_safely_and_uniquely():
    """Domain names come from the user's data or a model file: they never leave onnx/ or overwrite each other."""
    taken = set()
    names = ["translate_../../etc/x", "translate_a/b", "translate_a_b", "translate_A_B", "..", "translate_é", "sample"]
    assert [onnx_export.file_stem(n, taken) for n in names] == [
        "translate_.._.._etc_x", "translate_a_b", "translate_a_b-2", "translate_A_B-3", "graph", "translate__",
        "sample"]

def test_pix2pix_is_exported_in_eval_mode_and_says_so():
    model = tiny("pix2pix")
    assert model.cfg.test_mode == "paper"
    found, notes = graphs(model)
    assert [g.name for g in found] == ["translate_AtoB"] and model.cfg.test_mode == "eval"
    assert len(notes) == 1 and "--test-mode eval" in notes[0] and found[0].notes == notes


# ----------------------------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    gankit.train("dcgan", "digits", overrides=TINY, steps=2, out=root / "run", device="cpu", progress=False)
    return root / "run"


def test_cli_writes_the_model_folder_and_checked_graphs(run_dir, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["export", str(run_dir), "--format", "onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "sample: onnx/sample.onnx (max |onnxruntime - PyTorch|" in printed and str(out) in printed
    meta = json.loads((out / "config.json").read_text())
    (entry,) = meta["onnx"]["graphs"]
    assert entry["file"] == "onnx/sample.onnx" and entry["max_abs_difference"] <= TOLERANCE
    assert entry["inputs"][0]["shape"] == ["batch", 16] and entry["outputs"][0]["range"] == [0, 1]
    # the folder is still a gankit model folder, and the graph draws what it samples from the same seed
    model = gankit.load(out)
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(3))
    (images,) = run_graph(out / "onnx" / "sample.onnx", (z,))
    assert np.abs(images - model.sample(4, seed=3).numpy()).max() <= TOLERANCE
    # a model folder exports too
    assert main(["export", str(out), "--format", "onnx", "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "onnx" / "sample.onnx").is_file()


def test_an_unknown_format_is_one_line(run_dir, tmp_path, capsys):
    assert main(["export", str(run_dir), "--format", "tflite", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "invalid choice 'tflite'" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_a_missing_source_is_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nothing"), "--format", "onnx", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "is not a gankit model folder" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_a_full_out_folder_is_refused(run_dir, tmp_path, capsys):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "keep.txt").write_text("x")
    assert main(["export", str(run_dir), "--format", "onnx", "--out", str(tmp_path / "o")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["keep.txt"]


def test_without_onnx_installed_the_error_says_what_to_install(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # `import onnx` now raises ImportError
    assert main(["export", str(run_dir), "--format", "onnx", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'gankit[onnx]'" in err and len(err.strip().splitlines()) == 1
