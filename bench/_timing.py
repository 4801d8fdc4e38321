"""Shared helper of the benchmark scripts: call a bench function in a fresh process, measure it.

Peak memory is only meaningful for a process that did nothing else, so each measured step
runs in a fresh Python under ``/usr/bin/time``. The step is an ordinary function of a bench
script (importable, testable, linted), not code held in a string: :func:`timed` runs this
file as a program, which imports the function from its file and calls it with keyword
arguments passed as JSON. Whatever the function prints is returned as ``stdout``.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(step: Callable[..., object], **kwargs: object) -> tuple[float, float, str]:
    """Call ``step(**kwargs)`` in a fresh Python under /usr/bin/time; return (wall s, peak RSS GiB, stdout).

    ``step`` must be a module-level function of a file (a bench script); ``kwargs`` must be
    JSON-serialisable (paths are passed as strings)."""
    target = f"{Path(inspect.getfile(step)).resolve()}:{step.__name__}"
    args = json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in kwargs.items()})
    cmd = ["/usr/bin/time", "-f", "%M", sys.executable, __file__, target, args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{target} failed:\n{proc.stderr[-3000:]}")
    kib = int(proc.stderr.strip().splitlines()[-1])
    return wall, kib / 2**20, proc.stdout


def _call(target: str, kwargs_json: str) -> None:
    """Import ``file.py:function`` and call it with the JSON keyword arguments."""
    file, name = target.rsplit(":", 1)
    sys.path.insert(0, str(ROOT / "src"))  # this checkout's library, as the scripts use
    sys.path.insert(0, str(Path(file).parent))
    spec = importlib.util.spec_from_file_location(Path(file).stem, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    getattr(module, name)(**json.loads(kwargs_json))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="call FILE:FUNCTION with JSON keyword arguments")
    ap.add_argument("target")
    ap.add_argument("kwargs")
    a = ap.parse_args()
    _call(a.target, a.kwargs)
