"""Which library files a workflow script runs: its code dependencies, derived from its imports.

Snakemake re-runs a job when one of its inputs is newer than its outputs. Listing every
library module a rule uses by hand went stale (the estimator's module was missing from
every fit rule), so each rule's ``code`` input is computed when the DAG is built: the
script's imports of this package, followed transitively through the package's own
modules (imports inside functions included), plus the package ``__init__`` files that
importing a submodule runs and the helper modules of ``scripts/`` the script imports
(``_bootstrap``).

Hand-written with :mod:`ast` because it must see imports inside functions and must not
execute the code; the test suite cross-checks it against :mod:`modulefinder` from the
standard library, which finds imports from the compiled bytecode.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import sys
from functools import cache
from pathlib import Path

PACKAGE = "pbr"


def _module_file(name: str, src: Path) -> Path | None:
    """The file of module ``name`` (dotted) under ``src``, or None when it is not there."""
    base = src.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imported_names(tree: ast.AST, current: str, is_package: bool) -> set[str]:
    """Dotted names of every module an import statement in ``tree`` may load (absolute names)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the current module's package
                package = current.split(".") if is_package else current.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, node.module] if node.module else package)
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # submodules named in 'from'
    return names


def _parents(name: str) -> list[str]:
    """'pbr.a.b' -> ['pbr', 'pbr.a', 'pbr.a.b'] (importing a submodule runs each package's __init__)."""
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


@cache
def _direct(path: Path, src: Path) -> frozenset[Path]:
    """Files of this package that the module at ``path`` imports directly."""
    current = _module_name(path, src) if path.is_relative_to(src) else ""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[Path] = set()
    for name in _imported_names(tree, current, path.name == "__init__.py"):
        if name.split(".")[0] != PACKAGE:
            continue
        for part in _parents(name):
            module_file = _module_file(part, src)
            if module_file is not None:
                found.add(module_file)
    return frozenset(found)


def library_files(script: str | Path, src: str | Path) -> list[Path]:
    """Every file of the package under ``src`` that ``script`` imports, directly or through others."""
    src = Path(src).resolve()
    seen: set[Path] = set()
    todo = list(_direct(Path(script).resolve(), src))
    while todo:
        module_file = todo.pop()
        if module_file not in seen:
            seen.add(module_file)
            todo.extend(_direct(module_file, src))
    return sorted(seen)


def script_helpers(script: str | Path) -> list[Path]:
    """Modules of the script's own folder that it imports (e.g. ``_bootstrap``)."""
    script = Path(script).resolve()
    tree = ast.parse(script.read_text(), filename=str(script))
    names = _imported_names(tree, "", False)
    return sorted(script.parent / f"{n}.py" for n in names if (script.parent / f"{n}.py").is_file())


def code_inputs(script: str | Path, src: str | Path) -> list[str]:
    """The files a rule running ``script`` depends on besides the script itself, as paths relative
    to the working directory (a moved or copied project keeps its cache: Snakemake compares the
    set of input paths)."""
    files = [*script_helpers(script), *library_files(script, src)]
    return [os.path.relpath(module_file) for module_file in files]


def third_party_modules(files: list[Path]) -> set[str]:
    """Top-level names of the modules outside the standard library and this package that
    ``files`` import anywhere (inside functions too; relative imports and ``_``-prefixed names,
    such as the scripts' ``_bootstrap`` or typing-only ``_typeshed``, left out)."""
    names: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(Path(path).read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n != PACKAGE and not n.startswith("_") and n not in sys.stdlib_module_names}


def imported_distributions(scripts: list[Path], src: str | Path) -> dict[str, str]:
    """Distribution name -> installed version of every package outside the standard library that
    ``scripts`` import, directly or through this package's modules (:func:`library_files`);
    sorted by name. A module no installed distribution provides is listed as 'not installed'."""
    files = {Path(s).resolve() for s in scripts}
    for script in scripts:
        files.update(library_files(script, src))
    providers = importlib.metadata.packages_distributions()
    out: dict[str, str] = {}
    for module in third_party_modules(sorted(files)):
        for dist in providers.get(module, [module]):
            try:
                out[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                out[dist] = "not installed"
    return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))
