"""docs/outputs.md: the data dictionary of everything the report stage writes for reuse.

:func:`outputs_markdown` builds the page from the code that writes the files: the fixed
columns of ``did_table.csv`` and ``flow.csv`` (their descriptions, :data:`DID_COLUMNS` and
:data:`FLOW_COLUMNS`, are checked against the writers' headers by the tests), the keys of
``findings.json`` (:data:`FINDINGS_KEYS`, checked against a written document), the naming
rules of the typed tables (:mod:`pbr.report.tables`) and the columns of every table a report
shows, from a data dictionary (``tables/columns.csv``) of a rendered report. The test suite
renders its fixture report and compares the page with docs/outputs.md; to regenerate it:
``python tests/report_fixtures.py outputs-doc > docs/outputs.md``.
"""

from __future__ import annotations

import pandas as pd

#: did_table.csv: column -> what it holds.
DID_COLUMNS = {
    "cohort": "cohort (drug, alcohol)",
    "outcome": "outcome key (docs/outcomes.md)",
    "estimate": "reproduced DiD odds ratio (pilot x post), logit",
    "headline_method": "the method of the headline interval and p (models.headline_method)",
    "ci_low": "lower end of the headline 95% interval of the odds ratio",
    "ci_high": "upper end of the headline 95% interval of the odds ratio",
    "p_value": "headline p-value",
    "p_holm": "headline p-value after Holm's adjustment over the outcomes x cohorts",
    "p_romano_wolf": "headline p-value after the Romano-Wolf step-down adjustment",
    "significant_headline": "the headline interval excludes 1 (True/False; empty without a verdict)",
    "att": "average effect on the treated, probability scale (a proportion), from the logit",
    "att_ci_low": "lower end of the ATT's interval (headline method)",
    "att_ci_high": "upper end of the ATT's interval (headline method)",
    "lpm_risk_difference": "linear probability model's DiD (a proportion)",
    "lpm_ci_low": "lower end of the risk difference's interval (few-cluster method)",
    "lpm_ci_high": "upper end of the risk difference's interval",
    "lpm_p_value": "the risk difference's p-value",
    "mde_low": "minimum detectable odds ratio below 1 (80% power, headline method)",
    "mde_high": "minimum detectable odds ratio above 1",
    "rule_out": "for a finding not significant: what it can rule out, in words",
    "crv1_ci_low": "lower end of the CRV1 95% interval (for reference only, never a verdict)",
    "crv1_ci_high": "upper end of the CRV1 95% interval (for reference only)",
    "crv1_p_value": "CRV1 p-value (for reference only)",
    "significant_crv1": "the CRV1 interval excludes 1 (for reference only)",
    "journeys": "journeys in the model (a count; empty when withheld by disclosure control)",
    "journeys_marker": "the marker shown instead of a withheld count (<10, [c]); empty when shown",
    "areas": "areas (clusters) in the model",
    "pilot_areas": "pilot (treated) areas in the model",
    "published_or": "published odds ratio (empty for a finding published as not significant)",
    "published_ci_low": "lower end of the published 95% interval",
    "published_ci_high": "upper end of the published 95% interval",
    "published_source": "where the published value comes from",
    "point_ratio": "reproduced / published odds ratio",
    "point_within_tolerance": "step 1: the ratio lies within report.reproduction_tolerance either way",
    "estimate_inside_published_ci": "step 1: the reproduced odds ratio lies inside the published interval",
    "published_inside_headline_ci": "the published odds ratio lies inside the headline interval (the verdict)",
    "published_inside_crv1_ci": "the published odds ratio lies inside the CRV1 interval (reference)",
    "status": "the fit's status: ok, caveat or not_estimable",
    "min_cell_events": "fewest events or non-events in a pilot/other x pre/post cell (empty in real-data mode)",
    "min_cell_events_marker": "real-data mode: the smallest cell against the rule's constant (<5 or ≥5)",
    "verdict": "assessed; not estimable; or why the row carries no verdict",
    "verdict_reason": "the reason in words (counts in it under disclosure control)",
    "note": "the fit's notes (rows dropped, caveats; counts under disclosure control)",
}

#: flow.csv: column -> what it holds.
FLOW_COLUMNS = {
    "stage": "pipeline stage (extract, link, derive)",
    "step": "step within the stage",
    "table": "the table the records belong to",
    "unit": "what is counted (episodes, journeys, deaths, ...)",
    "action": "kept, dropped or flagged",
    "reason": "why (counts in it under disclosure control)",
    "cohort": "cohort, where the step is by cohort",
    "group": "pilot or other, where the step is by group",
    "period": "pre, post or outside, where the step is by period",
    "n": "the number of records (empty when withheld by disclosure control)",
    "n_marker": "the marker shown instead of a withheld count (<10, [c]); empty when shown",
}

