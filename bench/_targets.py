"""One way for every benchmark to print a target of issue #24 and hand it to ``bench_targets.py``.

:func:`target` prints ``  <name>: <measured>  MET | NOT MET | not measured`` and, when the
environment variable ``PBR_BENCH_TARGETS`` names a file, appends the same as one JSON line
(``bench`` the script's name, ``name``, ``measured``, ``verdict``), from which
``bench/bench_targets.py`` prints all the targets of its run in one table.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

VERDICTS = {True: "MET", False: "NOT MET", None: "not measured"}


def target(name: str, measured: str, met: bool | None, width: int = 36) -> str:
    """Print one target line (and record it when PBR_BENCH_TARGETS is set); return its verdict."""
    verdict = VERDICTS[None if met is None else bool(met)]
    print(f"  {name + ':':{width}s} {measured}  {verdict}", flush=True)
    out = os.environ.get("PBR_BENCH_TARGETS")
    if out:
        record = {"bench": Path(sys.argv[0]).stem, "name": name, "measured": measured, "verdict": verdict}
        with open(out, "a") as f:
            f.write(json.dumps(record) + "\n")
    return verdict
