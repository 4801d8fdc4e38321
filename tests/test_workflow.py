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
    main = res[(res["method"] == "logit_crv1") & (res["specification"] == "main")]
    assert len(main) == 8  # 4 outcomes x 2 cohorts
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


DOWNSTREAM_OF_OUTCOMES = {  # tiny config: 4 outcomes x 2 cohorts, robustness for 1 outcome
    "derive_outcomes": 2,
    "tabulate_rates": 1,
    "fit_did": 8,
    "infer_few_cluster": 8,
    "fit_robustness": 1,
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

    assert _plan_after(work, edit) == {"fit_did": 8, "collect_results": 1, "render_report": 1, "all": 1}


@pytest.mark.slow
def test_library_change_reruns_only_dependent_stages(tiny_run, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(tiny_run, work, symlinks=True)

    def edit(w):
        module = w / "src" / "pbr" / "outcomes.py"
        module.write_text(module.read_text() + "\n# edited\n")

    assert _plan_after(work, edit) == DOWNSTREAM_OF_OUTCOMES


@pytest.mark.slow
def test_no_identifier_leaves_the_linkage_stage(tiny_run):
    """Every file after extraction (link, derive, fit, report, logs) is free of identifiers:
    no identifier column, no date of birth (no date before 2000 in any date column), and
    no register name in any text."""
    from pbr.contract import IDENTIFIER_COLUMNS

    res = tiny_run / "results"
    extract = res / "extract"
    names = set()
    for table in ("ons_deaths", "pnc_offences"):
        reg = pd.read_parquet(extract / f"{table}.parquet", columns=["forename", "surname"])
        names |= set(reg["forename"].dropna().str.upper()) | set(reg["surname"].dropna().str.upper())
    areas = pd.read_parquet(extract / "areas.parquet")
    place_words = {w.upper() for n in areas["area_name"] for w in n.replace("-", " ").split()}
    # words of the project's own static text (templates, code, config: e.g. "Mason" 2015) are not data
    static = " ".join(p.read_text() for d in ("report", "src", "config") for p in (tiny_run / d).rglob("*.*"))
    static_words = {w.strip(".,;:()'\"").upper() for w in static.split()}
    names = {n for n in names if len(n) >= 5} - place_words - static_words
    later = [p for p in res.rglob("*") if p.is_file() and extract not in p.parents and "truth" not in p.parts]
    assert any(p.suffix == ".parquet" for p in later) and any(p.suffix == ".html" for p in later)
    for path in later:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
            assert not set(df.columns) & IDENTIFIER_COLUMNS, f"{path} has identifier columns"
            for col in df.columns:
                if pd.api.types.is_datetime64_any_dtype(df[col]):
                    assert not (df[col].dropna() < "2000-01-01").any(), f"{path}:{col} holds dates of birth"
                elif df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
                    hits = set(df[col].dropna().astype(str).str.upper()) & names
                    assert not hits, f"{path}:{col} holds names, e.g. {sorted(hits)[:3]}"
        elif path.suffix in {".html", ".csv", ".json", ".log", ".txt", ".tsv"}:
            words = set(path.read_text(errors="replace").upper().replace(",", " ").replace('"', " ").split())
            hits = words & names
            assert not hits, f"{path} mentions register names, e.g. {sorted(hits)[:3]}"


TRUTH_NAMES = {
    "successful_completion": "completion",
    "abstinence": "abstinence",
    "drug_related_death": "drug_related_death",
    "acquisitive_crime": "acquisitive_crime",
}


@pytest.mark.slow
def test_raw_rates_reproduce_the_generators_truth(tiny_run):
    """The pipeline's raw rates (through linkage and journey building) match the rates the
    generator planted on the true persons, within sampling error."""
    res = tiny_run / "results"
    rates = pd.read_parquet(res / "derive" / "rates.parquet")
    truth = pd.read_parquet(res / "truth" / "tables" / "journeys.parquet")
    truth = truth[truth["in_study"]].assign(group=lambda d: d["pilot"].map({True: "pilot", False: "other"}))
    checked = 0
    for outcome, tname in TRUTH_NAMES.items():
        for (cohort, group, period), cell in truth.groupby(["cohort", "group", "period"]):
            t = cell[tname].dropna().astype(float)
            got = rates[
                (rates.cohort == cohort)
                & (rates.outcome == outcome)
                & (rates.group == group)
                & (rates.period == period)
            ]
            assert len(got) == 1, (outcome, cohort, group, period)
            r = got.iloc[0]
            assert abs(r["n"] - len(t)) <= 0.05 * len(t) + 5, (outcome, cohort, group, period, r["n"], len(t))
            p = t.mean()
            se = (max(p * (1 - p), 0.01) / len(t)) ** 0.5
            assert abs(r["rate"] - p) <= 3 * se + 0.005, (outcome, cohort, group, period, r["rate"], p)
            checked += 1
    assert checked == 4 * 2 * 2 * 2


@pytest.mark.slow
def test_counts_reconcile_through_the_flow_table(tiny_run):
    res = tiny_run / "results"
    flow = pd.read_parquet(res / "extract" / "flow.parquet")
    raw = {p.stem: len(pd.read_parquet(p)) for p in (res / "extract" / "synthetic").glob("*.parquet")}
    kept = {p.stem: len(pd.read_parquet(p)) for p in (res / "extract").glob("*.parquet") if p.stem != "flow"}
    for table, n in raw.items():
        f = flow[flow["table"] == table]
        assert f.loc[f.action == "kept", "n"].sum() == kept[table]
        assert f.loc[f.action.isin(["kept", "dropped"]), "n"].sum() == n, table
    persons = pd.read_parquet(res / "link" / "flow_persons.parquet")
    assert persons.loc[persons.action.isin(["kept", "dropped"]), "n"].sum() == kept["ndtms_episodes"]
    assert persons.loc[persons.action == "kept", "n"].sum() == len(
        pd.read_parquet(res / "link" / "episodes.parquet")
    )
    cohorts = pd.read_parquet(res / "derive" / "flow_cohorts.parquet")
    journeys = pd.read_parquet(res / "derive" / "journeys.parquet")
    assert cohorts["n"].sum() == len(journeys)
    analysed = sum(len(pd.read_parquet(p)) for p in (res / "derive").glob("analysis_*.parquet"))
    assert cohorts.loc[cohorts.action == "kept", "n"].sum() == analysed


def test_scripts_import_their_own_checkouts_library(tmp_path):
    """Even with another checkout's src/ first on sys.path (as Snakemake passes its own path
    on to scripts), scripts/_bootstrap.py makes a script import the library beside it."""
    import subprocess
    import sys

    copy = copy_workflow(tmp_path / "copy")
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'src')!r}); import pbr; "
        f"sys.path.insert(1, {str(copy / 'scripts')!r}); import _bootstrap; import pbr; print(pbr.__file__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().startswith(str(copy / "src"))
