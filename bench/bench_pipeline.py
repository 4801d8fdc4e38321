"""Benchmark the whole pipeline end to end: per-rule time and memory, total, no-op and report-only re-runs.

Usage::

    .venv/bin/python bench/bench_pipeline.py                       # scale 1.0 (the published study)
    .venv/bin/python bench/bench_pipeline.py --scales 0.25 0.5 1 2 # growth with scale
    .venv/bin/python bench/bench_pipeline.py --scales 0.02 --cores 2 --keep /tmp/bench

For every scale the workflow is copied into a fresh temporary directory (as the tests do,
with ``tests/workflow_utils.copy_workflow``) and run with plain ``snakemake --cores N``
(profiles/default), the scale set through an extra ``--configfile``. Measured:

* per rule, from Snakemake's benchmark files (``results/benchmarks/**.tsv``, columns ``s``
  and ``max_rss``): jobs, summed and longest wall time, largest peak RSS; rules without a
  ``benchmark:`` directive get their wall time from the timestamps in Snakemake's log
  (1 s resolution, no memory);
* the wall time of the whole run, and its peak RSS: the largest sum of the resident memory
  of Snakemake and all its descendants, sampled every 0.2 s (jobs running at the same time
  add up), next to the largest single process in the same samples (``getrusage`` of the
  children cannot serve: it keeps the maximum over every earlier run of this script), and the
  processes holding that peak, each named by its rule (a Snakemake script job runs
  ``.snakemake/scripts/tmp<random>.<script>.py``) with its share;
* the whole run's wall time and peaks are also written to ``bench_run.json`` in the run's
  directory (``bench/bench_side_by_side.py`` reads it);
* a no-op re-run (nothing to do) and a report-only change (a comment appended to
  ``report/report.css``; merely touching it re-runs nothing: Snakemake 9 compares checksums).

Targets (issue #24, this 2-core machine): scale 1.0 in <= 5 min and <= 4 GiB; scale 2 in <= 2.1
times the scale-1 time and <= 8 GiB; no-op re-run <= 5 s; report-only change <= 30 s (printed through
``bench/_targets.py``, so ``bench/bench_targets.py`` lists them with the other benchmarks'). With
several scales it prints time and memory per scale and the growth exponent (log ratio of time or
memory over log ratio of scale) between consecutive scales.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from workflow_utils import SNAKEMAKE, copy_workflow, planned_jobs  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _targets import target  # noqa: E402

GIB = 2**30
TARGET_TOTAL_S = 300.0
TARGET_PEAK_GIB = 4.0
TARGET_SCALE2_RATIO = 2.1
TARGET_SCALE2_GIB = 8.0
TARGET_NOOP_S = 5.0
TARGET_REPORT_S = 30.0
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")


@dataclass
class RuleStats:
    jobs: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    max_rss_mb: float | None = None
    source: str = "benchmark"


@dataclass
class RunResult:
    scale: float
    workdir: Path
    returncode: int
    wall_s: float
    peak_tree_gib: float
    peak_single_gib: float
    peak_at_s: float = 0.0
    peak_processes: list[tuple[str, float]] = field(default_factory=list)
    rules: dict[str, RuleStats] = field(default_factory=dict)
    noop_s: float | None = None
    noop_jobs: dict[str, int] | None = None
    report_s: float | None = None
    report_jobs: dict[str, int] | None = None


def tree_rss(root_pid: int) -> dict[int, int]:
    """RSS in bytes of ``root_pid`` and each of its descendants, by pid (read from /proc)."""
    children: dict[int, list[int]] = defaultdict(list)
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2 :].split()
            pid = int(entry.name)
            children[int(fields[1])].append(pid)
            rss[pid] = int(fields[21]) * page
        except (OSError, ValueError, IndexError):
            continue
    tree, stack = {}, [root_pid]
    while stack:
        pid = stack.pop()
        tree[pid] = rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return tree


def tree_rss_bytes(root_pid: int) -> tuple[int, int]:
    """(summed RSS, largest single RSS) of ``root_pid`` and all its descendants (read from /proc)."""
    tree = tree_rss(root_pid)
    return sum(tree.values()), max(tree.values(), default=0)


def process_label(pid: int) -> str:
    """What a process of the run is: the rule of a Snakemake script job (its temporary script is
    named ``tmp<random>.<script>.py``), ``snakemake``, or its program's name."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return "?"
    for arg in argv:
        m = re.search(r"\.snakemake/scripts/tmp[^/.]+\.(\w+)\.py$", arg)
        if m:
            return m.group(1)
    if any(Path(a).name == "snakemake" for a in argv[:3]):  # snakemake, or python [-m] snakemake
        return "snakemake"
    return Path(argv[0]).name if argv else "?"


