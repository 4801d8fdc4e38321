"""The workflow as a user runs it: DAG, an end-to-end tiny run, caching and re-run triggers."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from workflow_utils import ALL_RULES, ROOT, TEST_KEY, TINY, copy_workflow, planned_jobs, run_snakemake

from pbr import source
from pbr.contract import TABLES

TABLE_NAMES = sorted(TABLES)


def test_dry_run_plans_every_stage():
    out = run_snakemake(ROOT, "-n", "--directory", str(ROOT), "--cores", "1", "--forceall").output
    jobs = planned_jobs(out)
    assert set(jobs) == ALL_RULES
    assert jobs["fit_did"] == jobs["infer_few_cluster"] == 26  # 13 outcomes x 2 cohorts
    assert jobs["fit_pilots"] == jobs["fit_power"] == 26
    assert jobs["fit_linkage_sensitivity"] == 4  # death and crime x 2 cohorts
    assert jobs["fit_linkage_negative_control"] == 2  # one per cohort
    assert jobs["fit_imputed_links"] == 20 and jobs["combine_imputations"] == 1  # linkage.imputations
    # the 5 configured robustness outcomes, drug cohort, and declined_to_continue in Mason's window
    # alone (models.robustness.mason_outcomes; successful_completion is among the 5)
    assert jobs["fit_robustness"] == 6
    assert jobs["fit_composition"] == 2  # one per cohort
    assert jobs["derive_outcomes"] == 2 and jobs["train_linkage"] == jobs["predict_links"] == 2
    assert jobs["link_records"] == 3  # NDTMS persons, ONS deaths, PNC offender identities


def test_bad_config_stops_with_the_key_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("synthetic:\n  scael: 0.5\n")
    proc = run_snakemake(ROOT, "-n", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    assert "unknown key(s) ['scael'] under 'synthetic'" in proc.output


def test_the_recall_sensitivity_is_derived_at_the_equivalent_thresholds_and_fitted(tiny_run):
    """Each assumed recall gives its columns (links at the equivalent threshold, so between the
    main outcome and the one at the nearer sensitivity threshold) and its fits in the report."""
    analysis = pd.read_parquet(tiny_run / "results" / "derive" / "analysis_drug.parquet")
    low, high = analysis["acquisitive_crime_r060"], analysis["acquisitive_crime_r095"]
    main, loose = analysis["acquisitive_crime"], analysis["acquisitive_crime_p020"]
    # recall 0.6: links at p >= 0.429, so at least the main links and at most those at 0.2
    assert (low >= main).all() and (low <= loose).all() and (high <= main).all()
    results = pd.read_parquet(tiny_run / "results" / "fit" / "did_results.parquet")
    specs = set(results.loc[results["outcome"] == "acquisitive_crime", "specification"])
    assert {"linkage_recall_0.6", "linkage_recall_0.95"} <= specs
    html = (tiny_run / "results" / "report" / "report.html").read_text()
    assert "Assumed recall 0.6 (main: 0.8; links at p ≥ 0.429)" in html


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
    # the same results as data: the typed DiD table, its dictionary and the findings
    out = tiny_run / "results" / "report"
    did = pd.read_parquet(out / "tables" / "did.parquet")
    assert len(did) == 8 and str(did["journeys"].dtype) == "Int64"
    assert set(pd.read_csv(out / "tables" / "columns.csv")["table"]) >= {"did", "flow", "all"}
    findings = json.loads((out / "findings.json").read_text())
    assert {(f["cohort"], f["outcome"]) for f in findings["findings"]} <= set(
        zip(main["cohort"], main["outcome"], strict=True)
    )
    assert findings["findings"] and all(f["verdict_rule"] in findings["rules"] for f in findings["findings"])


def test_the_mason_window_has_the_random_intercept_logit_for_reference(tiny_run):
    res = pd.read_parquet(tiny_run / "results" / "fit" / "did_results.parquet")
    mason = res[(res["specification"] == "mason_2015") & (res["outcome"] == "successful_completion")]
    rows = mason.set_index("method")
    assert {"logit_crv1", "logit_score_wcb", "logit_re"} <= set(rows.index)
    assert rows.loc["logit_re", "n"] == rows.loc["logit_crv1", "n"]
    if rows.loc["logit_re", "status"] != "not_estimable":
        assert (
            rows.loc["logit_re", "ci_low"]
            < rows.loc["logit_re", "estimate"]
            < rows.loc["logit_re", "ci_high"]
        )
    html = (tiny_run / "results" / "report" / "report.html").read_text()
    assert "random-intercept logit (Mason&#39;s model, for reference only)" in html


@pytest.mark.slow
def test_snakemakes_own_report_builds_from_a_run(tiny_run, tmp_path):
    """`snakemake --report` (issue 22): the zip holds the HTML report, the DiD table, the findings
    and the figures, each with its caption."""
    target, work = tmp_path / "snakemake_report.zip", tmp_path / "work"
    shutil.copytree(tiny_run, work, symlinks=True)  # the shared run stays as it was (xdist workers share it)
    run_snakemake(work, "--configfile", "tests/configs/tiny.yaml", "--report", str(target))
    with zipfile.ZipFile(target) as z:
        names = z.namelist()
        index = next(n for n in names if n.endswith("report.html") and n.count("/") == 1)
        text = z.read(index).decode("utf-8", errors="replace")
    for item in ("did_table.csv", "findings.json", "forest_plot.png", "flow.csv"):
        assert any(n.endswith(item) for n in names), (item, names[:20])
    assert "DiD odds ratios beside published" in text and "Findings as data" in text


def test_the_match_probabilities_are_scored_against_the_truth(tiny_run):
    """Synthetic data: the calibration table covers every candidate pair of both registers,
    overall and by cell, and the report shows its expected calibration error."""
    from pbr.link import quality

    cal = pd.read_parquet(tiny_run / "results" / "link" / "calibration.parquet")
    assert set(cal["register"]) == {"deaths", "offences"} and "all" in set(cal["scope"])
    assert cal["scope"].str.endswith("/pilot/post").any()  # cohort / group / period of a person
    for register in ("deaths", "offences"):
        pairs = pd.read_parquet(tiny_run / "results" / "link" / f"pairs_{register}.parquet")
        overall = cal[(cal["register"] == register) & (cal["scope"] == "all")]
        assert overall["pairs"].sum() == len(pairs.drop_duplicates(["left_id", "right_id"]))
        assert (
            overall["bin_low"].min() >= 0.0
            and ((overall["share_true"] >= 0) & (overall["share_true"] <= 1)).all()
        )
    assert quality.calibration_error(cal)["ece"].between(0, 1).all()
    assert 'id="tbl-linkage-calibration"' in (tiny_run / "results" / "report" / "report.html").read_text()


def test_linkage_indicators_and_negative_controls_reach_the_report(tiny_run):
    """The indicators without truth count the same links as the match rates, their expected errors
    are sums of probabilities within their bounds, and each cohort's negative controls are fitted
    with the headline method and shown."""
    from pbr.registry.registers import NEGATIVE_CONTROLS

    link = tiny_run / "results" / "link"
    indicators = pd.read_parquet(link / "indicators.parquet")
    rates = pd.read_parquet(link / "match_rates.parquet")
    keys = ["register", "cohort", "group", "period"]
    both = indicators.merge(rates, on=keys, suffixes=("", "_rates"))
    assert len(both) == len(rates) == len(indicators) > 0
    assert (both["linked"] == both["linked_rates"]).all() and (
        both["journeys"] == both["journeys_rates"]
    ).all()
    assert (indicators["expected_false"] <= indicators["linked"] * 0.5 + 1e-9).all()  # each link has p >= 0.5
    assert (indicators["grey"] <= indicators["linked"]).all() and (indicators["expected_missed"] >= 0).all()
    for cohort in ("drug", "alcohol"):
        fits = pd.read_parquet(tiny_run / "results" / "fit" / cohort / "linkage_negative_control.parquet")
        assert set(fits["specification"]) == {f"negative_control_{n}" for n in NEGATIVE_CONTROLS}
        assert set(fits["method"]) == {"logit_crv1", "lpm_crv1", "logit_score_wcb"}
    html = (tiny_run / "results" / "report" / "report.html").read_text()
    assert 'id="tbl-linkage-indicators"' in html and 'id="tbl-linkage-negative-control"' in html


def test_imputed_link_sets_are_drawn_fitted_and_combined(tiny_run):
    """Each imputation draws its own one-to-one link sets (different links, the same rows on a
    re-run), and the combined rows sit beside the single link set's in the results and the report."""
    fits = [pd.read_parquet(tiny_run / "results" / "fit" / "imputations" / f"{m}.parquet") for m in (1, 2, 3)]
    assert all(set(f["outcome"]) == {"drug_related_death", "acquisitive_crime"} for f in fits)
    crime = [
        f.loc[(f["cohort"] == "drug") & (f["outcome"] == "acquisitive_crime"), "beta"].iloc[0] for f in fits
    ]
    assert len(set(crime)) == 3  # three different link sets
    mi = pd.read_parquet(tiny_run / "results" / "fit" / "linkage_mi.parquet")
    results = pd.read_parquet(tiny_run / "results" / "fit" / "did_results.parquet")
    # cohorts x outcomes x methods
    assert len(results[results["specification"] == "linkage_mi"]) == len(mi) == 2 * 2 * 2
    row = mi[
        (mi["cohort"] == "drug") & (mi["outcome"] == "acquisitive_crime") & (mi["method"] == "logit_crv1")
    ]
    assert row["beta"].iloc[0] == pytest.approx(sum(crime) / 3)
    html = (tiny_run / "results" / "report" / "report.html").read_text()
    assert "Multiple imputation of links" in html and 'id="tbl-linkage-bounds"' in html
    cells = pd.read_parquet(tiny_run / "results" / "fit" / "linkage_bounds.parquet")
    assert set(cells["outcome"]) == {"drug_related_death", "acquisitive_crime"} and len(cells) == 2 * 2 * 4
    assert (cells["expected_false"] <= cells["events"] * 0.5 + 1e-9).all()  # each event's link has p >= 0.5


