"""The library's import graph goes one way: shared leaves, then the stages in pipeline order.

Leaves (errors, contract, config, io, frames, flow, logs, source, dependencies, registry) import only leaves;
a stage imports leaves, itself and earlier stages, never a later one; no cycle between
modules; no private name (``_x``) imported from another module. Read with :mod:`ast`
(imports inside functions count too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PKG = SRC / "pbr"
LEAVES = {"pbr", "pbr.errors", "pbr.contract", "pbr.config", "pbr.io", "pbr.flow", "pbr.logs", "pbr.source"}
LEAVES |= {"pbr.dependencies", "pbr.frames"}
LEAF_PACKAGES = ("pbr.registry",)  # every module of these is a leaf
STAGES = [
    "synthetic",
    "extract",
    "link",
    "derive",
    "fit",
    "report",
    "simstudy",
]  # pipeline order; the study of the methods last


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _rank(module: str) -> int:
    if module in LEAVES or any(module == p or module.startswith(p + ".") for p in LEAF_PACKAGES):
        return -1
    return STAGES.index(module.split(".")[1])


def _imports(path: Path, modules: set[str]) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) for every import of a pbr module in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names if a.name.startswith("pbr")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pbr"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.append((sub, None) if sub in modules else (node.module, a.name))
    return out


MODULES = {_name(p): p for p in sorted(PKG.rglob("*.py"))}


def test_every_module_has_a_place():
    for m in MODULES:
        _rank(m)  # raises ValueError for a module in no stage and not a leaf


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_one_way_and_no_private_name_crosses(module):
    for target, name in _imports(MODULES[module], set(MODULES)):
        assert _rank(target) <= _rank(module) or target == "pbr", f"{module} imports the later {target}"
        if name is not None and target != module:
            assert not name.startswith("_"), f"{module} imports the private {target}.{name}"


def test_no_import_cycle():
    graph = {
        m: {t for t, _ in _imports(p, set(MODULES)) if t in MODULES and t != m} for m, p in MODULES.items()
    }
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in graph[m]:
            if t == "pbr":
                continue
            assert state.get(t) != 1, f"import cycle: {' -> '.join([*path, m, t])}"
            if t not in state:
                visit(t, [*path, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_the_checks_catch_a_violation(tmp_path):
    """The rank rule and the private-name rule fire on a made-up module."""
    bad = tmp_path / "bad.py"
    bad.write_text("from pbr.report import render\nfrom pbr.fit.design import _hidden\n")
    found = _imports(bad, set(MODULES))
    assert ("pbr.report.render", None) in found and ("pbr.fit.design", "_hidden") in found
    assert _rank("pbr.report.render") > _rank("pbr.fit.models")
