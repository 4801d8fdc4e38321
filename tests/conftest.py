"""Shared test settings: one fixed, deterministic hypothesis profile, so CI time stays bounded."""

import pytest
from hypothesis import HealthCheck, settings
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
def tiny_run(tmp_path_factory):
    """One tiny end-to-end run (tests/configs/tiny.yaml) in a temporary copy of the repository,
    shared by every test module that plans re-runs against it (copy it before changing it)."""
    work = copy_workflow(tmp_path_factory.mktemp("wf"))
    run_snakemake(work, "--configfile", "tests/configs/tiny.yaml", "--cores", "2")
    return work
