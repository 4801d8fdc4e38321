"""PbR pilot evaluation, end to end: extract -> link -> derive -> fit -> report.

Output path scheme (everything under results/, nothing else is written):
    results/extract/synthetic/<table>.parquet   synthetic extracts in the input contract (synthetic mode)
    results/truth/...                           synthetic truth, read only by evaluation code
    results/extract/<table>.parquet             validated extracts (identifiers still present)
    results/link/...                            persons and register links; identifiers end here
    results/derive/...                          journeys, analysis tables (one per cohort), rates
    results/fit/<cohort>/<outcome>.parquet      one DiD job per outcome x cohort
    results/fit/did_results.{parquet,csv}       the tidy results table
    results/report/report.html                  the report
    results/logs/<rule>/..., results/benchmarks/<rule>/...
"""

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


# cheap rules run where Snakemake runs (the login node on a cluster)
localrules:
    all,
    tabulate_rates,
    collect_results,
    render_report,


rule all:
    """The report and everything it needs (the default target)."""
    input:
        REPORT,


include: "workflow/rules/extract.smk"
include: "workflow/rules/link.smk"
include: "workflow/rules/derive.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/report.smk"
