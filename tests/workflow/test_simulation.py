"""The simulation study's target runs end to end at a few replicates, outside the default target,
and its results do not depend on how the replicates are split into jobs."""

from __future__ import annotations

import pandas as pd
import pytest
from workflow_utils import copy_workflow, planned_jobs, run_snakemake

from pbr.fit.pilots import PILOT_TESTS
from pbr.simstudy import checks, methods

TINY_SIM = """simulation:
  scenarios: [base, or_0.6, pretrend]
  journeys: 5000
  replicates: 4
  screening_replicates: 2
  check_replicates: 2
  interval_replicates: 1
  trend_replicates: 3
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
        check_files = sorted((sim / "checks").glob("*/chunk_*.parquet"))
        assert len(check_files) == 3 * chunks
        c = pd.concat([pd.read_parquet(f) for f in check_files]).sort_values(
            ["scenario", "replicate", "check", "method"]
        )
        tables[f"checks{chunks}"] = c.reset_index(drop=True)
        trend_files = sorted((sim / "trends").glob("*/chunk_*.parquet"))
        assert len(trend_files) == 3 * chunks
        t = pd.concat([pd.read_parquet(f) for f in trend_files]).sort_values(
            ["scenario", "replicate", "method"]
        )
        tables[f"trends{chunks}"] = t.reset_index(drop=True)
        perf = pd.read_csv(sim / "performance.csv")
    pd.testing.assert_frame_equal(tables[1], tables[2])
    pd.testing.assert_frame_equal(tables["checks1"], tables["checks2"])
    pd.testing.assert_frame_equal(tables["trends1"], tables["trends2"])
    trend_methods = [m for pair in PILOT_TESTS.values() for m in pair]
    trend = (perf["check"] == "pretrend") & perf["method"].isin(trend_methods)
    assert set(perf.loc[trend, "method"]) == set(trend_methods) and (perf.loc[trend, "replicates"] == 3).all()
    main = perf[perf["check"] == "main"]
    assert set(main["method"]) == set(methods.MAIN_METHODS)
    candidates = main["method"].isin(methods.HEADLINE_CANDIDATES)
    assert (main.loc[candidates, "replicates"] == 4).all() and (
        main.loc[~candidates, "replicates"] == 2
    ).all()
    assert set(perf["check"]) == {*methods.CHECKS, *checks.ROBUSTNESS_CHECKS, "interval"}
    interval = perf["check"] == "interval"
    assert (perf.loc[(perf["check"] != "main") & ~interval & ~trend, "replicates"] == 2).all()
    assert (perf.loc[interval, "replicates"] == 1).all() and (perf.loc[interval, "median_width"] > 0).all()
    by = perf.set_index(["scenario", "check", "method"])
    assert by.loc[("base", "main", "logit_score_wcb"), "measure"] == "size"
    assert by.loc[("or_0.6", "main", "logit_score_wcb"), "measure"] == "power"
    assert by.loc[("or_0.6", "pretrend", "logit_score_wcb"), "measure"] == "size"
    assert by.loc[("pretrend", "pretrend", "logit_score_wcb"), "measure"] == "power"
    assert by.loc[("pretrend", "placebo", "logit_score_wcb"), "measure"] == "power"
    assert by.loc[("or_0.6", "placebo", "logit_score_wcb"), "measure"] == "size"
    assert by.loc[("or_0.6", "main", "logit_crv1"), "target_log_or"] < -0.2
    md = (work / "results" / "sim1" / "simulation" / "performance.md").read_text()
    assert "## placebo" in md and "median width" in md
    assert "## main" in (work / "results" / "sim1" / "simulation" / "performance.md").read_text()
