"""What `gankit serve` offers for each task a model declares: the endpoints of that task, their parameters (typed and
bounded, from what the model's protocols say it can take) and how each runs, by calling the task's tensor-level
function in gankit/tasks/. An endpoint answers a picture (PIL image, sent as PNG) or numbers (a dict, sent as JSON).

There is no per-system code here: a parameter appears when the system implements the protocol that gives it
meaning (a label for a LabelSampler, targets for a MultiDomain translator, test modes for TestModes)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image

from ..errors import ArgumentError, GankitError, unknown
from ..images import columns, grid, heat, scatter, to_uint8
from ..tasks import classify, encode, refine, sample, score, system_of, translate, upscale
from ..tasks.files import to_model_input

MAX_SAMPLES = 64  # images in one sample grid: a request is a few seconds of CPU at most


@dataclass(frozen=True)
class Param:
    """One query parameter: its type ("int", "float", "choice", "text"), default, bounds or choices, and a line of
    help the page shows."""

    name: str
    kind: str
    default: Any
    help: str
    low: float | None = None  # numbers: both bounds
    high: float | None = None
    choices: tuple[str, ...] = ()

    def parse(self, raw: str) -> Any:
        """The value of `raw`, or an ArgumentError saying what this parameter takes."""
        shown = raw if len(raw) <= 40 else raw[:40] + "..."  # the reason stays one short line
        if self.kind == "choice":
            if raw not in self.choices:
                raise GankitError(unknown(self.name, shown, self.choices))
            return raw
        if self.kind == "text":
            if len(raw) > 500:
                raise ArgumentError(self.name, f"takes at most 500 characters, got {len(raw)}")
            return raw
        try:
            value = int(raw) if self.kind == "int" else float(raw)
        except ValueError:
            raise ArgumentError(self.name, f"takes {'an integer' if self.kind == 'int' else 'a number'}, "
                                           f"got '{shown}'") from None
        if not math.isfinite(value) or (self.low is not None and value < self.low) or \
                (self.high is not None and value > self.high):
            low, high = (int(self.low), int(self.high)) if self.kind == "int" else (f"{self.low:g}", f"{self.high:g}")
            raise ArgumentError(self.name, f"must be from {low} to {high}, got {shown}")
        return value

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in {"name": self.name, "type": self.kind, "default": self.default, "help": self.help,
                                  "min": self.low, "max": self.high, "choices": list(self.choices) or None}.items()
                if v is not None}


SEED = Param("seed", "int", 0, "random seed: the same seed, the same result", 0, 2**32 - 1)


@dataclass(frozen=True)
class Endpoint:
    """`/api/NAME` of one task. `run(model, params, image)` gets the parsed parameters and, when `upload`, the
    uploaded image as (1, C, H, W) floats in [0, 1] with `channels(model, params)` channels. `growth`: how many
    output pixels an input pixel becomes (upscaling), so the pixel cap bounds the output too."""

    name: str
    task: str
    title: str
    upload: bool
    returns: str  # "png" or "json"
    params: Callable[[Any], list[Param]]
    run: Callable[[Any, dict[str, Any], torch.Tensor | None], Image.Image | dict[str, Any]]
    channels: Callable[[Any, dict[str, Any]], int] = field(default=lambda model, params: model.info.img_channels)
    growth: Callable[[Any], int] = field(default=lambda model: 1)

    def describe(self, params: list[Param]) -> dict[str, Any]:
        return {"name": self.name, "path": f"/api/{self.name}", "task": self.task, "title": self.title,
                "upload": self.upload, "returns": "image/png" if self.returns == "png" else "application/json",
                "params": [p.describe() for p in params]}


def picture(images: torch.Tensor, nrow: int | None = None, min_tile: int = 64) -> Image.Image:
    """Images in [0, 1] as one picture: a single image as it is, several as a grid."""
    if len(images) == 1 and nrow is None:
        arr = to_uint8(images)[0]
        return Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    return grid(images, nrow=nrow, min_tile=min_tile)


# ------------------------------------------------------------------------------------------------ sample


def _sample_params(model) -> list[Param]:
    params = [Param("n", "int", 16, "how many samples", 1, MAX_SAMPLES), SEED]
    if isinstance(system_of(model), sample.LabelSampler):
        K = model.info.num_classes
        params.append(Param("label", "choice", "any", "draw this class only", choices=("any", *map(str, range(K)))))
    if isinstance(system_of(model), sample.PyramidSampler):
        params.append(Param("levels", "choice", "off", "coarse to fine: every level of the chain, a row each",
                            choices=("off", "on")))
    return params


def _sample(model, p: dict[str, Any], _) -> Image.Image:
    label = None if p.get("label", "any") == "any" else int(p["label"])
    if p.get("levels") == "on":
        images, nrow = sample.sample_chain(model, p["n"], p["seed"], levels=True, label=label)
        return grid(images, nrow=nrow)
    images = sample.sample(model, p["n"], seed=p["seed"], label=label)
    return grid(images) if model.info.is_image else scatter(images)


def _explore_params(model) -> list[Param]:
    # The codes' names are the encoder's (an explorer that is no encoder takes a name as text, checked by the model)
    names = tuple(model.code_names()) if isinstance(system_of(model), encode.Encoder) else ()
    code = Param("code", "choice", names[0], "the code that varies across the grid", choices=names) if names else \
        Param("code", "text", "c1", "the code that varies across the grid")
    return [code,
            Param("low", "float", -2.0, "continuous codes: first value (training saw -1 to 1)", -10, 10),
            Param("high", "float", 2.0, "continuous codes: last value", -10, 10),
            Param("steps", "int", 9, "continuous codes: columns", 2, 16),
            Param("n", "int", 10, "columns of a categorical code, rows of a continuous one", 1, 16), SEED]


def _explore(model, p: dict[str, Any], _) -> Image.Image:
    images, nrow = encode.explore_images(model, p["code"], p["low"], p["high"], p["steps"], p["n"], p["seed"])
    return grid(images, nrow=nrow)


# ------------------------------------------------------------------------------------------------ translate


def _directions(model) -> tuple[str, ...]:
    """The directions the model's translator accepts (asked of the model, not known per system)."""
    targets = model.all_targets() if isinstance(system_of(model), translate.MultiDomain) else [("", None)]
    ok = []
    for direction in ("AtoB", "BtoA"):
        try:
            model.translator(direction, targets[0][1])
            ok.append(direction)
        except ArgumentError as e:
            if e.name != "direction":
                raise
    return tuple(ok)