#: findings.json: key (dotted within a record) -> what it holds.
FINDINGS_KEYS = {
    "schema_version": "version of this layout (raised when a key changes meaning or goes)",
    "run": "the run: config_hash, commit, data_source, headline_method, headline_label, "
    "confidence_level, reproduction_tolerance",
    "rules": "each rule a verdict applies, in words with its constants, by name",
    "summary[]": "the findings box, item by item: finding, text, verdict (reproduced, not reproduced, "
    "not a verdict), detail, method (the method that decided it) or basis (what a comparison rests on)",
    "findings[]": "one record per published finding (cohort x outcome):",
    "findings[].cohort, .outcome, .outcome_label": "which finding",
    "findings[].published": "source, odds_ratio, ci_low, ci_high (null for 'not significant'), significant",
    "findings[].reproduced": "method, method_label, odds_ratio, ci_low, ci_high, p_value, p_holm, "
    "p_romano_wolf, significant (headline method)",
    "findings[].crv1_reference": "ci_low, ci_high, p_value under CRV1 (for reference only)",
    "findings[].point_ratio, .point_within_tolerance, .estimate_inside_published_ci": "step 1",
    "findings[].published_inside_reproduced_ci, .conclusion_holds": "the published value inside the "
    "reproduced interval; step 2 (null without a verdict)",
    "findings[].verdict": "reproduced, not reproduced, no verdict or not estimable",
    "findings[].verdict_rule": "the key in rules of the rule that made the verdict",
    "findings[].verdict_reason": "why there is no verdict, when there is none",
    "findings[].planted_odds_ratio": (
        "synthetic data: the effect planted by the generator (null on real data, and where the planted "
        "effect changes in the second post year)"
    ),
    "final_report[]": "one record per finding of the final report (2017), published as a direction:",
    "final_report[].cohort, .outcome, .finding": "which finding, in the final report's words",
    "final_report[].published_direction, .reproduced_direction": "lower, higher or no change (pilot x post OR "
    "significantly below 1, above 1, or not significant); reproduced_direction null without a verdict",
    "final_report[].odds_ratio, .ci_low, .ci_high": "the reproduced OR and headline interval",
    "final_report[].verdict, .verdict_rule": "reproduced, not reproduced, or why there is none; the rule's key",
}


def _table(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |" for r in rows]
    return out


def outputs_markdown(columns: pd.DataFrame) -> str:
    """The page docs/outputs.md, with the typed tables' columns from ``columns`` (a report's
    ``tables/columns.csv``, :func:`pbr.report.tables.columns_frame`)."""
    lines = [
        "# Outputs: what the report stage writes, and how to read it",
        "",
        "<!-- generated: python tests/report_fixtures.py outputs-doc > docs/outputs.md -->",
        "",
        "Everything below is under `results/report/` (or the `results` directory of your config).",
        "Counts are plain numbers. In real-data mode a count withheld by disclosure control is empty,",
        "and the marker the report shows instead (`<10`, `[c]`, `[s]`) is in the column of the same",
        "name ending `_marker`; a count shown is 0 or at least `report.small_cell_threshold`.",
        "",
        "| file | what |",
        "|---|---|",
        "| `report.html` | the report, one self-contained file |",
        "| `did_table.csv` | the main DiD table, one row per cohort x outcome (below) |",
        "| `flow.csv` | every record kept, dropped or flagged at every step (below) |",
        "| `findings.json` | the published findings and their verdicts (below) |",
        "| `tables/<name>.csv`, `tables/<name>.parquet` | every table the report shows, typed (below) |",
        "| `tables/columns.csv` | this run's data dictionary of `tables/`: table, caption, column, "
        "type, header, count |",
        "| `figures/<id>.png`, `figures/<id>.svg` | every figure the report shows (PNG at 200 dpi) |",
        "",
        "Load them with `pandas.read_csv` / `pandas.read_parquet` or R's `read.csv` / "
        "`arrow::read_parquet`; the Parquet files keep the types (integers with missing values, "
        "true/false).",
        "",
        "## did_table.csv",
        "",
        *_table(("column", "what"), [(f"`{k}`", v) for k, v in DID_COLUMNS.items()]),
        "",
        "## flow.csv",
        "",
        *_table(("column", "what"), [(f"`{k}`", v) for k, v in FLOW_COLUMNS.items()]),
        "",
        "## findings.json",
        "",
        *_table(("key", "what"), [(f"`{k}`", v) for k, v in FINDINGS_KEYS.items()]),
        "",
        "## tables/: every table the report shows",
        "",
        "One file per table, named by the table's id in the report (`tbl-did` -> `did`). Columns come",
        "from the table's header rows (joined, in snake case) and are typed:",
        "",
        "- a count or number is an integer or a number; a column whose every value is a percentage",
        "  ends `_pct` and keeps the percentage; a rate shown as `12.3% (45 / 366)` becomes",
        "  `<column>_proportion` (0 to 1), `<column>_count` and `<column>_denominator`; `45 (12.3%)`",
        "  becomes `<column>_count` and `<column>_proportion`;",
        "- an interval `0.41–0.81` becomes `<column>_low` and `<column>_high`; `0.58 (0.41–0.81)` becomes",
        "  `<column>`, `<column>_low` and `<column>_high`; `149 (8)` becomes `<column>` and",
        "  `<column>_bracketed`; text shown in place of or beside a number is in `<column>_note`;",
        "- a mark (`✓ yes`, `✗ no`) is true/false; `–` or an empty cell is missing;",
        "- a value withheld (a suppressed count, a bound such as `<0.001`) is missing, with what the",
        "  report shows in `<column>_marker`.",
        "",
        "Column names that carry a method's name (e.g. the headline method) change with the config;",
        "`tables/columns.csv` lists each run's own. The tables and columns of the test suite's",
        "fixture report (synthetic mode, default headline method; real-data mode adds `_marker`",
        "columns):",
        "",
    ]
    for (name, caption), cols in columns.groupby(["table", "caption"], sort=False):
        lines += [f"### `tables/{name}.csv`", "", caption, ""]
        lines += _table(
            ("column", "type", "header in the report", "count"),
            [
                (f"`{r.column}`", r.type, r.header, "yes" if r.count else "")
                for r in cols.itertuples(index=False)
            ],
        )
        lines.append("")
    return "\n".join(lines)
