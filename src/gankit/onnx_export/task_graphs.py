"""The ONNX graphs of a model: per task, the networks it runs made modules with [0, 1] images in and out, their
ports (names, shapes with named dynamic axes, ranges or distributions) and example inputs.

Each task below says which graphs it yields by asking the task protocols (gankit/tasks/), never the system's name,
so a system added later gets its graphs by declaring its tasks. Randomness is an input: a sampler's graph takes the
very noise its `generate` would draw (same shapes, same distributions), so a caller seeds it as it likes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import ArgumentError, GankitError
from ..tasks import system_of
from ..tasks.sample import LabelSampler
from ..tasks.translate import MultiDomain, TestModes, expected_channels

TILE = 128  # the example size of a graph that must be traced at one size (an upscaler), as `gankit upscale` tiles


@dataclass
class Port:
    """One input or output of a graph: its name, shape (str: a dynamic axis), element type, and what its values
    are (`range` [low, high], or `distribution` for noise); `about` says what it is in a few words."""

    name: str
    shape: list[int | str]
    dtype: str = "float32"
    range: list[float | None] | None = None
    distribution: str | None = None
    about: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if v not in (None, "", {}) and k != "extra"}
        return {**d, **self.extra}


@dataclass
class Graph:
    """An exportable network: the module, example inputs, ports and metadata."""

    name: str  # what it is called; its file is onnx/<file_stem(name)>.onnx
    task: str
    net: nn.Module
    examples: tuple[torch.Tensor, ...]
    inputs: list[Port]
    outputs: list[Port]
    size_multiple: int | None = None  # dynamic height/width: a multiple of this; None: fixed size or no image input
    notes: list[str] = field(default_factory=list)

    def inputs_for(self, batch: int, height: int | None = None, width: int | None = None, seed: int = 0
                   ) -> tuple[torch.Tensor, ...]:
        """Random inputs of these sizes (height, width: for dynamic ones), each as its port says: noise from its
        distribution, labels and images in their range, anything else N(0, 1)."""
        generator = torch.Generator().manual_seed(seed)
        sizes = {"batch": batch, "height": height, "width": width}
        out = []
        for port in self.inputs:
            shape = [sizes[d] if isinstance(d, str) else d for d in port.shape]
            if port.dtype == "int64":
                out.append(torch.randint(int(port.range[0]), int(port.range[1]) + 1, shape, generator=generator))
            elif port.distribution == DISTRIBUTIONS["rand"] or port.range == [0, 1]:
                out.append(torch.rand(shape, generator=generator))
            else:
                out.append(torch.randn(shape, generator=generator))
        return tuple(out)

    def fix_size(self) -> None:
        """Make height and width those of the examples: for a network that computes with its input's size outside
        tensors (the trace keeps the numbers), a graph of one size is what can be exported faithfully."""
        sizes = {}
        for port, example in zip(self.inputs, self.examples):
            for axis, d in enumerate(port.shape):
                if d in ("height", "width"):
                    sizes[d] = example.shape[axis]
                    port.shape[axis] = example.shape[axis]
        with torch.no_grad():
            outs = self.net(*self.examples)
        for port, out in zip(self.outputs, outs if isinstance(outs, tuple) else (outs,)):
            port.shape = [d if d == "batch" or isinstance(d, int) else out.shape[axis]
                          for axis, d in enumerate(port.shape)]
        self.size_multiple = None
        self.notes.append(f"{self.name}: its network computes with the input's size outside tensors, so the graph "
                          f"takes {sizes['height']}x{sizes['width']} inputs only (pad or tile to that size)")

    def describe(self, file: str) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "file": file, "task": self.task,
                             "inputs": [p.describe() for p in self.inputs],
                             "outputs": [p.describe() for p in self.outputs]}
        if self.size_multiple is not None:
            d["size_multiple"] = self.size_multiple
        if self.notes:
            d["notes"] = self.notes
        return d


def _image(name: str, channels: int, size: int | None, about: str) -> Port:
    """An image port in [0, 1]: (batch, C, S, S) for a fixed size, or (batch, C, height, width)."""
    hw: list[int | str] = [size, size] if size else ["height", "width"]
    return Port(name, ["batch", channels, *hw], range=[0, 1], about=about)


def _examples(channels: int, height: int, width: int) -> torch.Tensor:
    """Two images to trace with; height != width so that the two axes stay separate in the graph."""
    return torch.rand(2, channels, height, width, generator=torch.Generator().manual_seed(0))


def _to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], clamped: what users get (GANModel.for_display)."""
    return (x.clamp(-1, 1) + 1) / 2


