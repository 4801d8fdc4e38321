"""docs/debugging.md: a job's kept script, run alone with python, rewrites its output byte for byte."""

import shutil
import subprocess
import sys

import pytest
from workflow_utils import TINY, run_snakemake


@pytest.mark.slow
def test_a_kept_job_script_reruns_the_job_outside_snakemake(tiny_run, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(tiny_run, work, symlinks=True)
    target = "results/fit/drug/successful_completion.parquet"
    before = (work / target).read_bytes()
    out = run_snakemake(work, *TINY, "--cores", "1", "--forcerun", "fit_did", "--skip-script-cleanup", target)
    kept = sorted((work / ".snakemake" / "scripts").glob("*.fit_did.py"))
    assert len(kept) == 1 and "Not cleaning up" in out.output, out.output
    (work / target).unlink()
    subprocess.run([sys.executable, str(kept[0])], cwd=work, check=True, capture_output=True)
    assert (work / target).read_bytes() == before
