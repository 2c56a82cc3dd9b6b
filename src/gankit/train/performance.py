"""Speed options that every system inherits through the trainer: channels-last memory and torch.compile.

Both are transformations of the networks a model holds as attributes (G, D, E, ...), so a new system gets
them without a line of its own. A system lists in `no_compile` the networks torch.compile cannot serve (a
network differentiated twice, as WGAN-GP's critic: compiled graphs do not support double backward).
"""

from __future__ import annotations

import os
import shutil
import warnings

import torch
from torch import nn


def networks(model: nn.Module) -> dict[str, nn.Module]:
    """The model's top-level networks by attribute name."""
    return dict(model.named_children())


def wants_channels_last(setting: bool | str, model: nn.Module, device: torch.device) -> bool:
    """Resolve `train.channels_last`. "auto" follows the measurements in docs/benchmarks/speed.md: on the CPU, NHWC
    (oneDNN's layout) for image models unless the system says it measured slower there (`cpu_channels_last`);
    off for vector data, and off on GPUs until measured there (benchmarks/gpu.py records both)."""
    if setting != "auto":
        return bool(setting)
    if device.type != "cpu" or not getattr(getattr(model, "info", None), "is_image", False):
        return False
    return getattr(model, "cpu_channels_last", True)


def to_channels_last(model: nn.Module) -> None:
    """NHWC weights (4-D tensors only; others are untouched). Convolutions then run in the layout that
    oneDNN on CPUs and tensor cores on GPUs prefer, without transposes; the batches follow (BatchStream)."""
    model.to(memory_format=torch.channels_last)


def match_state_layouts(opt: torch.optim.Optimizer) -> None:
    """Give each optimizer state tensor its parameter's memory layout. A checkpoint stores tensors contiguous, so
    after a resume in NHWC the moments would be NCHW; fused Adam walks parameter, gradient and moments as flat
    memory and would pair the wrong elements (measured: a different update, not a rounding error)."""
    for group in opt.param_groups:
        for p in group["params"]:
            state = opt.state.get(p, {})
            for key, v in state.items():
                if torch.is_tensor(v) and v.shape == p.shape and v.stride() != p.stride():
                    state[key] = torch.empty_like(p, dtype=v.dtype).copy_(v)


def compile_problem(device: torch.device) -> str | None:
    """Why torch.compile cannot work here, checked before compiling (a failure inside a training step would
    cost the step), or None."""
    if not hasattr(torch, "compile"):
        return "this PyTorch has no torch.compile"
    if device.type == "cpu":
        cxx = os.environ.get("CXX") or next((c for c in ("g++", "c++", "clang++") if shutil.which(c)), None)
        if cxx is None or not shutil.which(cxx):
            return "no C++ compiler found for CPU code generation (install g++ or set CXX)"
    if device.type not in ("cpu", "cuda"):
        return f"torch.compile is not supported on {device.type} here"
    return None


def compile_networks(model: nn.Module, device: torch.device) -> list[str]:
    """Compile each network in place (state_dict keys stay as they are) with static shapes: a training run's
    shapes do not change, and dynamic=False is the mode that works on CPUs too. Returns the compiled names;
    what cannot be compiled is said in a warning and runs eagerly."""
    problem = compile_problem(device)
    if problem:
        warnings.warn(f"--compile ignored: {problem}; training runs uncompiled", stacklevel=2)
        return []
    import torch._dynamo

    # A graph that fails to compile falls back to eager execution with a logged warning instead of an error.
    torch._dynamo.config.suppress_errors = True
    skipped = getattr(model, "no_compile", {})
    compiled = []
    for name, net in networks(model).items():
        if name in skipped:
            warnings.warn(f"--compile: {name} stays uncompiled ({skipped[name]})", stacklevel=2)
            continue
        if not any(True for _ in net.parameters()):
            continue
        net.compile(dynamic=False)
        compiled.append(name)
    return compiled