def _translate_params(model) -> list[Param]:
    system = system_of(model)
    params = []
    directions = _directions(model)
    if len(directions) > 1:
        params.append(Param("direction", "choice", directions[0], "which way to translate", choices=directions))
    if isinstance(system, translate.MultiDomain):
        names = tuple(name for name, _ in model.all_targets())
        params += [Param("domain", "choice", names[0], "the target domain (ignored when attrs is given)",
                         choices=names),
                   Param("attrs", "text", "", "or target attributes: name=1,other=0 (the others kept)")]
    if isinstance(system, translate.TestModes):
        params.append(Param("test_mode", "choice", model.cfg.test_mode, "paper: dropout on and each image "
                            "normalised by itself; eval: dropout off, training statistics", choices=("paper", "eval")))
    return [*params, SEED]


def _target(model, p: dict[str, Any]) -> dict[str, Any] | None:
    if not isinstance(system_of(model), translate.MultiDomain):
        return None
    if p.get("attrs"):
        return translate.choose_targets(model, attrs=p["attrs"])[0][1]
    return dict(model.all_targets())[p["domain"]]


def _translate_channels(model, p: dict[str, Any]) -> int:
    return translate.expected_channels(model, p.get("direction", "AtoB"))[0]


def _translate(model, p: dict[str, Any], x: torch.Tensor) -> Image.Image:
    if "test_mode" in p:  # the model is shared by every request: each one says which mode it runs in
        translate.set_test_mode(model, p["test_mode"])
    out = translate.translate(model, x, p.get("direction", "AtoB"), p["seed"], target=_target(model, p), tile=512)
    return picture(out)


# ------------------------------------------------------------------------------------------------ encode


def _encode(model, _, x: torch.Tensor) -> dict[str, Any]:
    codes = encode.encode(model, x)[0].tolist()
    categorical = encode.categorical_codes(model)
    return {"codes": {name: int(v) if name in categorical else v for name, v in zip(model.code_names(), codes)},
            "categorical": categorical}


