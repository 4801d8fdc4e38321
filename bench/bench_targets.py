"""Every target of issue #24, measured and printed MET / NOT MET by one command.

Usage::

    .venv/bin/python bench/bench_targets.py --workdir /tmp/targets            # all of it
    .venv/bin/python bench/bench_targets.py --workdir /tmp/targets --scales 1  # no growth table
    .venv/bin/python bench/bench_targets.py --workdir /tmp/targets --skip-national

Runs, one after the other (never two heavy benchmarks at once), each writing its full output to
``<workdir>/<benchmark>.log``:

1. ``bench_pipeline.py --scales <scales> --keep <workdir>/pipeline``: the whole run per scale
   (default 0.25 0.5 1 2: the growth table), per-rule time and memory, the no-op and report-only
   re-runs; targets: paper scale in 5 minutes and 4 GiB, scale 2 in 2.1 x and 8 GiB;
2. ``bench_side_by_side.py`` on the scale-1 run: the link stage against bare splink and the fit
   stage against bare pyfixest (``--libraries``), each within 1.2 x;
3. ``bench_registers.py --national``: linkage against national-size registers (3.5 million
   deaths, 10 million offence records) at scale 1 in 10 minutes and 6 GiB (``--skip-national``
   leaves it out: it needs about 11 GiB free and a quarter of an hour);
4. ``profile_resources.py`` on the scale-1 run: the SLURM profile's resources against the
   rules' measured needs.

Then prints every target line the benchmarks recorded (``bench/_targets.py``), and exits 1 when
any benchmark failed to run. A target not met is printed, not an error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def run(name: str, args: list[str], workdir: Path, env: dict[str, str]) -> int:
    """Run bench/<name>.py with ``args``, its output to <workdir>/<name>.log; return its exit code."""
    log = workdir / f"{name}.log"
    print(f"[{time.strftime('%H:%M:%S')}] {name} {' '.join(args)} (output: {log}) ...", flush=True)
    t0 = time.perf_counter()
    with open(log, "w") as out:
        rc = subprocess.call(
            [sys.executable, str(BENCH / f"{name}.py"), *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    print(
        f"[{time.strftime('%H:%M:%S')}] {name}: exit {rc} after {time.perf_counter() - t0:.0f} s", flush=True
    )
    return rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, required=True, help="where the runs and logs are kept")
    ap.add_argument("--scales", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--libraries", nargs="+", default=["pyfixest"], help="bare fit libraries (side by side)")
    ap.add_argument("--skip-national", action="store_true", help="leave out the national-size linkage")
    args = ap.parse_args()
    if 1.0 not in args.scales:
        sys.exit("--scales must include 1 (the paper scale the targets are set at)")
    args.workdir.mkdir(parents=True, exist_ok=True)
    records = args.workdir / "targets.jsonl"
    records.unlink(missing_ok=True)
    env = {**os.environ, "PBR_BENCH_TARGETS": str(records)}
    paper = args.workdir / "pipeline" / "scale_1"
    pipeline_args = [
        "--scales",
        *map(str, args.scales),
        "--cores",
        str(args.cores),
        "--keep",
        str(paper.parent),
    ]
    steps = [
        ("bench_pipeline", pipeline_args),
        ("bench_side_by_side", ["--workdir", str(paper), "--libraries", *args.libraries]),
        *([] if args.skip_national else [("bench_registers", ["--national"])]),
        ("profile_resources", [str(paper)]),
    ]
    failed = []
    for name, step_args in steps:
        rc = run(name, step_args, args.workdir, env)
        # profile_resources exits 1 when a rule does not fit: a target verdict, not a failure
        if rc != 0 and not (name == "profile_resources" and rc == 1):
            failed.append(f"{name} (exit {rc}; see {args.workdir / (name + '.log')})")
        if name == "bench_pipeline" and not (paper / "results" / "benchmarks").is_dir():
            print("the scale-1 run left no benchmarks: the steps that read it are skipped")
            break

    rows = [json.loads(line) for line in records.read_text().splitlines()] if records.exists() else []
    print(f"\nTargets of issue #24 ({len(rows)}), this machine, {args.cores} cores")
    width = max((len(r["name"]) for r in rows), default=10) + 1
    for r in rows:
        print(f"  {r['name'] + ':':{width}s} {r['measured']}  {r['verdict']}   [{r['bench']}]")
    met = sum(r["verdict"] == "MET" for r in rows)
    print(
        f"\n{met} of {len(rows)} met" + (f"; benchmarks that failed: {'; '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
