"""Every command against the mistakes users make at its edges: random output paths (a missing parent, a file where a
folder is needed, a folder where a file is, an unwritable place, an existing non-empty target) and random inputs
(the hostile corpus, an empty folder, a glob that matches nothing). A command either succeeds, or says one line and
exits with 2, with no traceback and nothing left under the name it was asked to write.

`run_all()` runs every combination (python -c "from tests.test_output_sweep import run_all; run_all()"); the test
draws a bounded sample of them with hypothesis.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main

from .data.hostile import make_corpus

# (command, what it writes, whether it reads input images)
COMMANDS = {
    "train": ("folder", False), "sample": ("file", False), "translate": ("folder", True),
    "encode": ("file", True), "explore": ("file", False), "score": ("file", True), "classify": ("file", True),
    "upscale": ("folder", True), "refine": ("folder", True), "export": ("folder", False),
    "evaluate": ("file", False), "report": ("file", False),
}
OUTPUTS = ["missing-parent", "file-for-folder", "folder-for-file", "unwritable", "existing-non-empty"]
INPUTS = ["hostile", "empty-folder", "glob-nothing"]
SUFFIX = {"sample": ".png", "encode": ".npy", "explore": ".png", "score": ".csv", "classify": ".csv",
          "evaluate": ".json", "report": ".html"}
QUICK = ["--set", "train.tensorboard=false", "--set", "train.n_samples=4", "--quiet", "--device", "cpu"]
# The tiny model each command runs: (system, data, extra training settings)
MODELS = {
    "sample": ("dcgan", "digits", ["model.base_channels=4", "data.img_size=16"]),
    "translate": ("pix2pix", "edges", ["model.base_channels=4", "model.d_base_channels=4", "data.img_size=32",
                                       "data.load_size=36"]),
    "encode": ("bigan", "digits", ["model.width=32", "data.img_size=16"]),
    "explore": ("infogan", "digits", ["model.base_channels=4", "data.img_size=16"]),
    "score": ("anogan", "digits", ["model.base_channels=4", "data.img_size=16"]),
    "classify": ("triplegan", "digits", ["data.img_size=16", "model.base_channels=4", "model.g_width=32"]),
    "upscale": ("enhancenet", "SR", ["model.losses=E", "model.width=4", "model.blocks=1", "data.img_size=16"]),
    "refine": ("simgan", "digits", ["data.real=digits", "data.img_size=16", "model.width=4", "model.pretrain_r=1",
                                    "model.pretrain_d=0"]),
}


def _train(root: Path, command: str) -> Path:
    system, data, settings = MODELS[command]
    if data == "SR":  # high-resolution photos of a size the crops fit in
        folder = root / "sr"
        folder.mkdir(exist_ok=True)
        rng = np.random.default_rng(0)
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(folder / f"{i}.png")
        data = f"sr:{folder}"
    run = root / command
    argv = ["train", system, "--data", data, "--steps", "2", "--batch-size", "4", "--out", str(run), *QUICK]
    for s in settings:
        argv += ["--set", s]
    assert main(argv) == 0, command
    return run


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The tiny models, the hostile corpus, and a folder for each example."""
    root = tmp_path_factory.mktemp("sweep")
    runs = {command: _train(root, command) for command in MODELS}
    runs["export"] = runs["evaluate"] = runs["report"] = runs["sample"]
    make_corpus(root / "corpus")
    return root, runs


def _output(kind: str, command: str, base: Path) -> tuple[Path, bool]:
    """An output path of this kind for `command`, and whether the command must refuse it."""
    what = COMMANDS[command][0]
    name = "out" + SUFFIX.get(command, "")
    if kind == "missing-parent":
        return base / "new" / "deeper" / name, False
    if kind == "file-for-folder":
        if what == "folder":
            (base / "afile").write_text("x")
            return base / "afile", True
        (base / "afile").write_text("x")  # a file where the output's parent folder should be
        return base / "afile" / name, True
    if kind == "folder-for-file":
        if what == "file":
            (base / name).mkdir()
            return base / name, True
        (base / "afile").write_text("x")  # a folder output below a file
        return base / "afile" / "out", True
    if kind == "unwritable":  # /proc takes no new files, whoever asks (root included)
        return Path("/proc") / f"gankit-sweep-{base.name}" / name, True
    target = base / name  # existing-non-empty
    if what == "folder":
        target.mkdir()
        (target / "keep.txt").write_text("the user's")
        return target, command in ("export", "train")
    target.write_bytes(b"the user's old file")
    return target, False


