"""Shared test settings and session fixtures.

One fixed, deterministic hypothesis profile, so CI time stays bounded; the one tiny
end-to-end run of the session; a tiny valid CSV extract; the report rendered from
hand-built inputs. Helpers shared by several test modules live in the modules beside this
file (workflow_utils, extract_fixtures, report_fixtures, pg_server, bad_extracts.corpus),
on the path through pyproject's ``pythonpath``; test modules never import each other."""

import fcntl
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from report_fixtures import render
from workflow_utils import copy_workflow, run_snakemake

# derandomize: the same examples on every run (no flaky CI, no example database written);
# a modest number of examples per property (a test may ask for more with @settings)
settings.register_profile(
    "pbr",
    derandomize=True,
    database=None,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("pbr")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, worker_id):
    """One tiny end-to-end run (tests/configs/tiny.yaml) in a temporary copy of the repository,
    shared by every test module that plans re-runs against it (copy it before changing it).

    Under pytest-xdist (``make test`` runs the workflow and system tiers on two workers) the
    workers share one run: the first to ask makes it in the session's common temporary
    directory while holding a file lock; the others wait for the lock and reuse it. A run that
    failed leaves no ``done`` mark, so the next worker to ask starts it again from scratch."""
    if worker_id == "master":  # no xdist: this process's own run
        return _tiny_run(tmp_path_factory.mktemp("wf"))
    shared = tmp_path_factory.getbasetemp().parent
    work, done = shared / "tiny_run", shared / "tiny_run.done"
    with open(shared / "tiny_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(work, ignore_errors=True)
            _tiny_run(work)
            done.touch()
    return work


def _tiny_run(work: Path) -> Path:
    """The tiny configuration run to the report in a fresh copy of the workflow at ``work``."""
    copy_workflow(work)
    run_snakemake(work, "--configfile", "tests/configs/tiny.yaml", "--cores", "2")
    return work


@pytest.fixture(scope="session")
def extract_dir(tmp_path_factory) -> Path:
    """A tiny valid CSV extract (a few thousand episodes)."""
    from bad_extracts.corpus import valid_extract, write_csv_extract

    return write_csv_extract(valid_extract(), tmp_path_factory.mktemp("secure") / "extract")


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """The report rendered from report_fixtures' inputs, synthetic and real mode."""
    tmp = tmp_path_factory.mktemp("report")
    return {"synthetic": render(tmp), "real": render(tmp, real=True, name="real")}
