"""The benchmarks' shared tools: target lines, the SLURM profile check, the processes at the peak."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import _targets  # noqa: E402
import bench_pipeline  # noqa: E402


def test_target_prints_the_verdict_and_records_it_when_asked(tmp_path, monkeypatch, capsys):
    out = tmp_path / "targets.jsonl"
    monkeypatch.setenv("PBR_BENCH_TARGETS", str(out))
    assert _targets.target("paper scale <= 5 min", "11.6 min", False) == "NOT MET"
    assert _targets.target("no-op <= 5 s", "2.4 s", True) == "MET"
    assert _targets.target("scale 2", "not run", None) == "not measured"
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].strip().startswith("paper scale <= 5 min:") and printed[0].endswith("11.6 min  NOT MET")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["verdict"] for r in records] == ["NOT MET", "MET", "not measured"]
    assert records[1] == {
        "bench": Path(sys.argv[0]).stem,
        "name": "no-op <= 5 s",
        "measured": "2.4 s",
        "verdict": "MET",
    }


def test_target_writes_nothing_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("PBR_BENCH_TARGETS", raising=False)
    monkeypatch.chdir(tmp_path)
    _targets.target("x", "1", True)
    assert list(tmp_path.iterdir()) == []


def _run_dir(tmp_path: Path, measured: dict[str, list[tuple[float, float]]]) -> Path:
    """A finished run's benchmark files: rule -> [(max_rss MB, seconds) per job]."""
    for rule, jobs in measured.items():
        for i, (rss, s) in enumerate(jobs):
            tsv = tmp_path / "run" / "results" / "benchmarks" / rule / f"job{i}.tsv"
            tsv.parent.mkdir(parents=True, exist_ok=True)
            tsv.write_text(f"s\th:m:s\tmax_rss\tmax_vms\n{s}\t0:00:01\t{rss}\t1\n")
    return tmp_path / "run"


@pytest.mark.parametrize(
    ("rss", "seconds", "fits"),
    [
        (1000.0, 60.0, True),  # 2000 MB >= 1.3 x 1000 and >= 1000 + 500; 10 min >= 3 x 60 s
        (1600.0, 60.0, False),  # 2000 MB < 1.3 x 1600
        (1000.0, 201.0, False),  # 10 min < 3 x 201 s
    ],
)
def test_profile_resources_says_which_rules_fit(tmp_path, rss, seconds, fits):
    run = _run_dir(tmp_path, {"fit_did": [(rss * 0.5, 1.0), (rss, seconds)]})
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "default-resources": {"mem_mb": 1000, "runtime": 5},
                "set-resources": {"fit_did": {"mem_mb": 2000, "runtime": 10}},
            }
        )
    )
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "profile_resources.py"), str(run), "--profile", str(profile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == (0 if fits else 1), proc.stdout + proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.strip().startswith("fit_did"))
    assert f"{rss:.0f}" in row.split() and ("fits" in row.split()) == fits
    assert proc.stdout.rstrip().endswith("MET")
    assert ("NOT MET" in proc.stdout.splitlines()[-1]) != fits


def test_profile_resources_proposes_headroom_over_the_measurement():
    import profile_resources

    assert profile_resources.proposed(4411.0, 44.8) == (6700, 10)  # 1.5 x, rounded up to 100 MB
    assert profile_resources.proposed(500.0, 90.0) == (1500, 15)  # peak + 1,000 MB; 10 x the longest job


def test_the_peak_names_each_snakemake_job_by_its_rule(tmp_path):
    script = tmp_path / ".snakemake" / "scripts" / "tmpab12_x.fit_did.py"
    script.parent.mkdir(parents=True)
    script.write_text("import time\nblock = b'x' * (120 * 2**20)\ntime.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.time() + 20
        parts: list[tuple[str, float]] = []
        while time.time() < deadline:
            parts = bench_pipeline.peak_parts(bench_pipeline.tree_rss(proc.pid))
            if parts and parts[0][1] >= 0.1:  # GiB: the block written
                break
            time.sleep(0.1)
        assert parts and parts[0][0] == "fit_did" and parts[0][1] >= 0.1, parts
    finally:
        proc.kill()
        proc.wait()
    # Snakemake itself, as the bench starts it (python -m snakemake; here a stand-in module that waits)
    (tmp_path / "snakemake.py").write_text("import time\ntime.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-m", "snakemake"], env={"PYTHONPATH": str(tmp_path)})
    try:
        time.sleep(0.5)
        assert bench_pipeline.process_label(proc.pid) == "snakemake"
    finally:
        proc.kill()
        proc.wait()