def _inputs(kind: str, root: Path, base: Path) -> tuple[list[str], bool]:
    if kind == "hostile":
        return [str(root / "corpus")], False
    if kind == "empty-folder":
        (base / "empty").mkdir()
        return [str(base / "empty")], True
    return [str(base / "nothing-*.png")], True


def _argv(command: str, run: Path, inputs: list[str], out: Path) -> list[str]:
    if command == "train":
        return ["train", "dcgan", "--steps", "1", "--set", "model.base_channels=4", "--set", "data.img_size=16",
                "--out", str(out), *QUICK]
    args = [command, str(run), *inputs, "--out", str(out)]
    if command == "explore":
        args += ["--code", "c1"]
    if command == "evaluate":
        args += ["--n", "50"]
    elif command not in ("sample", "export", "explore", "report"):
        args.append("--quiet")
    return args


def check(command: str, out_kind: str, in_kind: str, root: Path, runs: dict, base: Path, capsys) -> str:
    """Run one combination; 'ok' or 'refused' (one line, exit 2, nothing left), or an AssertionError."""
    base.mkdir(parents=True)
    out, bad_out = _output(out_kind, command, base)
    uses_inputs = COMMANDS[command][1]
    inputs, bad_in = _inputs(in_kind, root, base) if uses_inputs else ([], False)
    before = out.read_bytes() if out.is_file() else None
    existed = out.exists()
    capsys.readouterr()
    code = main(_argv(command, runs.get(command, root), inputs, out))
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    if bad_out or bad_in:
        assert code == 2, (command, out_kind, in_kind, code, err)
        assert err.count("\n") == 1 and err.startswith(f"gankit {command}: error: "), err
        if before is not None:
            assert out.read_bytes() == before  # the user's file is untouched
        elif not existed:
            assert not out.exists()  # nothing under the final name
        assert not list(base.rglob(".*.tmp")), "a temporary file was left behind"
        return "refused"
    assert code == 0, (command, out_kind, in_kind, err)
    return "ok"


def test_every_command_survives_its_edges(world, tmp_path_factory, capsys):
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    root, runs = world
    counter = itertools.count()

    @settings(max_examples=45, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(list(COMMANDS)), st.sampled_from(OUTPUTS), st.sampled_from(INPUTS))
    def one(command, out_kind, in_kind):
        base = root / "cases" / f"{next(counter):04d}"
        check(command, out_kind, in_kind, root, runs, base, capsys)
        shutil.rmtree(base, ignore_errors=True)

    assert hypothesis  # the import above is the dependency check
    one()


def run_all() -> dict[str, int]:  # pragma: no cover  (the documented full sweep; minutes, not part of the suite)
    """Every combination once; prints and returns the counts."""
    import tempfile

    counts = {"combinations": 0, "ok": 0, "refused": 0}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs = {command: _train(root, command) for command in MODELS}
        runs["export"] = runs["evaluate"] = runs["report"] = runs["sample"]
        make_corpus(root / "corpus")
        capsys = _StderrCapture()
        for i, (command, out_kind, in_kind) in enumerate(itertools.product(COMMANDS, OUTPUTS, INPUTS)):
            if not COMMANDS[command][1] and in_kind != INPUTS[0]:
                continue  # a command without input files: one pass per output kind
            counts["combinations"] += 1
            counts[check(command, out_kind, in_kind, root, runs, root / "cases" / f"{i:04d}", capsys)] += 1
    print(counts)
    return counts


class _StderrCapture:  # pragma: no cover
    """capsys's readouterr() for run_all, outside pytest."""

    def __init__(self):
        import io
        import sys

        self._sys, self._buf = sys, io.StringIO()
        sys.stderr = self._buf

    def readouterr(self):
        class Out:
            pass

        out = Out()
        out.err, self._buf = self._buf.getvalue(), __import__("io").StringIO()
        self._sys.stderr = self._buf
        return out
