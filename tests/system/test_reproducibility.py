"""Reproducibility of the whole pipeline on the tiny configuration.

(a) two fresh runs, in two temporary copies of the repository, give byte-identical results;
(b) a run killed (SIGKILL to its process group) during linkage, then re-run with the same
    command after ``snakemake --unlock``, completes with the same results as an uninterrupted
    run;
(c) a change to the outcome code re-runs derive_outcomes, tabulate_rates and what follows,
    and nothing before them.

Byte comparisons cover every file under results/ except (see ``result_digests``):

* ``results/logs/**``: log lines carry wall-clock timestamps and durations;
* ``results/benchmarks/**``: measured wall time, memory and I/O of each job;
* in ``results/report/report.html`` the run date (``&middot; run <date>``, the time the report
  was rendered) is blanked; the rest of the report, including that line's config hash and
  commit, is compared.

Runs are shared through module-scoped fixtures: the two fresh runs go at the same time (so
the comparison also covers different job interleavings), then the interrupted one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from workflow_utils import (
    SNAKEMAKE,
    TINY,
    UPSTREAM_OF_OUTCOMES,
    assert_same_results,
    copy_workflow,
    planned_jobs,
    result_digests,
    run_snakemake,
)

pytestmark = pytest.mark.reproducibility

RUN = [*TINY, "--cores", "2"]
RUN_TIMEOUT = 600


def start_run(workdir: Path, log: Path) -> subprocess.Popen:
    """Start a tiny run in its own process group (so it can be killed with all its jobs)."""
    with open(log, "w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [*SNAKEMAKE, *RUN], cwd=workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def finish(proc: subprocess.Popen, log: Path, timeout: int = RUN_TIMEOUT) -> str:
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        rc = "timeout"
    output = log.read_text(errors="replace")
    assert rc == 0, f"snakemake {' '.join(RUN)} failed ({rc}):\n{output[-6000:]}"
    return output


@pytest.fixture(scope="module")
def two_fresh_runs(tmp_path_factory):
    """Two independent tiny runs, started at the same time in two fresh copies."""
    works = [copy_workflow(tmp_path_factory.mktemp(f"fresh{i}")) for i in (1, 2)]
    logs = [w / "run.log" for w in works]
    procs = [start_run(w, log) for w, log in zip(works, logs, strict=True)]
    try:
        for proc, log in zip(procs, logs, strict=True):
            finish(proc, log)
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return works


@pytest.mark.slow
def test_two_fresh_runs_give_identical_results(two_fresh_runs):
    first, second = (result_digests(w) for w in two_fresh_runs)
    assert_same_results(first, second, "two fresh runs")


def linkage_started(workdir: Path) -> bool:
    results = workdir / "results"
    return (results / "link" / "model_deaths.json").exists() or any(
        (results / "logs" / "train_linkage").glob("*.log")
    )


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory):
    """A tiny run killed (SIGKILL to its whole process group) while linkage runs, then run again.

    SIGKILL is the hard case: Snakemake cannot clean up, so half-written outputs, their
    'incomplete' markers and the working-directory lock stay behind. The lock is removed with
    ``snakemake --unlock`` (what Snakemake itself tells the user to do); then the same command
    as before resumes: profiles/default sets rerun-incomplete, so the jobs that were killed
    are run again from scratch.
    """
    work = copy_workflow(tmp_path_factory.mktemp("interrupted"))
    log = work / "killed.log"
    proc = start_run(work, log)
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while not linkage_started(work):
            assert proc.poll() is None, f"run ended before linkage started:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, "linkage did not start in time"
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the run was not killed (exit {proc.returncode})"
    assert not (work / "results" / "report" / "report.html").exists()

    run_snakemake(work, *TINY, "--unlock")
    resumed = run_snakemake(work, *RUN, timeout=RUN_TIMEOUT).output
    return work, resumed


@pytest.mark.slow
def test_killed_run_resumes_to_identical_results(interrupted_run, two_fresh_runs):
    work, resumed = interrupted_run
    done = planned_jobs(resumed)
    assert "train_linkage" in done or "predict_links" in done, "the resumed run did not redo linkage"
    assert "generate_synthetic" not in done, "the resumed run redid work finished before the kill"
    assert_same_results(result_digests(two_fresh_runs[0]), result_digests(work), "killed + resumed vs fresh")


@pytest.mark.slow
def test_outcome_code_change_reruns_outcomes_and_downstream_only(two_fresh_runs, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(two_fresh_runs[0], work, symlinks=True)
    assert planned_jobs(run_snakemake(work, *TINY, "-n").output) == {}, "the finished run is not up to date"
    # what depends on derive_outcomes, from Snakemake's own DAG: force it, and everything after follows
    downstream = planned_jobs(run_snakemake(work, *TINY, "-n", "--forcerun", "derive_outcomes").output)
    assert {"derive_outcomes", "tabulate_rates", "fit_did", "render_report"} <= set(downstream)
    assert not set(downstream) & UPSTREAM_OF_OUTCOMES

    module = work / "src" / "pbr" / "derive" / "outcomes.py"
    module.write_text(module.read_text() + "\n# a comment: the code changed, the numbers do not\n")
    planned = planned_jobs(run_snakemake(work, *TINY, "-n").output)
    assert planned == downstream