def test_kept_runs_print_each_rules_growth_and_the_targets(tmp_path):
    """--from-kept reads the runs back: a rule whose job-seconds double from scale 0.5 to 1 grows with
    exponent 1, its memory (x 1.41) with 0.5; the targets are judged from the kept figures."""
    for scale, seconds, rss, wall in ((0.5, 10.0, 1000.0, 200.0), (1.0, 20.0, 1414.2, 380.0)):
        d = tmp_path / f"scale_{scale:g}"
        _run_dir(d, {"fit_did": [(rss, seconds / 2), (rss / 2, seconds / 2)]})
        (d / "run" / "results").rename(d / "results")
        (d / "bench_run.log").write_text("")
        saved = {
            "scale": scale,
            "returncode": 0,
            "wall_s": wall,
            "peak_tree_gib": 3.5,
            "peak_single_gib": 3.0,
        }
        saved |= {"peak_at_s": 12.0, "peak_processes": [["predict_links", 3.1], ["snakemake", 0.3]]}
        saved |= {
            "noop_s": 2.0,
            "noop_jobs": {},
            "report_s": 20.0,
            "report_jobs": {"render_report": 1, "all": 1},
        }
        (d / "bench_run.json").write_text(json.dumps(saved))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_pipeline.py"), "--from-kept", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = out[out.index("Per rule: summed job-seconds") :].splitlines()
    seconds = next(line for line in lines if line.strip().startswith("fit_did")).split()
    assert seconds[1:4] == ["s", "10", "20"] and float(seconds[-1]) == pytest.approx(1.0)
    memory = lines[
        lines.index(next(line for line in lines if line.strip().startswith("fit_did"))) + 1
    ].split()
    assert memory[:3] == ["MiB", "1000", "1414"] and float(memory[-1]) == pytest.approx(0.5, abs=0.01)
    assert "at the peak (12 s into the run), GiB: predict_links 3.10, snakemake 0.30" in out
    assert re.search(r"paper scale \(1.0\) <= 5 min:\s+6.3 min \(380 s\)\s+NOT MET", out)
    assert re.search(r"paper scale \(1.0\) <= 4 GiB peak:\s+3.50 GiB\s+MET", out)
    assert re.search(r"no-op re-run <= 5 s:\s+2.0 s \(scale 1\), jobs none\s+MET", out)


def test_a_rules_peak_is_the_larger_of_its_benchmark_and_its_logged_peak(tmp_path):
    run = _run_dir(tmp_path, {"link_records": [(2881.0, 100.0), (900.0, 20.0)], "fit_did": [(480.0, 2.0)]})
    logs = run / "results" / "logs" / "link_records"
    logs.mkdir(parents=True)
    (logs / "offences.log").write_text(
        "10:00:00 INFO x: link_records[offences]: done in 99.1 s, peak memory 5341 MiB\\n"
    )
    (logs / "deaths.log").write_text(
        "10:00:00 INFO x: link_records[deaths]: done in 19.0 s\\n"
    )  # older format
    (run / "results" / "logs" / "fit_did.log").write_text("x: fit_did: done in 1.2 s, peak memory 300 MiB\\n")
    rules = bench_pipeline.read_benchmarks(run / "results")
    assert rules["link_records"].max_rss_mb == 5341.0  # the benchmark sampled 2,881 MiB
    assert rules["fit_did"].max_rss_mb == 480.0  # its benchmark's sample is the larger


def test_logged_runs_end_with_their_peak_memory(tmp_path):
    """The logged peak is the kernel's high-water mark of the process (VmHWM) in MiB: a wrong unit
    (KiB or bytes) would be off by a factor of 1,024."""
    from pbr.logs import logged

    log_file = tmp_path / "job.log"
    with logged(log_file, "job"):
        block = b"x" * (64 * 2**20)
    del block
    hwm_kib = next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    last = log_file.read_text().strip().splitlines()[-1]
    peak = float(bench_pipeline.PEAK_LINE.search(last).group(1))
    assert hwm_kib / 1024 - 2 <= peak <= hwm_kib / 1024 + 1, (last, hwm_kib)