def peak_parts(tree: dict[int, int]) -> list[tuple[str, float]]:
    """The processes holding at least 50 MiB of a sampled tree, as (label, GiB), largest first."""
    big = sorted(((rss, pid) for pid, rss in tree.items() if rss >= 50 * 2**20), reverse=True)
    return [(process_label(pid), rss / GIB) for rss, pid in big]


def run_measured(
    cmd: list[str], cwd: Path, log: Path
) -> tuple[int, float, int, int, float, list[tuple[str, float]]]:
    """Run ``cmd``; return (exit code, wall seconds, peak summed RSS of its process tree, peak RSS
    of its largest single process, seconds into the run of the summed peak, the processes at that
    peak as (label, GiB)), memory in bytes, sampled every 0.2 s."""
    peak = single = 0
    peak_at, parts = 0.0, []
    with open(log, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, single, peak_at, parts
            while not done.is_set():
                tree = tree_rss(proc.pid)
                total = sum(tree.values())
                if total > peak:
                    peak, peak_at, parts = total, time.perf_counter() - t0, peak_parts(tree)
                single = max(single, max(tree.values(), default=0))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rc = proc.wait()
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
    return rc, wall, peak, single, peak_at, parts


#: the last line of a job's log (pbr.logs.logged): "<step>: done in <s> s, peak memory <MiB> MiB"
PEAK_LINE = re.compile(r": done in [\d.]+ s, peak memory ([\d.]+) MiB")


def logged_peaks(results: Path) -> dict[str, float]:
    """Per rule, the largest peak memory (MiB) its jobs logged (results/logs/<rule>[/...].log): the
    kernel's high-water mark of each job's process, exact where a benchmark's samples miss a peak."""
    peaks: dict[str, float] = {}
    logs = results / "logs"
    for log in sorted(logs.rglob("*.log")) if logs.is_dir() else []:
        rel = log.relative_to(logs)
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        found = PEAK_LINE.findall(log.read_text(errors="replace"))
        if found:
            peaks[rule] = max(peaks.get(rule, 0.0), *map(float, found))
    return peaks


def read_benchmarks(results: Path) -> dict[str, RuleStats]:
    """Per-rule stats from results/benchmarks/<rule>[/<wildcards>...].tsv; a rule's peak RSS is the
    larger of the benchmark's samples (every 0.5 s for the first 15 s of a job, then every 30 s)
    and the peak its jobs logged (:func:`logged_peaks`)."""
    rules: dict[str, RuleStats] = {}
    bench = results / "benchmarks"
    for tsv in sorted(bench.rglob("*.tsv")):
        rel = tsv.relative_to(bench)
        rule = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        with open(tsv) as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            continue
        row = rows[-1]
        st = rules.setdefault(rule, RuleStats())
        s = float(row["s"])
        rss = float(row["max_rss"]) if row.get("max_rss") not in (None, "", "NA", "-") else None
        st.jobs += 1
        st.total_s += s
        st.max_s = max(st.max_s, s)
        if rss is not None:
            st.max_rss_mb = max(st.max_rss_mb or 0.0, rss)
    for rule, peak in logged_peaks(results).items():
        if rule in rules:
            rules[rule].max_rss_mb = max(rules[rule].max_rss_mb or 0.0, peak)
    return rules


def times_from_log(log: Path) -> dict[str, RuleStats]:
    """Per-rule wall times from the timestamps Snakemake prints before each job's start and finish."""
    starts: dict[str, tuple[str, datetime]] = {}
    rules: dict[str, RuleStats] = {}
    stamp: datetime | None = None
    pending_rule: str | None = None
    for line in log.read_text(errors="replace").splitlines():
        m = STAMP.match(line.strip())
        if m:
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
            continue
        m = re.match(r"^(?:local)?rule (\w+):$", line.strip())
        if m:
            pending_rule = m.group(1)
            continue
        m = re.match(r"^\s*jobid: (\d+)$", line)
        if m and pending_rule and stamp:
            starts[m.group(1)] = (pending_rule, stamp)
            pending_rule = None
            continue
        m = re.match(r"^Finished jobid: (\d+) \(Rule: (\w+)\)", line.strip())
        if m and stamp and m.group(1) in starts:
            rule, t0 = starts.pop(m.group(1))
            s = (stamp - t0).total_seconds()
            st = rules.setdefault(rule, RuleStats(source="log"))
            st.jobs += 1
            st.total_s += s
            st.max_s = max(st.max_s, s)
    return rules


def timed(cmd: list[str], cwd: Path, log: Path) -> tuple[float, str, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    log.write_text(proc.stdout + proc.stderr)
    return wall, proc.stdout + proc.stderr, proc.returncode


def slurm_startup_delay() -> float:
    """Seconds ``scontrol show config`` takes when SLURM's client is installed (0 otherwise).

    snakemake-executor-plugin-slurm 2.8.0 runs it while Snakemake imports its plugins, on every
    start, local runs included; with a slurm.conf whose controller is not running it waits
    about 9 s for a reply that never comes.
    """
    if not shutil.which("scontrol"):
        return 0.0
    t0 = time.perf_counter()
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(["scontrol", "show", "config"], capture_output=True, timeout=15, check=False)
    return time.perf_counter() - t0


def bench_scale(scale: float, cores: int, base: Path) -> RunResult:
    work = copy_workflow(base / f"scale_{scale:g}")
    (work / "bench_scale.yaml").write_text(f"synthetic:\n  scale: {scale!r}\n")
    cmd = [*SNAKEMAKE, "--cores", str(cores), "--configfile", "bench_scale.yaml"]
    print(f"[scale {scale:g}] running in {work} ...", flush=True)
    rc, wall, peak, single, peak_at, parts = run_measured(cmd, work, work / "bench_run.log")
    res = RunResult(scale, work, rc, wall, peak / GIB, single / GIB, peak_at, parts)
    (work / "bench_run.json").write_text(
        json.dumps(
            {
                "scale": scale,
                "cores": cores,
                "returncode": rc,
                "wall_s": round(wall, 2),
                "peak_tree_gib": round(res.peak_tree_gib, 3),
                "peak_single_gib": round(res.peak_single_gib, 3),
                "peak_at_s": round(peak_at, 1),
                "peak_processes": [[label, round(gib, 3)] for label, gib in parts],
            },
            indent=2,
        )
        + "\n"
    )
    res.rules = read_benchmarks(work / "results")
    for rule, st in times_from_log(work / "bench_run.log").items():
        if rule not in res.rules and rule != "all":
            res.rules[rule] = st
    print(f"[scale {scale:g}] exit {rc}, wall {wall:.1f} s, peak RSS {res.peak_tree_gib:.2f} GiB", flush=True)
    if rc != 0:
        tail = (work / "bench_run.log").read_text(errors="replace").splitlines()[-40:]
        print("\n".join("    " + t for t in tail))
        return res

    res.noop_s, out, _ = timed(cmd, work, work / "bench_noop.log")
    res.noop_jobs = planned_jobs(out)
    # a real edit: Snakemake 9 does not re-run a job whose input was only touched (same checksum)
    with open(work / "report" / "report.css", "a") as css:
        css.write("\n/* bench_pipeline: a report-only change */\n")
    res.report_s, out, _ = timed(cmd, work, work / "bench_report.log")
    res.report_jobs = planned_jobs(out)
    saved = json.loads((work / "bench_run.json").read_text())
    saved |= {"noop_s": round(res.noop_s, 2), "noop_jobs": res.noop_jobs or {}}
    saved |= {"report_s": round(res.report_s, 2), "report_jobs": res.report_jobs or {}}
    (work / "bench_run.json").write_text(json.dumps(saved, indent=2) + "\n")
    return res


def fmt_mem(mb: float | None) -> str:
    return "n/a" if mb is None else f"{mb / 1024:.2f} GiB" if mb >= 1024 else f"{mb:.0f} MiB"


def verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "met" if ok else "NOT MET"


def print_rules(res: RunResult) -> None:
    print(f"\nPer-rule wall time and peak memory, scale {res.scale:g} ({res.workdir})")
    head = f"  {'rule':22s} {'jobs':>4s} {'sum s':>9s} {'max s':>8s} {'peak RSS':>10s}  source"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for rule, st in sorted(res.rules.items(), key=lambda kv: -kv[1].total_s):
        print(
            f"  {rule:22s} {st.jobs:4d} {st.total_s:9.1f} {st.max_s:8.1f} {fmt_mem(st.max_rss_mb):>10s}  "
            f"{st.source}"
        )
    print(
        f"  {'whole run (wall)':22s} {'':4s} {res.wall_s:9.1f} {'':8s} {res.peak_tree_gib:7.2f} GiB  sampled"
    )
    print(f"  largest single process peak RSS: {res.peak_single_gib:.2f} GiB")
    held = ", ".join(f"{label} {gib:.2f}" for label, gib in res.peak_processes)
    print(f"  at the peak ({res.peak_at_s:.0f} s into the run), GiB: {held or 'n/a'}")
    if res.noop_s is not None:
        print(f"  no-op re-run: {res.noop_s:.1f} s, jobs {res.noop_jobs or 'none'}")
        print(f"  report-only change (edit report/report.css): {res.report_s:.1f} s, jobs {res.report_jobs}")


def print_targets(results: list[RunResult]) -> None:
    by_scale = {r.scale: r for r in results}
    paper = by_scale.get(1.0)
    ok_runs = [r for r in results if r.returncode == 0]
    rep = paper if paper is not None and paper.returncode == 0 else (ok_runs[-1] if ok_runs else None)
    print("\nTargets")
    time_name = f"paper scale (1.0) <= {TARGET_TOTAL_S / 60:g} min"
    peak_name = f"paper scale (1.0) <= {TARGET_PEAK_GIB:g} GiB peak"
    if paper is None:
        target(time_name, "not run", None)
        target(peak_name, "not run", None)
    elif paper.returncode != 0:
        target(time_name, f"run failed (exit {paper.returncode})", False)
        target(peak_name, f"{paper.peak_tree_gib:.2f} GiB until it failed", False)
    else:
        target(
            time_name, f"{paper.wall_s / 60:.1f} min ({paper.wall_s:.0f} s)", paper.wall_s <= TARGET_TOTAL_S
        )
        target(peak_name, f"{paper.peak_tree_gib:.2f} GiB", paper.peak_tree_gib <= TARGET_PEAK_GIB)
    noop_name, report_name = (
        f"no-op re-run <= {TARGET_NOOP_S:g} s",
        f"report-only change <= {TARGET_REPORT_S:g} s",
    )
    if rep is None or rep.noop_s is None:
        target(noop_name, "not run", None)
        target(report_name, "not run", None)
    else:
        noop_ok = rep.noop_s <= TARGET_NOOP_S and not rep.noop_jobs
        target(
            noop_name, f"{rep.noop_s:.1f} s (scale {rep.scale:g}), jobs {rep.noop_jobs or 'none'}", noop_ok
        )
        report_ok = rep.report_s <= TARGET_REPORT_S and set(rep.report_jobs or {}) <= {"render_report", "all"}
        target(
            report_name,
            f"{rep.report_s:.1f} s (scale {rep.scale:g}), jobs {sorted(rep.report_jobs or {})}",
            report_ok,
        )
    two = by_scale.get(2.0)
    two_name = f"scale 2 <= {TARGET_SCALE2_RATIO:g} x scale 1 and <= {TARGET_SCALE2_GIB:g} GiB"
    if two is None:
        target(two_name, "not run", None)
    elif two.returncode != 0 or paper is None or paper.returncode != 0:
        target(
            two_name,
            f"exit {two.returncode}, peak {two.peak_tree_gib:.2f} GiB (no scale-1 run to compare)",
            False,
        )
    else:
        ratio = two.wall_s / paper.wall_s
        ok = ratio <= TARGET_SCALE2_RATIO and two.peak_tree_gib <= TARGET_SCALE2_GIB
        target(two_name, f"{two.wall_s / 60:.1f} min ({ratio:.2f} x), peak {two.peak_tree_gib:.2f} GiB", ok)


def print_growth(results: list[RunResult]) -> None:
    if len(results) < 2:
        return
    runs = sorted(results, key=lambda r: r.scale)
    first = next((r for r in runs if r.returncode == 0), runs[0])  # ratios vs the smallest scale that ran
    print(
        f"\nGrowth with scale (ratios vs scale {first.scale:g}; exponent vs the previous scale: 1 = linear)"
    )
    head = f"  {'scale':>6s} {'wall s':>8s} {'peak GiB':>9s} {'x scale':>8s} {'x time':>7s} {'x mem':>6s}"
    print(head + f" {'time exp':>9s} {'mem exp':>8s}")
    prev = None
    for r in runs:
        te = me = ""
        if prev is not None and r.returncode == 0 and prev.returncode == 0:
            ls = math.log(r.scale / prev.scale)
            te = f"{math.log(r.wall_s / prev.wall_s) / ls:.2f}"
            me = f"{math.log(r.peak_tree_gib / prev.peak_tree_gib) / ls:.2f}"
        status = "" if r.returncode == 0 else f"  (failed, exit {r.returncode})"
        xt = xm = ""
        if r.returncode == 0 and first.returncode == 0:
            xt, xm = f"{r.wall_s / first.wall_s:.2f}", f"{r.peak_tree_gib / first.peak_tree_gib:.2f}"
        print(
            f"  {r.scale:6g} {r.wall_s:8.1f} {r.peak_tree_gib:9.2f} {r.scale / first.scale:8.2f} "
            f"{xt:>7s} {xm:>6s} {te:>9s} {me:>8s}{status}"
        )
        prev = r
    print_rule_growth([r for r in runs if r.returncode == 0])


def print_rule_growth(runs: list[RunResult]) -> None:
    """Per rule: its summed job-seconds and its largest job's peak RSS at each scale, and their growth
    exponents between consecutive scales (1 = linear in the data); rules with a benchmark file at
    every scale, largest summed time at the largest scale first."""
    if len(runs) < 2:
        return
    rules = [
        r
        for r in runs[-1].rules
        if all(r in run.rules and run.rules[r].source == "benchmark" for run in runs)
    ]
    rules.sort(key=lambda name: -runs[-1].rules[name].total_s)
    scales = " ".join(f"{r.scale:>7g}" for r in runs)
    steps = " ".join(f"{f'{a.scale:g}->{b.scale:g}':>9s}" for a, b in itertools.pairwise(runs))
    print(
        "\nPer rule: summed job-seconds and largest job's peak RSS (MiB) per scale; exponents vs the previous scale"
    )
    print(f"  {'rule':30s} {'':4s} {scales}   exponents {steps}")
    for name in rules:
        for label, get in (("s", lambda st: st.total_s), ("MiB", lambda st: st.max_rss_mb or float("nan"))):
            values = [get(run.rules[name]) for run in runs]
            exps = [
                math.log(b / a) / math.log(rb.scale / ra.scale) if a > 0 and b > 0 else float("nan")
                for (a, b), (ra, rb) in zip(itertools.pairwise(values), itertools.pairwise(runs), strict=True)
            ]
            print(
                f"  {name if label == 's' else '':30s} {label:>4s} "
                + " ".join(f"{v:7.0f}" for v in values)
                + "             "
                + " ".join(f"{e:9.2f}" for e in exps)
            )


def load_kept(scale_dir: Path) -> RunResult:
    """A finished run kept by ``--keep``, read back (bench_run.json, the benchmark files, the log)."""
    saved = json.loads((scale_dir / "bench_run.json").read_text())
    res = RunResult(
        saved["scale"],
        scale_dir,
        saved["returncode"],
        saved["wall_s"],
        saved["peak_tree_gib"],
        saved["peak_single_gib"],
        saved.get("peak_at_s", 0.0),
        [tuple(p) for p in saved.get("peak_processes", [])],
    )
    res.noop_s, res.noop_jobs = saved.get("noop_s"), saved.get("noop_jobs")
    res.report_s, res.report_jobs = saved.get("report_s"), saved.get("report_jobs")
    res.rules = read_benchmarks(scale_dir / "results")
    for rule, st in times_from_log(scale_dir / "bench_run.log").items():
        if rule not in res.rules and rule != "all":
            res.rules[rule] = st
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0], help="synthetic scales (default 1.0)")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--keep", type=Path, default=None, help="run in this directory and keep it")
    ap.add_argument(
        "--from-kept",
        type=Path,
        default=None,
        help="run nothing: print the tables of the runs kept in this directory (its scale_* directories)",
    )
    args = ap.parse_args()
    if args.from_kept is not None:
        dirs = [d for d in args.from_kept.glob("scale_*") if (d / "bench_run.json").exists()]
        kept = sorted((load_kept(d) for d in dirs), key=lambda r: r.scale)
        if not kept:
            sys.exit(f"{args.from_kept}: no kept runs (scale_*/bench_run.json)")
        for r in kept:
            print_rules(r)
        print_growth(kept)
        print_targets(kept)
        return 0

    base = args.keep or Path(tempfile.mkdtemp(prefix="pbr-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"cores {args.cores}, scales {args.scales}, work under {base}", flush=True)
    delay = slurm_startup_delay()
    if delay > 2:
        print(
            f"WARNING: `scontrol show config` takes {delay:.0f} s here (SLURM configured, controller down);\n"
            "  the SLURM plugin runs it at every Snakemake start, so each run below includes that delay.",
            flush=True,
        )
    results = []
    try:
        for scale in args.scales:
            results.append(bench_scale(scale, args.cores, base))
        for r in results:
            print_rules(r)
        print_growth(results)
        print_targets(results)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0 if all(r.returncode == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
