"""The workflow as a user runs it: DAG, an end-to-end tiny run, caching and re-run triggers."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from workflow_utils import ROOT, copy_workflow, planned_jobs, run_snakemake

TINY = ["--configfile", "tests/configs/tiny.yaml"]
ALL_RULES = {
    "generate_synthetic",
    "validate_extracts",
    "link_persons",
    "train_linkage",
    "predict_links",
    "assess_linkage",
    "build_journeys",
    "derive_outcomes",
    "tabulate_rates",
    "fit_did",
    "infer_few_cluster",
    "fit_robustness",
    "collect_results",
    "render_report",
    "all",
}


def test_dry_run_plans_every_stage():
    out = run_snakemake(ROOT, "-n", "--directory", str(ROOT), "--cores", "1", "--forceall").output
    jobs = planned_jobs(out)
    assert set(jobs) == ALL_RULES
    assert jobs["fit_did"] == jobs["infer_few_cluster"] == 22  # 11 outcomes x 2 cohorts
    assert jobs["fit_robustness"] == 5  # the configured robustness outcomes, drug cohort
    assert jobs["derive_outcomes"] == 2 and jobs["train_linkage"] == jobs["predict_links"] == 2


def test_bad_config_stops_with_the_key_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("synthetic:\n  scael: 0.5\n")
    proc = run_snakemake(ROOT, "-n", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "unknown key(s) ['scael'] under 'synthetic'" in proc.output


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One tiny end-to-end run in a temporary copy of the repository."""
    work = copy_workflow(tmp_path_factory.mktemp("wf"))
    run_snakemake(work, *TINY, "--cores", "2")
    return work


@pytest.mark.slow
def test_report_holds_the_did_table(tiny_run):
    html = (tiny_run / "results" / "report" / "report.html").read_text()
    assert "DiD odds ratios (pilot &times; post) by outcome and cohort" in html
    res = pd.read_parquet(tiny_run / "results" / "fit" / "did_results.parquet")
    main = res[res["method"] == "logit_crv1"]
    assert len(main) == 4
    for _, r in main.iterrows():
        assert f"<td>{r['cohort']}</td>" in html
    assert "data:image/png;base64," in html


@pytest.mark.slow
def test_second_run_does_nothing(tiny_run):
    out = run_snakemake(tiny_run, *TINY, "-n").output
    assert planned_jobs(out) == {}
    assert "Nothing to be done" in out


def _plan_after(work, edit) -> dict[str, int]:
    edit(work)
    return planned_jobs(run_snakemake(work, *TINY, "-n").output)


DOWNSTREAM_OF_OUTCOMES = {
    "derive_outcomes": 2,
    "tabulate_rates": 1,
    "fit_did": 4,
    "collect_results": 1,
    "render_report": 1,
    "all": 1,
}


@pytest.mark.slow
def test_config_change_reruns_only_what_depends_on_it(tiny_run, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(tiny_run, work, symlinks=True)

    def edit(w):
        cfg = w / "tests" / "configs" / "tiny.yaml"
        cfg.write_text(cfg.read_text() + "outcomes:\n  successful_completion:\n    window_days: 300\n")

    assert _plan_after(work, edit) == DOWNSTREAM_OF_OUTCOMES


@pytest.mark.slow
def test_script_change_reruns_only_its_rule_and_downstream(tiny_run, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(tiny_run, work, symlinks=True)

    def edit(w):
        script = w / "scripts" / "fit_did.py"
        script.write_text(script.read_text() + "\n# edited\n")

    assert _plan_after(work, edit) == {"fit_did": 4, "collect_results": 1, "render_report": 1, "all": 1}


@pytest.mark.slow
def test_library_change_reruns_only_dependent_stages(tiny_run, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(tiny_run, work, symlinks=True)

    def edit(w):
        module = w / "src" / "pbr" / "outcomes.py"
        module.write_text(module.read_text() + "\n# edited\n")

    assert _plan_after(work, edit) == DOWNSTREAM_OF_OUTCOMES
