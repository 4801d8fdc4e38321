"""Helpers for tests that run the real workflow in a throw-away copy of the repository."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = [
    "Snakefile",
    "config",
    "workflow",
    "scripts",
    "src",
    "report",
    "profiles",
    "environment.yml",
    "tests/configs",
]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY = ["--configfile", "tests/configs/tiny.yaml"]  # the tiny synthetic run of the test suite
TEST_KEY = "pbr-test-key-5c1f9e0b7d2a4e38"  # the pseudonymisation key tests export as $PBR_LINK_KEY

#: the rules before derive_outcomes in the DAG: a change to the outcomes must not re-run them
UPSTREAM_OF_OUTCOMES = {
    "generate_synthetic",
    "validate_extracts",
    "link_persons",
    "link_records",
    "train_linkage",
    "predict_links",
    "assess_linkage",
    "build_journeys",
}
#: every rule of a full run
ALL_RULES = UPSTREAM_OF_OUTCOMES | {
    "derive_outcomes",
    "tabulate_rates",
    "fit_did",
    "fit_linkage_sensitivity",
    "fit_linkage_negative_control",
    "fit_imputed_links",
    "combine_imputations",
    "bound_linked_outcomes",
    "infer_few_cluster",
    "fit_robustness",
    "fit_composition",
    "fit_pilots",
    "fit_power",
    "collect_results",
    "render_report",
    "all",
}


def copy_workflow(dest: Path) -> Path:
    """Copy what the workflow needs (no results, no .snakemake) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for item in COPIED:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=ignore, dirs_exist_ok=True)
        else:
            (dest / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / item)
    return dest


def run_snakemake(workdir: Path, *args: str, check: bool = True, env: dict | None = None, timeout: int = 900):
    """Run snakemake in ``workdir``; return the CompletedProcess (stdout and stderr joined).
    ``env`` adds to the environment; a value of None removes that variable."""
    full_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}  # None: unset
    proc = subprocess.run(
        [*SNAKEMAKE, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    proc.output = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.output[-6000:]}")
    return proc


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table ({} when nothing is to be done)."""
    counts: dict[str, int] = {}
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("Job stats:"):
            for row in lines[i + 3 :]:
                m = re.match(r"^\s*(\w+)\s+(\d+)\s*$", row)
                if not m:
                    break
                if m.group(1) != "total":
                    counts[m.group(1)] = int(m.group(2))
            break
    return counts


# Byte comparison of two runs' results (tests/system: reproducibility, cluster)

EXCLUDED_DIRS = ("logs", "benchmarks")  # under results/: timings, timestamps (see the module docstring)


REPORT = Path("report") / "report.html"  # relative to results/; compared with its run date blanked


RUN_DATE = re.compile(r"(&middot; run )[^<\n]*")


def blank_run_date(html: bytes) -> bytes:
    """The report with its one varying value, the run date, replaced by a fixed string."""
    text = html.decode()
    hits = RUN_DATE.findall(text)
    assert len(hits) == 1, f"expected exactly one run-date line in the report, found {len(hits)}"
    return RUN_DATE.sub(r"\1<run date>", text).encode()


def result_digests(workdir: Path) -> dict[str, str]:
    """SHA-256 of every file under ``workdir/results`` (relative path -> hex digest), exclusions applied.

    Excluded: results/logs/** and results/benchmarks/** (timestamps, durations, measured
    memory). The report is hashed with its run date blanked (``blank_run_date``).
    """
    results = workdir / "results"
    digests = {}
    for path in sorted(results.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(results)
        if rel.parts[0] in EXCLUDED_DIRS:
            continue
        data = path.read_bytes()
        if rel == REPORT:
            data = blank_run_date(data)
        digests[str(rel)] = hashlib.sha256(data).hexdigest()
    return digests


def assert_same_results(a: dict[str, str], b: dict[str, str], what: str) -> None:
    """Both runs wrote the same files with the same bytes; name every difference otherwise."""
    assert a, "no result files to compare"
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    differ = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    assert not (only_a or only_b or differ), (
        f"{what}: results differ\n  only in first: {only_a}\n  only in second: {only_b}\n  different bytes: {differ}"
    )
    assert REPORT.as_posix() in a, "the report was not written"


def edit_keeping_size_and_date(f: Path) -> None:
    """Another digit in the first data row (same size), then the file dated a thousand seconds older."""
    st = f.stat()
    lines = f.read_text().split("\n")
    row = lines[1]
    i = max(k for k, ch in enumerate(row) if ch.isdigit())
    lines[1] = row[:i] + str((int(row[i]) + 1) % 10) + row[i + 1 :]
    f.write_text("\n".join(lines))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns - 10**12))
    assert f.stat().st_size == st.st_size
