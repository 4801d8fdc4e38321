"""The workflow on a real (one-node) SLURM cluster, through profiles/slurm.

The module fixture makes sure a SLURM cluster answers on this machine: if one already does
(``scontrol ping``, and ``sinfo`` shows a usable node in partition ``debug``), it is used
and left running. Otherwise tests/cluster/slurm-local-setup.sh ``up`` installs Debian's
slurmctld, slurmd, slurm-client and munge with apt-get (when missing), writes a one-node
configuration (partition ``debug``, no accounting database) and starts the daemons (a
controller it starts drops any saved job state: jobs of a machine stopped mid-run would
otherwise be requeued and take the node); at the
end ``down`` stops exactly the daemons it started, and the slurm.conf is removed again if
``up`` created it (see ``stop_cluster``). That needs root; without it the tests are skipped,
except under CI (``CI`` set), where not getting a cluster is a failure.

The tiny configuration then runs in a temporary copy of the repository with
``--workflow-profile profiles/slurm`` (plus ``--slurm-keep-successful-logs``, so the per-job
SLURM logs stay as evidence); the session's local tiny run (``--cores 2``, tests/conftest.py)
is the reference. Checked:

* every job Snakemake reports as remote (``rule X:``, not ``localrule X:``) was a SLURM job:
  one SLURM log file per job under .snakemake/slurm_logs/rule_<rule>/, named by its
  SLURM_JOB_ID, and for each of those ids SLURM's own job completion record (the
  jobcomp/filetxt log that ``sacct -c`` reads; there is no slurmdbd) says COMPLETED, on
  partition ``debug``, in this run's working directory, with Snakemake's SLURM run ID as the
  job name and the profile's time limit and memory for the rule;
* every file under results/ equals the local run's byte for byte, with the exclusions of
  tests/system/test_reproducibility.py: results/logs/** (timestamps, durations), results/benchmarks/**
  (measured time and memory) and the run date in the report;
* a second SLURM invocation has nothing to do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from workflow_utils import ROOT, TINY, assert_same_results, copy_workflow, result_digests, run_snakemake

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

SETUP = ROOT / "tests" / "cluster" / "slurm-local-setup.sh"
PARTITION = "debug"  # what slurm-local-setup.sh names its (default) partition
SLURM_CONF = Path("/etc/slurm/slurm.conf")  # where slurm-local-setup.sh writes the configuration
# the profile as a user runs it; only the logs of successful jobs are kept in addition
SLURM_RUN = [*TINY, "--workflow-profile", "profiles/slurm", "--slurm-keep-successful-logs"]
# rules that must have been SLURM jobs (the expensive ones; cheap ones may be local rules)
MUST_BE_REMOTE = {"generate_synthetic", "validate_extracts", "train_linkage", "predict_links", "fit_did"}
RUN_TIMEOUT = 900  # a clean run took 274 s on a quiet machine; a hang (the sacct trap) fails here


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def sh(*cmd: str, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def cluster_answers() -> bool:
    """A SLURM controller answers and the partition has a usable node."""
    if not (shutil.which("sinfo") and shutil.which("scontrol")):
        return False
    try:
        ping = sh("scontrol", "ping", timeout=15)
        nodes = sh("sinfo", "-h", "-p", PARTITION, "-o", "%T", timeout=15)
    except subprocess.TimeoutExpired:
        return False
    states = nodes.stdout.split()
    return "UP" in ping.stdout and any(s.rstrip("*") in ("idle", "mixed", "allocated") for s in states)


def unavailable(reason: str) -> None:
    if in_ci():  # CI runs as root on a fresh Debian: there, no cluster is a failure, not a skip
        pytest.fail(f"SLURM cluster not available under CI: {reason}")
    pytest.skip(reason)


def stop_cluster(conf_existed: bool) -> subprocess.CompletedProcess:
    """``down`` (stops only the daemons the script started), then remove a slurm.conf that ``up`` created.

    A slurm.conf naming a controller that no longer runs would make every later Snakemake
    start on this machine about 9 s slower: snakemake-executor-plugin-slurm 2.8.0 runs
    ``scontrol show config`` whenever Snakemake loads its plugins, local runs included, and
    scontrol waits for the absent controller. Without a slurm.conf it fails at once.
    """
    down = sh(str(SETUP), "down", timeout=120)
    if not conf_existed:
        SLURM_CONF.unlink(missing_ok=True)
    return down


@pytest.fixture(scope="module")
def slurm_cluster():
    """A one-node SLURM cluster: an existing one, or one started here (and stopped at the end)."""
    if cluster_answers():
        yield "existing"  # not ours: use it, leave it running
        return
    if os.geteuid() != 0:
        unavailable("no SLURM cluster answers, and starting one needs root (apt-get, daemons)")
    if not shutil.which("apt-get") and not shutil.which("slurmctld"):
        unavailable("no SLURM cluster answers, and SLURM cannot be installed here (no apt-get)")
    conf_existed = SLURM_CONF.exists()
    up = sh(str(SETUP), "up", timeout=900)
    if up.returncode != 0 or not cluster_answers():
        down = stop_cluster(conf_existed)
        unavailable(f"{SETUP.name} up failed ({up.returncode}):\n{up.stdout}{up.stderr}\n{down.stdout}")
    try:
        yield "started"
    finally:
        down = stop_cluster(conf_existed)
        assert down.returncode == 0, f"{SETUP.name} down failed:\n{down.stdout}{down.stderr}"


@pytest.fixture(scope="module")
def runs(slurm_cluster, tiny_run, tmp_path_factory):
    """The tiny configuration through SLURM, and the session's local tiny run (tests/conftest.py) as
    the reference; returns both copies and the SLURM log."""
    slurm = copy_workflow(tmp_path_factory.mktemp("slurm"))
    try:
        slurm_out = run_snakemake(slurm, *SLURM_RUN, timeout=RUN_TIMEOUT).output
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the SLURM run took over {RUN_TIMEOUT} s\n{cluster_state(exc)}")
    return slurm, tiny_run, slurm_out


def cluster_state(exc: subprocess.TimeoutExpired) -> str:
    """What a stalled SLURM run leaves for diagnosis: Snakemake's last lines, queue, node, controller log."""

    def text(data) -> str:
        return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")

    parts = [f"--- snakemake (last lines):\n{(text(exc.stdout) + text(exc.stderr))[-4000:]}"]
    for cmd in (["squeue", "--states=all"], ["sinfo", "-R"], ["scontrol", "show", "node"]):
        try:
            out = sh(*cmd, timeout=30)
            parts.append(f"--- {' '.join(cmd)}:\n{out.stdout}{out.stderr}")
        except subprocess.TimeoutExpired:
            parts.append(f"--- {' '.join(cmd)}: no answer in 30 s")
    log = Path("/var/log/slurm/slurmctld.log")
    if log.exists():
        parts.append(
            f"--- {log} (last lines):\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        )
    return "\n".join(parts)


def remote_jobs(output: str) -> dict[str, str]:
    """Snakemake jobid -> rule, for every job the main process handed to the executor (``rule X:``)."""
    jobs, rule = {}, None
    for line in output.splitlines():
        m = re.match(r"^(local)?rule (\w+):$", line.strip())
        if m:
            rule = None if m.group(1) else m.group(2)
            continue
        m = re.match(r"^\s+jobid: (\d+)$", line)
        if m and rule:
            jobs[m.group(1)] = rule
            rule = None
    return jobs


def slurm_logs(workdir: Path) -> dict[str, str]:
    """SLURM job id -> rule, from the plugin's per-job logs: .snakemake/slurm_logs/rule_<rule>/.../<id>.log."""
    logs = {}
    for log in (workdir / ".snakemake" / "slurm_logs").rglob("*.log"):
        rel = log.relative_to(workdir / ".snakemake" / "slurm_logs")
        assert rel.parts[0].startswith("rule_"), f"unexpected SLURM log {rel}"
        logs[log.stem] = rel.parts[0].removeprefix("rule_")
    return logs


def completion_records(workdir: Path, run_id: str) -> dict[str, dict[str, str]]:
    """SLURM's job completion records of the jobs of Snakemake run ``run_id`` in ``workdir``: job id -> fields.

    Read from the jobcomp/filetxt log (JobCompLoc; what ``sacct -c`` shows, with the
    requested memory too): one ``Key=Value ...`` line per finished job. The log outlives
    runs and job ids restart with a fresh controller, so a record counts only with this
    run's ID as its job name (pytest's temporary directories repeat across machines too).
    """
    config = sh("scontrol", "show", "config", timeout=30).stdout
    m = re.search(r"^JobCompLoc\s*=\s*(\S+)", config, re.M)
    assert m, "SLURM has no job completion log (JobCompLoc)"
    records = {}
    for line in Path(m.group(1)).read_text().splitlines():
        rec = dict(re.findall(r"(\w+)=(\S*)", line))
        if rec.get("Name") == run_id and Path(rec.get("WorkDir", "/")).resolve() == workdir.resolve():
            records[rec["JobId"]] = rec
    return records


def requested(profile: dict, rule: str) -> dict:
    """The resources profiles/slurm gives a rule (its set-resources over the default-resources)."""
    return {**profile["default-resources"], **profile.get("set-resources", {}).get(rule, {})}


def load_profile() -> dict:
    return yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())


