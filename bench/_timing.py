"""Shared helper of the benchmark scripts: run Python code in a fresh process, measure it."""

from __future__ import annotations

import subprocess
import sys
import time


def timed(code: str) -> tuple[float, float, str]:
    """Run ``code`` in a fresh Python under /usr/bin/time; return (wall s, peak RSS GiB, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    kib = int(proc.stderr.strip().splitlines()[-1])
    return wall, kib / 2**20, proc.stdout
