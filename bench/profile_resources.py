"""Check the SLURM profile's resources against what the rules were measured to need (issue #24).

Usage::

    .venv/bin/python bench/bench_pipeline.py --scales 1 --cores 2 --keep /tmp/paper1
    .venv/bin/python bench/profile_resources.py /tmp/paper1/scale_1

Reads every rule's Snakemake benchmark files (``results/benchmarks/<rule>[/...].tsv``: peak RSS
``max_rss`` in MB and wall seconds ``s``) from a finished run and the ``set-resources`` of
``profiles/slurm/config.yaml`` (``--profile``), and prints per rule: jobs, the largest peak RSS,
the longest job, the profile's ``mem_mb`` and ``runtime``, their headroom over the measurement,
and a verdict. A rule's resources fit when

- ``mem_mb`` is at least ``--mem-headroom`` (1.3) times its measured peak RSS and at least that
  peak plus ``--mem-margin-mb`` (500): a job above ``mem_mb`` is killed by SLURM's cgroup, and a
  job's peak varies with the data and with the node's libraries;
- ``runtime`` (minutes) is at least ``--time-headroom`` (3) times its longest job: SLURM ends a
  job at its time limit, and cluster nodes may be slower than this machine or shared.

It also proposes values (``mem_mb``: 1.5 x the peak, rounded up to 100 MB and at least the peak
plus 1,000 MB; ``runtime``: 10 x the longest job, at least 10 minutes), which the profile's
comments cite with the run they came from. Rules of the run missing from the profile, and
profile entries for rules the run did not measure, are listed. Exit status 1 when any measured
rule does not fit (so it can gate a release check), else 0.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _targets import target
from bench_pipeline import read_benchmarks

ROOT = Path(__file__).resolve().parents[1]


def proposed(peak_mb: float, longest_s: float) -> tuple[int, int]:
    """(mem_mb, runtime minutes) proposed for a rule with this peak RSS and longest job."""
    mem = max(1.5 * peak_mb, peak_mb + 1000)
    return int(math.ceil(mem / 100.0) * 100), int(max(10, math.ceil(10 * longest_s / 60.0)))


def print_markdown(measured: dict, default: dict, listed: dict) -> None:
    """The measured figures beside the profile's resources, as docs/cluster.md's Markdown table."""
    print(
        "\n| rule | jobs | peak RSS (one job) | longest job | profile: `mem_mb` | profile: `runtime` (min) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for rule, st in sorted(measured.items(), key=lambda kv: -(kv[1].max_rss_mb or 0)):
        res = {**default, **(listed.get(rule) or {})}
        peak = f"{st.max_rss_mb or 0:,.0f} MiB"
        print(
            f"| {rule} | {st.jobs} | {peak} | {st.max_s:.1f} s | {res.get('mem_mb')} | {res.get('runtime')} |"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a finished run's directory (holding results/benchmarks)")
    ap.add_argument("--profile", type=Path, default=ROOT / "profiles" / "slurm" / "config.yaml")
    ap.add_argument("--mem-headroom", type=float, default=1.3)
    ap.add_argument("--mem-margin-mb", type=float, default=500.0)
    ap.add_argument("--time-headroom", type=float, default=3.0)
    ap.add_argument(
        "--markdown", action="store_true", help="also print docs/cluster.md's table of the figures"
    )
    args = ap.parse_args()

    results = args.run / "results"
    if not (results / "benchmarks").is_dir():
        sys.exit(f"{results / 'benchmarks'}: no benchmark files; run the workflow there first")
    measured = read_benchmarks(results)
    profile = yaml.safe_load(args.profile.read_text())
    default = profile.get("default-resources", {})
    listed = profile.get("set-resources", {}) or {}

    print(f"measured: {args.run} ({sum(st.jobs for st in measured.values())} jobs); profile: {args.profile}")
    print(
        f"fits when mem_mb >= {args.mem_headroom:g} x peak and >= peak + {args.mem_margin_mb:.0f} MB, "
        f"runtime >= {args.time_headroom:g} x longest job\n"
    )
    head = (
        f"  {'rule':30s} {'jobs':>4s} {'peak MB':>8s} {'longest s':>9s} {'mem_mb':>7s} {'x peak':>6s} "
        f"{'runtime':>7s} {'x longest':>9s}  {'verdict':10s} proposed"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))
    misfits = 0
    for rule, st in sorted(measured.items(), key=lambda kv: -(kv[1].max_rss_mb or 0)):
        res = {**default, **(listed.get(rule) or {})}
        mem, runtime = float(res.get("mem_mb", 0) or 0), float(res.get("runtime", 0) or 0)
        peak = st.max_rss_mb or 0.0
        mem_ok = mem >= args.mem_headroom * peak and mem >= peak + args.mem_margin_mb
        time_ok = runtime * 60 >= args.time_headroom * st.max_s
        fits = mem_ok and time_ok
        misfits += not fits
        why = (
            "fits"
            if fits
            else "NO: " + "/".join(n for n, ok in (("mem", mem_ok), ("time", time_ok)) if not ok)
        )
        pm, pt = proposed(peak, st.max_s)
        source = "" if rule in listed else " (default-resources)"
        print(
            f"  {rule:30s} {st.jobs:4d} {peak:8.0f} {st.max_s:9.1f} {mem:7.0f} {mem / max(peak, 1):6.2f} "
            f"{runtime:7.0f} {runtime * 60 / max(st.max_s, 0.1):9.1f}  {why:10s} mem_mb {pm}, runtime {pt}{source}"
        )
    if args.markdown:
        print_markdown(measured, default, listed)
    unmeasured = sorted(set(listed) - set(measured))
    if unmeasured:
        print(f"\nin the profile, not measured by this run: {', '.join(unmeasured)}")
    print()
    target(
        "SLURM profile's resources fit the measured rules",
        f"{len(measured) - misfits} of {len(measured)} rules ({args.run})",
        misfits == 0,
    )
    return 1 if misfits else 0


if __name__ == "__main__":
    sys.exit(main())
