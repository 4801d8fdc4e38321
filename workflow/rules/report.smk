"""Report stage.

Inputs: results/fit/did_results.parquet, event_study.parquet and (when collect_results writes
it) pilot_areas.parquet; results/derive/rates.parquet,
trends.parquet, baseline.parquet; results/link/quality.parquet, match_rates.parquet,
calibration.parquet, indicators.parquet, registration_lag.parquet and pairs_<register>.parquet (this puts assess_linkage
in the DAG); every flow table; the validated
extracts (for checksums); results/truth/effects.json (synthetic mode); the templates under report/.
Outputs: results/report/report.html (self-contained), and for `snakemake --report`: the forest plot,
the DiD table, the event-study and trend figures and the flow table (captions in report/captions/);
results/report/figures/: every figure the report shows, as PNG (200 dpi) and SVG;
results/report/tables/: every table the report shows as typed CSV and Parquet, with columns.csv
(the data dictionary); results/report/findings.json: the verdicts as data (docs/outputs.md).
"""


rule render_report:
    """Render the self-contained HTML report and its figures and tables for Snakemake's report."""
    input:
        results=R / "fit" / "did_results.parquet",
        # optional: the per-pilot table, when collect_results writes one
        pilot_areas=R / "fit" / "pilot_areas.parquet",
        event_study=R / "fit" / "event_study.parquet",
        rates=R / "derive" / "rates.parquet",
        trends=R / "derive" / "trends.parquet",
        baseline=R / "derive" / "baseline.parquet",
        quality=R / "link" / "quality.parquet",
        match_rates=R / "link" / "match_rates.parquet",
        calibration=R / "link" / "calibration.parquet",
        link_indicators=R / "link" / "indicators.parquet",
        # optional: the death and crime outcomes' expected errors by cell, when one is modelled
        link_bounds=(
            [R / "fit" / "linkage_bounds.parquet"]
            if modelled_linked_outcomes()
            else []
        ),
        registration_lag=R / "link" / "registration_lag.parquet",
        pairs=expand(
            R / "link" / "pairs_{register}.parquet", register=sorted(REGISTERS)
        ),
        effects=[R / "truth" / "effects.json"] if SYNTHETIC else [],
        flows=flow_files(),
        extracts=expand(R / "extract" / "{table}.parquet", table=TABLE_NAMES),
        source=R / "extract" / "source.json",
        templates=[
            "report/report.html.j2",
            "report/_pilots.html.j2",
            "report/_composition.html.j2",
            "report/report.css",
        ],
        # the measured sizes of the inference methods, printed beside every verdict, and the simulation
        # study's rates per scenario, from which the report names where no method holds its size (when written)
        sizes=[
            p
            for p in [
                "src/pbr/registry/data/method_sizes.csv",
                "src/pbr/registry/data/study_rates.csv",
            ]
            if os.path.exists(p)
        ],
        code=code("render_report"),
    output:
        html=report(
            REPORT,
            caption="../../report/captions/report.rst",
            category="1. Report",
            labels={"item": "HTML report (self-contained)"},
        ),
        forest=report(
            R / "report" / "forest_plot.png",
            caption="../../report/captions/forest_plot.rst",
            category="2. Main results",
            labels={"item": "Forest plot of DiD odds ratios"},
        ),
        did_table=report(
            R / "report" / "did_table.csv",
            caption="../../report/captions/did_table.rst",
            category="2. Main results",
            labels={"item": "DiD odds ratios beside published"},
        ),
        event_study=report(
            R / "report" / "event_study.png",
            caption="../../report/captions/event_study.rst",
            category="3. Robustness",
            labels={"item": "Event studies with pre-trend tests"},
        ),
        trends=report(
            R / "report" / "trends.png",
            caption="../../report/captions/trends.rst",
            category="4. Outcome rates",
            labels={"item": "Quarterly rates, pilot vs other"},
        ),
        flow=report(
            R / "report" / "flow.csv",
            caption="../../report/captions/flow.rst",
            category="5. Record flow",
            labels={"item": "Flow table"},
        ),
        # every figure the report shows, as <figure id>.png (200 dpi) and .svg
        figures=directory(R / "report" / "figures"),
        # every table the report shows, typed, as <name>.csv and <name>.parquet, and columns.csv
        tables=directory(R / "report" / "tables"),
        findings=report(
            R / "report" / "findings.json",
            caption="../../report/captions/findings.rst",
            category="2. Main results",
            labels={"item": "Findings as data (JSON)"},
        ),
    log:
        R / "logs" / "render_report.log",
    benchmark:
        R / "benchmarks" / "render_report.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        config=public_config(config),
    script:
        "../../scripts/render_report.py"