# --------------------------------------------------------------------------------------------- sample


class _Draws:
    """Stands in for torch.randn / torch.rand while a sampler's `generate` runs with `key` as its generator: the
    draws made from `key` are recorded (record mode) or replaced, in order, by given tensors (replay mode). Draws from
    any other generator are left alone, so nothing else the network or the exporter does is touched."""

    def __init__(self, key: torch.Generator, replay: tuple[torch.Tensor, ...] | None = None):
        self.key, self.replay, self.seen = key, replay, []

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        originals = {"randn": torch.randn, "rand": torch.rand}

        def stand_in(kind: str) -> Callable[..., torch.Tensor]:
            def draw(*size, generator=None, **kwargs):
                if generator is not self.key:
                    return originals[kind](*size, generator=generator, **kwargs)
                shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size
                i = len(self.seen)
                self.seen.append((kind, shape))
                if self.replay is None:
                    return originals[kind](*shape, generator=generator, **kwargs)
                return self.replay[i]
            return draw

        torch.randn, torch.rand = stand_in("randn"), stand_in("rand")
        try:
            yield
        finally:
            torch.randn, torch.rand = originals["randn"], originals["rand"]


DISTRIBUTIONS = {"randn": "normal(0, 1)", "rand": "uniform[0, 1)"}


class _Sampling(nn.Module):
    """generate() with its random draws (and the label, for label-conditioned samplers) as inputs."""

    def __init__(self, model: nn.Module, G: nn.Module, labelled: bool):
        super().__init__()
        self.model, self.G, self.labelled = model, G, labelled
        self.key = torch.Generator()

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        noise, extra = (inputs[:-1], {"label": inputs[-1]}) if self.labelled else (inputs, {})
        state = self.key.get_state()
        with _Draws(self.key, noise).active():
            x = self.model.generate(noise[0].shape[0], generator=self.key, G=self.G, **extra)
        if not torch.equal(state, self.key.get_state()):  # a draw the stand-ins did not see: it would be baked in
            raise GankitError(f"{self.model.cfg.name}: generate() draws noise other than torch.randn/torch.rand "
                              "from its generator; the sampler cannot be made a graph")
        return self.model.for_display(x)


def sample_graphs(model) -> tuple[list[Graph], list[str]]:
    """G from its noise (and label): one graph, `sample`, whose inputs are generate()'s draws in order."""
    system = system_of(model)
    G = getattr(system, system.ema_target)
    labelled = isinstance(system, LabelSampler)
    net = _Sampling(system, G, labelled)
    n = 3
    extra = {"label": torch.arange(n) % max(system.info.num_classes, 1)} if labelled else {}
    draws = _Draws(net.key)
    with draws.active(), torch.no_grad():
        system.generate(n, generator=net.key, G=G, **extra)
    if not draws.seen:
        raise GankitError(f"{system.cfg.name}: generate() draws no noise through torch.randn/torch.rand")
    generator = torch.Generator().manual_seed(0)
    names = ["z"] if len(draws.seen) == 1 else [f"z{i}" for i in range(len(draws.seen))]
    inputs, examples = [], []
    for name, (kind, shape) in zip(names, draws.seen):
        if shape[0] != n:
            raise GankitError(f"{system.cfg.name}: generate() draws noise of shape {shape} for {n} samples; a "
                              "graph needs one row per sample")
        inputs.append(Port(name, ["batch", *shape[1:]], distribution=DISTRIBUTIONS[kind],
                           about="noise, one row per sample, as generate() draws it"))
        examples.append((torch.randn if kind == "randn" else torch.rand)(shape, generator=generator))
    if labelled:
        K = system.info.num_classes
        inputs.append(Port("label", ["batch"], dtype="int64", range=[0, K - 1], about="the class of each sample",
                           extra={"classes": list(system.info.class_names)} if system.info.class_names else {}))
        examples.append(extra["label"])
    if system.info.is_image:
        out = _image("images", system.info.img_channels, system.info.img_size, "samples")
    else:
        out = Port("samples", ["batch", system.info.dim], about="points in the data's units")
    return [Graph("sample", "sample", net, tuple(examples), inputs, [out])], []


