"""The simulation study's target runs end to end at a few replicates, outside the default target,
and its results do not depend on how the replicates are split into jobs."""

from __future__ import annotations

import pandas as pd
import pytest
from workflow_utils import copy_workflow, planned_jobs, run_snakemake

from pbr.simstudy import methods

TINY_SIM = """simulation:
  scenarios: [base, or_0.6, pretrend]
  journeys: 5000
  replicates: 4
  screening_replicates: 2
  chunks: {chunks}
  bootstrap_reps: 99
  ri_reps: 99
  truth_runs: 2
  truth_scale: 2
"""


@pytest.mark.slow
def test_the_simulation_target_runs_and_does_not_depend_on_chunking(tmp_path):
    work = copy_workflow(tmp_path / "w")
    assert not any(r.startswith("sim_") for r in planned_jobs(run_snakemake(work, "-n").output))
    tables = {}
    for chunks in (2, 1):
        (work / f"sim{chunks}.yaml").write_text(TINY_SIM.format(chunks=chunks))
        results = f"results/sim{chunks}"
        run_snakemake(
            work,
            "--configfile",
            f"sim{chunks}.yaml",
            "--config",
            f"results_dir={results}",
            "--cores",
            "2",
            "--",
            "simulation",
        )
        sim = work / results / "simulation"
        chunk_files = sorted((sim / "pvalues").glob("*/chunk_*.parquet"))
        assert len(chunk_files) == 3 * chunks
        p = pd.concat([pd.read_parquet(f) for f in chunk_files]).sort_values(
            ["scenario", "replicate", "check", "method"]
        )
        tables[chunks] = p.reset_index(drop=True)
        perf = pd.read_csv(sim / "performance.csv")
    pd.testing.assert_frame_equal(tables[1], tables[2])
    main = perf[perf["check"] == "main"]
    assert set(main["method"]) == set(methods.MAIN_METHODS)
    candidates = main["method"].isin(methods.HEADLINE_CANDIDATES)
    assert (main.loc[candidates, "replicates"] == 4).all() and (
        main.loc[~candidates, "replicates"] == 2
    ).all()
    assert set(perf["check"]) == {"main", "pretrend", "per_pilot"}
    assert (perf.loc[perf["check"] != "main", "replicates"] == 2).all()
    by = perf.set_index(["scenario", "check", "method"])
    assert by.loc[("base", "main", "logit_score_wcb"), "measure"] == "size"
    assert by.loc[("or_0.6", "main", "logit_score_wcb"), "measure"] == "power"
    assert by.loc[("or_0.6", "pretrend", "logit_score_wcb"), "measure"] == "size"
    assert by.loc[("pretrend", "pretrend", "logit_score_wcb"), "measure"] == "power"
    assert by.loc[("or_0.6", "main", "logit_crv1"), "target_log_or"] < -0.2
    assert "## main" in (work / "results" / "sim1" / "simulation" / "performance.md").read_text()
