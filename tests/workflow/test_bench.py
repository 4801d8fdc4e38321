"""The linkage benchmark runs end to end on tiny data and prints figures that hang together.

Benchmarks are not timed here (their targets are checked by running them at scale 1.0);
this only keeps ``bench/bench_linkage.py`` and ``bench/bench_em_sessions.py`` working as the code under
it changes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _f1(out: str, register: str, method: str) -> float:
    """F1 of one row of the benchmark's 'quality at p >= ...' table."""
    row = re.search(rf"^\s*{register}\s+{method}\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s*$", out, re.M)
    assert row, f"no {register}/{method} row in:\n{out}"
    return float(row.group(1))


def _bench(script: str, args: list[str], timeout: int) -> subprocess.CompletedProcess:
    """Run ``bench/<script>`` with ``args`` in a fresh Python; its output captured, never raising."""
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


@pytest.mark.slow
def test_bench_linkage_prints_quality_and_ceiling_on_tiny_data():
    proc = _bench("bench_linkage.py", ["--scale", "0.02", "--noise", "floor"], timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "linkage at scale 0.02, seed 20120401, floor noise" in out
    for register in ("deaths", "offences"):
        assert _f1(out, register, "probabilistic") > _f1(out, register, "exact_key")
    ceiling = out[out.index("information ceiling") :]
    rows = re.findall(r"^\s*(deaths|offences)\s+\d+\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s+[\d.]+\s*$", ceiling, re.M)
    assert [r[0] for r in rows] == ["deaths", "offences"], ceiling
    for register, f1 in rows:
        # cells chosen with the truth on so few pairs: at least what the model reaches
        assert float(f1) >= _f1(out, register, "probabilistic") - 0.02
    gaps = re.findall(
        r"^(deaths|offences): F1 ([\d.]+) at p >= 0.5, (-?[\d.]+) below the ceiling ([\d.]+)", out, re.M
    )
    assert [g[0] for g in gaps] == ["deaths", "offences"], out
    for _, f1, gap, ceil in gaps:
        assert float(gap) == pytest.approx(float(ceil) - float(f1), abs=2e-4)
    assert len(re.findall(r"^(deaths|offences): spread over group/period: precision", out, re.M)) == 2
    calibration = out[out.index("calibration of the match probabilities") :]
    eces = re.findall(r"^(deaths|offences): ECE ([\d.]+) \(target <= 0.02: (met|NOT met)", calibration, re.M)
    assert [e[0] for e in eces] == ["deaths", "offences"], calibration
    for _, ece, verdict in eces:
        assert 0.0 <= float(ece) <= 1.0 and verdict == ("met" if float(ece) <= 0.02 else "NOT met")
    summary = out[out.index("F1 at the threshold, information ceiling and ECE by rule") :]
    rows = re.findall(
        r"^\s*(0\.6|0\.0)\s+20120401\s+(deaths|offences)\s+([\d.]+)\s+([\d.]+)\s+(-?[\d.]+)", summary, re.M
    )
    assert [(r[0], r[1]) for r in rows] == [("0.6", "deaths"), ("0.6", "offences")], summary
    for _, register, f1, ceil, gap in rows:
        assert float(f1) == pytest.approx(_f1(out, register, "probabilistic"), abs=1e-4)
        assert float(gap) == pytest.approx(float(ceil) - float(f1), abs=2e-4)


@pytest.mark.slow
def test_bench_em_sessions_prints_each_designs_figures_on_tiny_data():
    proc = _bench("bench_em_sessions.py", ["--scale", "0.02", "current"], timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(
        r"^current (deaths|offences): F1 ([\d.]+), ceiling ([\d.]+) \(gap (-?[\d.]+)\)", proc.stdout, re.M
    )
    assert [r[0] for r in rows] == ["deaths", "offences"], proc.stdout
    for _, f1, ceiling, gap in rows:
        assert 0.5 < float(f1) <= 1 and float(gap) == pytest.approx(float(ceiling) - float(f1), abs=2e-4)
    assert "current offences area m-probabilities" in proc.stdout


@pytest.mark.slow
def test_bench_linkage_mi_stores_a_replicate_and_summarises_it(tmp_path):
    """One differential replicate at a tiny scale (deaths raised so both cohorts have some): every
    cohort x linked outcome gets a stored row and a summary block with a target line."""
    args = ["--scale", "0.02", "--replicates", "0-0", "--scenario", "differential", "--bootstrap-reps", "19"]
    args += ["--jobs", "1", "--death-rate", "0.05", "--out", str(tmp_path)]
    proc = _bench("bench_linkage_mi.py", args, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stored = list(tmp_path.glob("s0.02_seed7000_pilot_post_x3_a2_b19_d0.05/differential/0000.parquet"))
    assert len(stored) == 1, sorted(map(str, tmp_path.rglob("*")))
    import pandas as pd

    rows = pd.read_parquet(stored[0])
    assert sorted(zip(rows["cohort"], rows["outcome"], strict=True)) == [
        ("alcohol", "acquisitive_crime"),
        ("alcohol", "drug_related_death"),
        ("drug", "acquisitive_crime"),
        ("drug", "drug_related_death"),
    ]
    assert (rows["m"] == 20).all() and (rows["events_true"] > 0).all()
    targets = re.findall(r"^  target: .*: (open \((\d+) replicates so far\)|met|NOT met)$", proc.stdout, re.M)
    assert len(targets) == 4, proc.stdout
    estimable = (rows["mi_headline_beta"].notna() & rows["true_crv1_beta"].notna()).sum()
    assert sorted(int(n) for _, n in targets) == [0] * (4 - estimable) + [1] * estimable, proc.stdout
    assert estimable >= 2, rows[["cohort", "outcome", "events_true", "mi_headline_beta"]]


@pytest.mark.slow
def test_bench_registers_prints_each_register_and_its_growth_on_tiny_data():
    """Two register sizes at a tiny cohort: a row per register and multiplier, the registers
    growing with the multiplier, and an exponent per register whose candidate pairs grow with them."""
    args = ["--scale", "0.02", "--multipliers", "1", "2"]
    proc = _bench("bench_registers.py", args, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(r"^\s*(deaths|offences)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\d+)\s", proc.stdout, re.M)
    assert [(r[0], r[1]) for r in rows] == [
        ("deaths", "1.00"),
        ("deaths", "2.00"),
        ("offences", "1.00"),
        ("offences", "2.00"),
    ], proc.stdout
    for one, two in (rows[:2], rows[2:]):
        assert int(two[2]) > 1.5 * int(one[2]) and int(two[4]) > int(one[4])  # rows, candidate pairs
    figures, phases = proc.stdout.split("growth exponents, log")[1].split("growth exponents of the phases")
    growth = re.findall(r"^\s*(deaths|offences)\s+1 -> 2\s+([\d.]+)\s", figures, re.M)
    assert [g[0] for g in growth] == ["deaths", "offences"], proc.stdout
    assert all(0 < float(g[1]) <= 1.5 for g in growth), growth  # candidate pairs
    assert (
        "EM initials, area, sex" in phases
        and len(re.findall(r"^\s*(deaths|offences)\s+1 -> 2", phases, re.M)) == 2
    )


@pytest.mark.slow
def test_bench_side_by_side_reruns_the_link_rules_alone_and_leaves_the_run_as_it_was(tiny_run, tmp_path):
    """Part (a) on a finished tiny run: a row per register and step with the in-run, alone and bare
    times, the ratio of the totals; the run's link outputs, benchmark files and logs come back
    byte for byte, with their file times (so the run stays up to date)."""
    import shutil

    work = tmp_path / "run"
    shutil.copytree(tiny_run, work, symlinks=True)
    shutil.copy(ROOT / "tests" / "configs" / "tiny.yaml", work / "bench_scale.yaml")  # the run's settings
    res = work / "results"
    watched = [
        *(res / "link").glob("*.parquet"),
        *(res / "link").glob("model_*.json"),
        *(res / "benchmarks" / "predict_links").glob("*.tsv"),
        *(res / "benchmarks" / "train_linkage").glob("*.tsv"),
        *(res / "logs" / "predict_links").glob("*.log"),
    ]
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in watched}
    assert len(before) > 10
    proc = _bench("bench_side_by_side.py", ["--workdir", str(work), "--parts", "link"], timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = re.findall(
        r"^\s*(deaths|offences)\s+(train|predict)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s",
        proc.stdout,
        re.M,
    )
    assert [(r[0], r[1]) for r in rows] == [
        ("deaths", "train"),
        ("deaths", "predict"),
        ("offences", "train"),
        ("offences", "predict"),
    ], proc.stdout
    for _, _, _, alone, bare, ratio in rows:  # ratio = alone / bare, from the unrounded seconds
        a, b, r = float(alone), float(bare), float(ratio)
        assert a > 0 and b > 0.05 and (a - 0.05) / (b + 0.05) - 0.006 <= r <= (a + 0.05) / (b - 0.05) + 0.006
    assert re.search(r"link stage pipeline / bare splink <= 1.2: [\d.]+\s+(MET|NOT MET)", proc.stdout)
    assert "predict_links (alone) spent" in proc.stdout
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in watched}
    assert after == before
    from workflow_utils import TINY, planned_jobs, run_snakemake

    assert planned_jobs(run_snakemake(work, *TINY, "-n").output) == {}  # nothing left to re-run


@pytest.mark.parametrize(
    "script", sorted(p.name for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_"))
)
def test_every_benchmark_prints_its_usage(script):
    """``--help`` parses: argparse formats every help string only then (a stray % fails there)."""
    proc = _bench(script, ["--help"], timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout and "--help" in proc.stdout