# ------------------------------------------------------------------------------------------ translate


class _ImageToImage(nn.Module):
    """A translator's or refiner's network with [0, 1] images in and out (the networks work in [-1, 1])."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _to_unit(self.net(x * 2 - 1))


def translate_graphs(model) -> tuple[list[Graph], list[str]]:
    """One graph per target of a multi-domain translator (`translate_NAME`), else one per direction it accepts
    (`translate_AtoB`, `translate_BtoA`). A translator with test modes is exported in eval mode: the paper's mode
    draws new dropout on every run, which no fixed graph reproduces."""
    system = system_of(model)
    notes = []
    if isinstance(system, TestModes):
        system.set_test_mode("eval")
        notes.append(f"{system.cfg.name}: the paper's test mode (dropout on at test time, each image normalised "
                     "alone) is random on every run and is not exported; the graph is --test-mode eval")
    if isinstance(system, MultiDomain):
        jobs = [(f"translate_{name}", "AtoB", target) for name, target in system.all_targets()]
    else:
        jobs = []
        for direction in ("AtoB", "BtoA"):
            try:
                system.translator(direction)
            except ArgumentError:  # a one-way translator
                continue
            jobs.append((f"translate_{direction}", direction, None))
    graphs = []
    for name, direction, target in jobs:
        net, multiple = system.translator(direction, target)
        c_in, c_out = expected_channels(system, direction)
        size = _example_size(system.info.img_size, multiple)
        example = _examples(c_in, size, size + multiple)
        about = f"to {target}" if target else direction
        graphs.append(Graph(name, "translate", _ImageToImage(net), (example,),
                            [_image("images", c_in, None, "inputs")],
                            [_image("translated", c_out, None, f"translations ({about})")], multiple, list(notes)))
    return graphs, notes


def _example_size(img_size: int, multiple: int) -> int:
    """A small image size for tracing: the training size, rounded up to the multiple."""
    return max(multiple, -(-img_size // multiple) * multiple)


# --------------------------------------------------------------------------------------------- encode


class _Encoding(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode_batch(x * 2 - 1)


class _Decoding(nn.Module):
    def __init__(self, model: nn.Module, G: nn.Module):
        super().__init__()
        self.model, self.G = model, G

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.model.for_display(self.model.decode_batch(codes, self.G))


def encode_graphs(model) -> tuple[list[Graph], list[str]]:
    """`encode`: images at the model's size -> codes; `decode`: codes -> G(codes), the reconstruction half."""
    from ..tasks.encode import categorical_codes

    system = system_of(model)
    info = system.info
    names = system.code_names()
    categorical = categorical_codes(system)
    example = _examples(info.img_channels, info.img_size, info.img_size)
    with torch.no_grad():
        codes = system.encode_batch(example * 2 - 1)
    columns = {"columns": names, **({"categorical": categorical} if categorical else {})}
    code_port = Port("codes", ["batch", len(names)], about="one column per code (categorical "
                     "codes as their category's index)", extra=columns)
    G = getattr(system, system.ema_target)
    return [Graph("encode", "encode", _Encoding(system), (example,),
                  [_image("images", info.img_channels, info.img_size, "images at the model's size")], [code_port]),
            Graph("decode", "encode", _Decoding(system, G), (codes,), [code_port],
                  [_image("images", info.img_channels, info.img_size, "G(codes)")])], []


