"""Report stage.

Inputs: results/fit/did_results.parquet, results/derive/rates.parquet, every flow table,
the validated extracts (for checksums), the templates under report/.
Outputs: results/report/report.html (self-contained).
"""


rule render_report:
    """Render the self-contained HTML report."""
    input:
        results=R / "fit" / "did_results.parquet",
        rates=R / "derive" / "rates.parquet",
        flows=flow_files(),
        extracts=expand(R / "extract" / "{table}.parquet", table=TABLE_NAMES),
        templates=["report/report.html.j2", "report/report.css"],
        code=lib("report", "published", "config"),
    output:
        html=REPORT,
    log:
        R / "logs" / "render_report.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        config=config,
    script:
        "../../scripts/render_report.py"
