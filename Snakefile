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
    extract,
    link,
    derive,
    fit,
    report,
    tabulate_rates,
    collect_results,
    render_report,
    simulation,
    sim_summary,


rule all:
    """The report and everything it needs (the default target)."""
    input:
        REPORT,


include: "workflow/rules/extract.smk"
include: "workflow/rules/link.smk"
include: "workflow/rules/derive.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/simulation.smk"


# Named stage targets: `snakemake link` stops after linkage, and so on.
rule extract:
    """Validated extracts, their flow table and the fingerprint of the source read."""
    input:
        expand(R / "extract" / "{table}.parquet", table=TABLE_NAMES),
        R / "extract" / "source.json",


rule link:
    """Pseudonymous persons, register links and linkage quality."""
    input:
        R / "link" / "episodes.parquet",
        expand(R / "link" / "{register}.parquet", register=sorted(REGISTERS)),
        R / "link" / "quality.parquet",


rule derive:
    """Journeys, the analysis tables of every cohort and the outcome rates."""
    input:
        expand(R / "derive" / "analysis_{cohort}.parquet", cohort=COHORTS),
        R / "derive" / "rates.parquet",


rule fit:
    """Every model: the tidy results table."""
    input:
        R / "fit" / "did_results.parquet",


rule report:
    """The report (the same as the default target)."""
    input:
        REPORT,