def explore_graphs(model) -> tuple[list[Graph], list[str]]:
    """A traversal grid is G at chosen codes: the `decode` graph of the encode task draws it."""
    return [], []


# ---------------------------------------------------------------------------------------------- score


class _Scoring(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = x * 2 - 1
        score, rec = self.model.anomaly_scores(x, "encoder")
        return score, _to_unit(rec), self.model.residual_map(x, rec)


def score_graphs(model) -> tuple[list[Graph], list[str]]:
    """`score`: the one-pass encoder scorer (f-AnoGAN). The latent search is an optimisation loop per image (500 Adam
    steps), not a network: it stays in PyTorch."""
    system = system_of(model)
    info = system.info
    example = _examples(info.img_channels, info.img_size, info.img_size)
    note = f"{system.cfg.name}: the latent-search scorer (an optimisation per image) is not exported; the encoder is"
    graph = Graph("score", "score", _Scoring(system), (example,),
                  [_image("images", info.img_channels, info.img_size, "images at the model's size")],
                  [Port("score", ["batch"], range=[0, None], about="anomaly score (higher: more anomalous)"),
                   _image("reconstruction", info.img_channels, info.img_size, "G(E(x))"),
                   _image("residual", 1, info.img_size, "|x - G(E(x))| averaged over channels")], notes=[note])
    return [graph], [note]


# ------------------------------------------------------------------------------------------- classify


class _Classifying(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.classify_batch(x * 2 - 1)


def classify_graphs(model) -> tuple[list[Graph], list[str]]:
    system = system_of(model)
    info = system.info
    example = _examples(info.img_channels, info.img_size, info.img_size)
    names = info.label_names
    return [Graph("classify", "classify", _Classifying(system), (example,),
                  [_image("images", info.img_channels, info.img_size, "images at the model's size")],
                  [Port("probabilities", ["batch", len(names)], range=[0, 1], about="class probabilities",
                        extra={"classes": names})])], []


# ------------------------------------------------------------------------------------ upscale, refine


class _Upscaling(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).clamp(0, 1)


def upscale_graphs(model) -> tuple[list[Graph], list[str]]:
    system = system_of(model)
    net, scale = system.upscaler()
    c = system.info.img_channels
    example = _examples(c, TILE, TILE)  # the tile `gankit upscale` runs, should the graph need one size
    out = _image("upscaled", c, None, f"{scale} times the input's height and width")
    out.shape = ["batch", c, f"{scale}*height", f"{scale}*width"]
    return [Graph("upscale", "upscale", _Upscaling(net), (example,), [_image("images", c, None, "inputs")], [out],
                  1)], []


def refine_graphs(model) -> tuple[list[Graph], list[str]]:
    system = system_of(model)
    c = system.info.img_channels
    size = max(system.info.img_size, 8)
    example = _examples(c, size, size + 4)
    return [Graph("refine", "refine", _ImageToImage(system.refiner()), (example,),
                  [_image("images", c, None, "inputs")], [_image("refined", c, None, "refined images, same size")],
                  1)], []


# task -> its graphs (and notes on what is left out)
TASK_GRAPHS: dict[str, Callable[[Any], tuple[list[Graph], list[str]]]] = {
    "sample": sample_graphs, "translate": translate_graphs, "encode": encode_graphs, "explore": explore_graphs,
    "score": score_graphs, "classify": classify_graphs, "upscale": upscale_graphs, "refine": refine_graphs}


def graphs(model) -> tuple[list[Graph], list[str]]:
    """Every graph of every task `model` declares, and one line per thing that could not be exported faithfully.
    A translator with test modes is left in eval mode (see translate_graphs)."""
    out, notes = [], []
    system_of(model).eval()  # running statistics, no dropout: what every task runs (and tracing must not train)
    for task in system_of(model).tasks:
        if task not in TASK_GRAPHS:
            notes.append(f"{task}: no ONNX graph is described for this task")
            continue
        found, said = TASK_GRAPHS[task](model)
        out += found
        notes += said
    return out, notes