@pytest.mark.slow
def test_second_run_does_nothing(tiny_run, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(tiny_run, work, symlinks=True)  # the shared run stays as it was (xdist workers share it)
    out = run_snakemake(work, *TINY, "-n").output
    assert planned_jobs(out) == {}
    assert "Nothing to be done" in out


def _plan_after(work, edit) -> dict[str, int]:
    edit(work)
    return planned_jobs(run_snakemake(work, *TINY, "-n").output)


DOWNSTREAM_OF_OUTCOMES = {  # tiny config: 4 outcomes x 2 cohorts, robustness for 1 outcome
    "derive_outcomes": 2,
    "tabulate_rates": 1,
    "fit_did": 8,
    "fit_linkage_sensitivity": 4,  # death and crime x 2 cohorts
    "fit_linkage_negative_control": 2,  # one per cohort (the analysis table changed)
    "fit_imputed_links": 3,  # the tiny config's imputations (the analysis tables changed)
    "combine_imputations": 1,
    "bound_linked_outcomes": 1,
    "infer_few_cluster": 8,
    "fit_robustness": 1,
    "fit_composition": 2,
    "fit_pilots": 8,
    "fit_power": 8,
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
        module = w / "src" / "pbr" / "derive" / "outcomes.py"
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
    "successful_completion": "successful_completion",
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
    assert cohorts.loc[cohorts.action.isin(["kept", "dropped"]), "n"].sum() == len(journeys)
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


# ---------------------------------------------------------------------------------------
# Real-data mode: one small run on a real-format CSV extract (the bad-extract corpus's valid
# extract at scale 0.005: a few dozen episodes per area, small cells in every table)

REAL_KEY = TEST_KEY  # what an analyst exports as $PBR_LINK_KEY
SMALL_CELL = 10


def real_config(extract: Path) -> str:
    return f"""data:
  source: real
  real:
    directory: {extract}
    format: csv
linkage:
  u_max_pairs: 50000
  em_max_pairs: 50000
models:
  outcomes: [successful_completion]
  inference:
    bootstrap_reps: 99
    ri_reps: 99
  robustness:
    outcomes: []
report:
  small_cell_threshold: {SMALL_CELL}
"""


def distinctive_identifiers(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Identifiers that cannot occur by chance anywhere else: client ids CL0000001Q, names that keep
    their first letter (linkage uses initials) followed by 'qxfn'/'qxsn' and a number, PNC ids
    12/0000012Q."""
    out = dict(tables)
    ep = tables["ndtms_episodes"].copy()
    ep["client_id"] = [f"CL{i:07d}Q" for i in range(len(ep))]
    out["ndtms_episodes"] = ep
    for name in ("ons_deaths", "pnc_offences"):
        reg = tables[name].copy()
        for col, tag in (("forename", "qxfn"), ("surname", "qxsn")):
            reg[col] = [None if pd.isna(v) else f"{v[0]}{tag}{i:05d}" for i, v in enumerate(reg[col])]
        if name == "pnc_offences":  # the PNC person id, one per offender: 12/0000012Q
            codes, _ = pd.factorize(reg["pnc_id"])
            reg["pnc_id"] = [f"{c % 100:02d}/{c:07d}Q" for c in codes]
        out[name] = reg
    return out


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """The workflow in real-data mode, the key in the environment only; returns (project, extract)."""
    from bad_extracts.corpus import valid_extract, write_csv_extract

    base = tmp_path_factory.mktemp("real")
    extract = write_csv_extract(distinctive_identifiers(valid_extract(scale=0.005, seed=11)), base / "secure")
    work = copy_workflow(base / "project")
    (work / "real.yaml").write_text(real_config(extract))
    run_snakemake(work, "--configfile", "real.yaml", "--cores", "2", env={"PBR_LINK_KEY": REAL_KEY})
    return work, extract


def _text_files(work: Path) -> list[Path]:
    """Every file of the run a person could read: results (but the validated copies of the input
    tables and the linkage records built from them, which keep identifiers for linkage by design),
    logs, Snakemake's own records."""
    validated = {work / "results" / "extract" / f"{t}.parquet" for t in TABLE_NAMES}
    validated |= {
        work / "results" / "extract" / f"link_records_{s}.parquet" for s in ("ndtms", "deaths", "offences")
    }
    files = [p for p in (work / "results").rglob("*") if p.is_file() and p not in validated]
    files += [p for p in (work / ".snakemake").rglob("*") if p.is_file()]
    return files


@pytest.mark.slow
def test_real_mode_person_ids_are_keyed_with_the_environment_key(real_run):
    """Every person id is the one the library's person rule (the attributor's keyed hash, a missing
    sex settled, persons joined across transfers) gives with the environment's key, and none is
    the synthetic key's."""
    from pbr.config import validate_config
    from pbr.link.persons import episode_persons, transfer_settings

    work, _ = real_run
    validated = pd.read_parquet(work / "results" / "extract" / "ndtms_episodes.parquet")
    linked = pd.read_parquet(work / "results" / "link" / "episodes.parquet").set_index("episode_id")[
        "person_id"
    ]
    transfers = transfer_settings(validate_config({}))  # real.yaml keeps the default journeys and bridges
    with_key, _, _, _ = episode_persons(validated, REAL_KEY.encode(), transfers)
    expected = pd.Series(with_key.to_numpy(), index=validated["episode_id"].to_numpy()).loc[linked.index]
    assert (expected.to_numpy() == linked.to_numpy()).all()
    with_synthetic, _, _, _ = episode_persons(validated, source.SYNTHETIC_KEY.encode(), transfers)
    assert set(with_synthetic.dropna()).isdisjoint(set(linked))


@pytest.mark.slow
def test_real_mode_writes_no_key_and_no_identifier_anywhere(real_run):
    """Scan every result, every log and Snakemake's records for the key, identifier columns and
    identifier values (client ids, register names, dates of birth)."""
    from pbr.contract import IDENTIFIER_COLUMNS

    work, extract = real_run
    ep = pd.read_csv(extract / "ndtms_episodes.csv", dtype=str)
    dobs = set(ep["date_of_birth"])
    for name in ("ons_deaths", "pnc_offences"):
        dobs |= set(pd.read_csv(extract / f"{name}.csv", dtype=str)["date_of_birth"].dropna())
    identifier_columns = IDENTIFIER_COLUMNS | {"client_id"}
    leaks = re.compile(rf"{REAL_KEY}|CL\d{{7}}Q|qxfn\d{{5}}|qxsn\d{{5}}|\d{{2}}/\d{{7}}Q", re.IGNORECASE)
    config_files = [work / "real.yaml", *(work / "config").glob("*")]
    files = _text_files(work)
    assert any(p.suffix == ".log" for p in files) and any(p.suffix == ".html" for p in files)
    scanned = 0
    for path in [*files, *config_files]:
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
            assert not set(df.columns) & identifier_columns, f"{path} has identifier columns"
            for col in df.columns:
                values = df[col].dropna()
                if pd.api.types.is_datetime64_any_dtype(values):
                    hits = set(values.dt.strftime("%Y-%m-%d")) & dobs
                else:
                    hits = {v for v in values.astype(str) if leaks.search(v)}
                assert not hits, f"{path}:{col} holds identifiers, e.g. {sorted(hits)[:2]}"
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
            assert not leaks.search(text), (
                f"{path} holds the key or an identifier: {leaks.search(text).group()}"
            )
            assert not set(re.findall(r"\d{4}-\d{2}-\d{2}", text)) & dobs, f"{path} holds a date of birth"
        scanned += 1
    assert scanned > 60


def _count_ok(text: str) -> bool:
    """A count shown in real-data mode: suppressed, zero, or at least the threshold."""
    text = text.strip()
    if text in (f"<{SMALL_CELL}", "[c]", "[s]", ""):
        return True
    return int(text.replace(",", "")) == 0 or int(text.replace(",", "")) >= SMALL_CELL


@pytest.mark.slow
def test_real_mode_report_and_its_tables_pass_the_small_cell_rule(real_run):
    from report_fixtures import parse_cells, small_numbers

    work, _ = real_run
    out = work / "results" / "report"
    # the data has small cells (a few dozen episodes per area): the rule has something to hide
    cohorts = pd.read_parquet(work / "results" / "derive" / "flow_cohorts.parquet")
    assert cohorts["n"].between(1, SMALL_CELL - 1).any()
    # every table under results/report/ is checked here
    assert sorted(p.name for p in out.glob("*.csv")) == ["did_table.csv", "flow.csv"]
    flow = pd.read_csv(out / "flow.csv", dtype=str, keep_default_na=False)
    assert (flow["n_marker"] == f"<{SMALL_CELL}").any()
    bad = flow[~flow["n"].map(_count_ok)]
    assert bad.empty, bad.to_string()
    did = pd.read_csv(out / "did_table.csv", dtype=str, keep_default_na=False)
    assert did["journeys"].map(_count_ok).all(), did["journeys"].tolist()
    # the typed tables: every count column (tables/columns.csv marks them) passes the rule
    dictionary = pd.read_csv(out / "tables" / "columns.csv")
    counted = dictionary[dictionary["count"]]
    assert len(counted) > 10
    markers = 0
    for name, cols in counted.groupby("table"):
        t = pd.read_parquet(out / "tables" / f"{name}.parquet")
        for col in cols["column"]:
            assert not t[col].dropna().between(1, SMALL_CELL - 1).any(), (name, col)
            if f"{col}_marker" in t:
                markers += int(t[f"{col}_marker"].notna().sum())
    assert markers > 0  # the small cells are withheld there too, with their markers
    html = out / "report.html"
    cells = [c for c in parse_cells(html).cells if "count" in c["attrs"].get("class", "")]
    assert cells and "&lt;10" in html.read_text()
    for c in cells:
        assert not small_numbers(c["text"]), c


def _copy_run(real_run, tmp_path: Path) -> Path:
    work = tmp_path / "project"
    shutil.copytree(real_run[0], work, symlinks=True)
    return work


@pytest.mark.slow
def test_a_bad_extract_stops_the_run_with_a_clear_error_and_no_stale_output(real_run, tmp_path):
    """The analyst replaces the extract with one cut short: validation stops with the file named,
    the validated tables of the previous extract are gone, nothing downstream runs."""
    work = _copy_run(real_run, tmp_path)
    extract = shutil.copytree(real_run[1], tmp_path / "secure")
    (extract / "ons_deaths.csv").write_bytes((extract / "ons_deaths.csv").read_bytes()[:-2])
    (work / "real.yaml").write_text(real_config(extract))
    proc = run_snakemake(
        work, "--configfile", "real.yaml", "--cores", "1", check=False, env={"PBR_LINK_KEY": REAL_KEY}
    )
    assert proc.returncode != 0
    assert f"{extract / 'ons_deaths.csv'}: does not end with a line break" in proc.output
    log = (work / "results" / "logs" / "validate_extracts.log").read_text()
    assert "truncated" in log and "Traceback" not in log
    # the validated tables are gone; the linkage records (downstream of them) are rebuilt before use
    validated = [p for p in (work / "results" / "extract").glob("*.parquet") if p.stem in TABLE_NAMES]
    assert not validated, validated
    assert "Finished jobid" not in proc.output.split("validate_extracts", 1)[1]


@pytest.mark.slow
def test_a_rule_failing_midway_leaves_no_output_a_rerun_would_trust(real_run, tmp_path):
    """A study setting changes, and the rule that must re-run hits a write error after the first of
    its outputs (a full disk): it fails, none of its outputs is left, and once the disk is freed
    the next run plans it and everything after it again."""
    work = _copy_run(real_run, tmp_path)
    config = work / "real.yaml"
    config.write_text(config.read_text() + "study:\n  min_age: 19\n")
    script = work / "scripts" / "build_journeys.py"
    original = script.read_text()
    first_write = '        io.write_table(j, smk.output.journeys, sort_by=["journey_id"])\n'
    assert first_write in original
    script.write_text(
        original.replace(first_write, first_write + "        raise OSError(28, 'No space left on device')\n")
    )
    env = {"PBR_LINK_KEY": REAL_KEY}
    proc = run_snakemake(
        work, "--configfile", "real.yaml", "--cores", "1", "--until", "build_journeys", check=False, env=env
    )
    assert proc.returncode != 0
    derive = work / "results" / "derive"
    assert "No space left on device" in (work / "results" / "logs" / "build_journeys.log").read_text()
    for name in ("journeys.parquet", "episode_journey.parquet", "flow_cohorts.parquet"):
        assert not (derive / name).exists(), f"{name} was left behind"
    assert not list((work / "results").rglob("*.tmp"))
    script.write_text(original)
    plan = planned_jobs(run_snakemake(work, "--configfile", "real.yaml", "-n", env=env).output)
    assert plan.get("build_journeys") == 1 and plan.get("render_report") == 1


@pytest.mark.slow
def test_the_statsmodels_engine_runs_to_the_report_with_the_default_engines_numbers(tiny_run, tmp_path):
    """``models.engine: statsmodels`` over the tiny run: Snakemake re-runs every job that fits a
    main model (their ``models`` params changed; the data, linkage and few-cluster jobs do not
    depend on the engine, so their outputs are reused) and everything after them, through the
    report. Every CRV1 row (main, robustness, linkage sensitivity, event study) has the default
    engine's status and, where estimable, its coefficient (to 1e-8, relative) and standard error
    (1e-5); every other row is unchanged."""
    work = tmp_path / "w"
    shutil.copytree(tiny_run, work, symlinks=True)
    (work / "extra.yaml").write_text("models:\n  engine: statsmodels\n")
    out = run_snakemake(work, *TINY, "extra.yaml", "--cores", "2").output
    assert "render_report" in out and "fit_did" in out
    assert planned_jobs(run_snakemake(work, *TINY, "extra.yaml", "-n").output) == {}
    key = ["cohort", "outcome", "specification", "method"]
    default = (
        pd.read_parquet(tiny_run / "results" / "fit" / "did_results.parquet").set_index(key).sort_index()
    )
    library = pd.read_parquet(work / "results" / "fit" / "did_results.parquet").set_index(key).sort_index()
    assert default.index.equals(library.index)
    crv1 = default.index.get_level_values("method").str.endswith("_crv1")
    assert crv1.sum() >= 20
    differ = default.index[(default["status"] != library["status"]).to_numpy()]
    assert differ.empty, pd.concat(
        {"exact": default.loc[differ, "note"], "statsmodels": library.loc[differ, "note"]}, axis=1
    ).to_string()
    pd.testing.assert_frame_equal(default[~crv1], library[~crv1])  # the engine changes nothing else
    fitted = crv1 & (default["status"] != "not_estimable").to_numpy() & default["beta"].notna().to_numpy()
    assert fitted.sum() >= 10
    # measured: coefficients to 2e-11; standard errors to 6e-7 where some journeys are fitted at
    # probability ~0 (nuisance coefficients running off under quasi-separation stop at slightly
    # different points, e.g. linear predictors -29.37 and -29.38), within the pyfixest comparison's 1e-3
    for col, rtol in (
        ("beta", 1e-8),
        ("n", 0),
        ("se", 1e-5),
        ("ci_low", 1e-5),
        ("ci_high", 1e-5),
        ("p_value", 1e-5),
    ):
        np.testing.assert_allclose(library.loc[fitted, col], default.loc[fitted, col], rtol=rtol, err_msg=col)
    es_default = pd.read_parquet(tiny_run / "results" / "fit" / "event_study.parquet")
    es_library = pd.read_parquet(work / "results" / "fit" / "event_study.parquet")
    assert len(es_default) == len(es_library) > 0
    for col in ("beta", "se"):
        np.testing.assert_allclose(es_library[col], es_default[col], rtol=1e-8, atol=1e-12, equal_nan=True)
    assert (work / "results" / "report" / "report.html").stat().st_mtime > (
        tiny_run / "results" / "report" / "report.html"
    ).stat().st_mtime