def test_profile_sets_squeue_status_command():
    """Without slurmdbd the plugin's default status command (sacct) waits forever; the profile must say squeue."""
    profile = load_profile()
    assert profile["executor"] == "slurm"
    assert profile["slurm-status-command"] == "squeue"
    assert profile["rerun-incomplete"] is True
    assert "slurm_partition" not in profile["default-resources"], (
        "the partition is the user's (or the default)"
    )


def test_jobs_ran_as_slurm_jobs(runs):
    slurm, _, output = runs
    remote = remote_jobs(output)
    assert set(remote.values()) >= MUST_BE_REMOTE, f"expected SLURM jobs for {MUST_BE_REMOTE}, got {remote}"
    run_id = re.search(r"SLURM run ID: (\S+)", output)
    assert run_id, "Snakemake did not use the SLURM executor"

    # one log per remote job, named by its SLURM_JOB_ID
    logs = slurm_logs(slurm)
    assert sorted(logs.values()) == sorted(remote.values()), "one SLURM log per remote job expected"
    # SLURM's own record of each of those job ids: completed, on the cluster's default
    # partition, in this working directory, under this run's ID, with the profile's resources
    records = completion_records(slurm, run_id.group(1))
    assert set(records) == set(logs), f"SLURM job records {sorted(records)} != SLURM logs {sorted(logs)}"
    profile = load_profile()
    for job_id, rule in logs.items():
        rec = records[job_id]
        assert rec["JobState"] == "COMPLETED", f"SLURM job {job_id} ({rule}): {rec}"
        assert rec["Partition"] == PARTITION
        want = requested(profile, rule)
        assert rec["TimeLimit"] == str(want["runtime"]), f"{rule}: time limit {rec['TimeLimit']} min"
        assert f"mem={want['mem_mb']}M" in rec["Tres"], f"{rule}: {rec['Tres']}"


def test_slurm_results_equal_local_results(runs):
    slurm, local, _ = runs
    assert_same_results(result_digests(local), result_digests(slurm), "SLURM run vs local run")


def test_slurm_rerun_does_nothing(runs):
    slurm, _, _ = runs
    out = run_snakemake(slurm, *SLURM_RUN, "-n").output
    assert "Nothing to be done" in out
