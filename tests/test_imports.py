"""The package's import graph has no cycles, lazy imports (inside functions) and type-only imports included: imports
only go down, so any module can be read, tested and reused without the ones above it."""

from __future__ import annotations

import ast
from pathlib import Path

import gankit

ROOT = Path(gankit.__file__).parent


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str) -> set[str]:
    """Every gankit module `path` imports anywhere in its text, with the packages each import runs on the way."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # `from . import models` imports a module
    targets: set[str] = set()
    for target in found:
        parts = target.split(".")
        targets |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}  # importing a.b.c runs a and a.b first
    own = {".".join(name.split(".")[:i]) for i in range(1, len(name.split(".")) + 1)}
    return {t for t in targets if t.startswith("gankit") and t not in own}


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    return {name: {t for t in imports_of(path, name) if t in files} for name, path in files.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_a_cycle_is_found(tmp_path):
    pkg = tmp_path / "gankit"
    (pkg / "low").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "low" / "__init__.py").write_text("from .a import f\n")
    (pkg / "low" / "a.py").write_text("def f():\n    from ..high import g\n")  # lazy, upward
    (pkg / "high.py").write_text("from .low import f\n")
    (pkg / "fine.py").write_text("from .low.a import f\n")
    assert cycles(graph(pkg)) == [["gankit.high", "gankit.low", "gankit.low.a"]]


# Packages each layer must not import (directly or lazily): what a trained model is used for sits above the systems,
# and the ways a model leaves gankit (serve, ONNX export) sit above everything but the CLI.
OUTWARD = ("gankit.serve", "gankit.onnx_export", "gankit.report")
FORBIDDEN = {
    "gankit.models": ("gankit.tasks", "gankit.cli", "gankit.evaluate", "gankit.api", "gankit.modelio",
                      "gankit.trained", "gankit.train", *OUTWARD),
    "gankit.tasks": ("gankit.cli", "gankit.evaluate", "gankit.api", "gankit.modelio", "gankit.trained", "gankit.train",
                     *OUTWARD),
    "gankit.train": ("gankit.tasks", "gankit.cli", "gankit.evaluate", "gankit.api", "gankit.modelio", *OUTWARD),
    "gankit.runtime": ("gankit.models", "gankit.train", *OUTWARD),
    "gankit.data": ("gankit.models", "gankit.tasks", "gankit.train", *OUTWARD),
    "gankit.nn": ("gankit.models", "gankit.tasks", "gankit.train", *OUTWARD),
    "gankit.metrics": ("gankit.models", "gankit.tasks", "gankit.train", *OUTWARD),
    "gankit.modelio": OUTWARD,
    "gankit.evaluate": ("gankit.cli", *OUTWARD),
    "gankit.serve": ("gankit.cli",),
    "gankit.onnx_export": ("gankit.cli", "gankit.serve"),
}


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{module} imports {target}" for module, targets in edges.items()
                  for layer, banned in FORBIDDEN.items() if module == layer or module.startswith(layer + ".")
                  for target in targets if any(target == b or target.startswith(b + ".") for b in banned))


def test_layers_import_only_downward():
    assert layer_violations(graph()) == []


def test_an_upward_import_is_found(tmp_path):
    pkg = tmp_path / "gankit"
    (pkg / "models").mkdir(parents=True)
    (pkg / "tasks").mkdir()
    for init in (pkg, pkg / "models", pkg / "tasks"):
        (init / "__init__.py").write_text("")
    (pkg / "models" / "dcgan.py").write_text("def f():\n    from ..tasks import translate\n")
    (pkg / "tasks" / "translate.py").write_text("")
    assert layer_violations(graph(pkg)) == ["gankit.models.dcgan imports gankit.tasks",
                                            "gankit.models.dcgan imports gankit.tasks.translate"]