def _reconstruct(model, _, x: torch.Tensor) -> Image.Image:
    shown = (to_model_input(model, x).cpu() + 1) / 2  # the input as the encoder saw it, beside G(E(x))
    pair, nrow = columns(shown, encode.reconstruct(model, x))
    return grid(pair, nrow=nrow, min_tile=128)


# ------------------------------------------------------------------------------------------------ score


def _score_params(model) -> list[Param]:
    return [Param("scorer", "choice", getattr(model.cfg, "scorer", "encoder"), "encoder: one pass (f-AnoGAN); "
                  "latent: a search for the closest G(z) (AnoGAN, slower)", choices=("encoder", "latent")), SEED]


def _score(model, p: dict[str, Any], x: torch.Tensor) -> dict[str, Any]:
    s, _, _ = score.score_tensor(model, x, p["scorer"], seed=p["seed"])
    return {"score": float(s[0]), "scorer": p["scorer"]}


def _score_map(model, p: dict[str, Any], x: torch.Tensor) -> Image.Image:
    _, inputs, maps = score.score_tensor(model, x, p["scorer"], seed=p["seed"])
    c = inputs.shape[1]  # the input, the G(z) it was compared with, where they differ (black: explained)
    panels = torch.cat([inputs.expand(-1, 3, -1, -1), maps[:, :c].expand(-1, 3, -1, -1), heat(maps[:, c:])])
    return grid(panels, nrow=3, min_tile=128)


# ------------------------------------------------------------------------------------------------ classify


def _classify(model, _, x: torch.Tensor) -> dict[str, Any]:
    probs = classify.classify(model, x)[0].tolist()
    names = model.info.label_names
    # a diverged classifier (non-finite probabilities) gets no label rather than class 0
    k = max(range(len(probs)), key=probs.__getitem__) if all(math.isfinite(p) for p in probs) else None
    return {"label": None if k is None else names[k], "class": k, "probabilities": dict(zip(names, probs))}


# ------------------------------------------------------------------------------------------------ upscale, refine


def _upscale(model, _, x: torch.Tensor) -> Image.Image:
    return picture(upscale.upscale(model, x))


def _refine(model, _, x: torch.Tensor) -> Image.Image:
    return picture(refine.refine(model, x))


def _none(model) -> list[Param]:
    return []


ENDPOINTS: dict[str, list[Endpoint]] = {
    "sample": [Endpoint("sample", "sample", "Draw samples", False, "png", _sample_params, _sample)],
    "explore": [Endpoint("explore", "explore", "Explore a latent code", False, "png", _explore_params, _explore)],
    "translate": [Endpoint("translate", "translate", "Translate an image", True, "png", _translate_params,
                           _translate, channels=_translate_channels)],
    "encode": [Endpoint("encode", "encode", "Encode an image (its latent codes)", True, "json", _none, _encode),
               Endpoint("reconstruct", "encode", "Reconstruct an image: x beside G(E(x))", True, "png", _none,
                        _reconstruct)],
    "score": [Endpoint("score", "score", "Anomaly score", True, "json", _score_params, _score),
              Endpoint("score-map", "score", "Where the anomaly is: x, G(z), heat map", True, "png", _score_params,
                       _score_map)],
    "classify": [Endpoint("classify", "classify", "Classify an image", True, "json", _none, _classify)],
    "upscale": [Endpoint("upscale", "upscale", "Upscale an image", True, "png", _none, _upscale,
                         growth=lambda model: model.upscaler()[1] ** 2)],
    "refine": [Endpoint("refine", "refine", "Refine a synthetic image", True, "png", _none, _refine)],
}


def endpoints_of(model) -> dict[str, Endpoint]:
    """The endpoints of the tasks `model` declares, by name, in the order of its tasks."""
    return {e.name: e for task in model.tasks for e in ENDPOINTS[task]}


def parse_params(name: str, params: list[Param], query: dict[str, str]) -> dict[str, Any]:
    """The query string of /api/NAME as typed values (defaults filled in); an unknown parameter is an error naming
    the valid ones."""
    by_name = {p.name: p for p in params}
    for key in query:
        if key not in by_name:
            raise GankitError(f"/api/{name} has no parameter '{key}'; valid: {', '.join(by_name) or 'none'}")
    return {key: (p.parse(query[key]) if key in query else p.default) for key, p in by_name.items()}
