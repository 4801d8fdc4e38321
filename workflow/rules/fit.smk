"""Fit stage: one DiD job per outcome x cohort, then the tidy results table.

Inputs: results/derive/analysis_<cohort>.parquet.
Outputs: results/fit/<cohort>/<outcome>.parquet, results/fit/did_results.parquet and .csv.
"""


rule fit_did:
    """Logistic DiD (area and period FE, CRV1 by area) and its linear companion for one outcome x cohort."""
    input:
        analysis=R / "derive" / "analysis_{cohort}.parquet",
        code=lib("models"),
    output:
        result=R / "fit" / "{cohort}" / "{outcome}.parquet",
    log:
        R / "logs" / "fit_did" / "{cohort}" / "{outcome}.log",
    benchmark:
        R / "benchmarks" / "fit_did" / "{cohort}" / "{outcome}.tsv"
    wildcard_constraints:
        cohort="drug|alcohol",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        models=config["models"],
        period_unit=config["study"]["period_unit"],
    script:
        "../../scripts/fit_did.py"


rule collect_results:
    """Stack every model's rows into the tidy results table (Parquet and CSV)."""
    input:
        parts=expand(
            R / "fit" / "{cohort}" / "{outcome}.parquet",
            cohort=COHORTS,
            outcome=OUTCOMES,
        ),
        code=lib("models"),
    output:
        parquet=R / "fit" / "did_results.parquet",
        csv=R / "fit" / "did_results.csv",
    log:
        R / "logs" / "collect_results.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/collect_results.py"
