# The simulation study of the inference methods (issue #20): `snakemake simulation`.
# Not part of `all`: one job per scenario for its targets, one per scenario x chunk of
# replicates, merged into results/simulation/performance.csv.


rule sim_truth:
    """A scenario's targets: the logit's log OR and the LPM's risk difference, by large runs of its mechanism."""
    input:
        code=code("sim_truth"),
    output:
        truth=SIM_DIR / "truth" / "{scenario}.parquet",
    log:
        R / "logs" / "sim_truth" / "{scenario}.log",
    benchmark:
        R / "benchmarks" / "sim_truth" / "{scenario}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        settings=sim_settings("truth_runs", "truth_scale"),
    script:
        "../../scripts/sim_truth.py"


rule sim_chunk:
    """Every method on one chunk of a scenario's replicates: estimates and p-values at the truth and at 0."""
    input:
        truth=SIM_DIR / "truth" / "{scenario}.parquet",
        code=code("sim_chunk"),
    output:
        pvalues=SIM_DIR / "pvalues" / "{scenario}" / "chunk_{chunk}.parquet",
    log:
        R / "logs" / "sim_chunk" / "{scenario}" / "chunk_{chunk}.log",
    benchmark:
        R / "benchmarks" / "sim_chunk" / "{scenario}" / "chunk_{chunk}.tsv"
    wildcard_constraints:
        chunk=r"\d+",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=240,
    params:
        settings=sim_settings(
            "replicates", "screening_replicates", "chunks", "bootstrap_reps", "ri_reps"
        ),
    script:
        "../../scripts/sim_chunk.py"


rule sim_checks:
    """The robustness checks (placebo, leave-one-out, Mason 2015 window, donut) and the main model's interval
    widths on one chunk of a scenario's replicates (the same replicates as sim_chunk's).
    """
    input:
        code=code("sim_checks"),
    output:
        checks=SIM_DIR / "checks" / "{scenario}" / "chunk_{chunk}.parquet",
    log:
        R / "logs" / "sim_checks" / "{scenario}" / "chunk_{chunk}.log",
    benchmark:
        R / "benchmarks" / "sim_checks" / "{scenario}" / "chunk_{chunk}.tsv"
    wildcard_constraints:
        chunk=r"\d+",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=240,
    params:
        settings=sim_settings(
            "check_replicates", "interval_replicates", "chunks", "bootstrap_reps"
        ),
    script:
        "../../scripts/sim_checks.py"


rule sim_trends:
    """The per-pilot linear pre-trend tests (Ibragimov-Mueller, Canay-Romano-Shaikh) on one chunk of a
    scenario's replicates (the same replicates as sim_chunk's)."""
    input:
        code=code("sim_trends"),
    output:
        trends=SIM_DIR / "trends" / "{scenario}" / "chunk_{chunk}.parquet",
    log:
        R / "logs" / "sim_trends" / "{scenario}" / "chunk_{chunk}.log",
    benchmark:
        R / "benchmarks" / "sim_trends" / "{scenario}" / "chunk_{chunk}.tsv"
    wildcard_constraints:
        chunk=r"\d+",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=240,
    params:
        settings=sim_settings("trend_replicates", "chunks"),
    script:
        "../../scripts/sim_trends.py"


rule sim_summary:
    """Size, coverage, power and bias of every method in every scenario, with Monte Carlo SEs."""
    input:
        truth=expand(
            SIM_DIR / "truth" / "{scenario}.parquet", scenario=SIM["scenarios"]
        ),
        pvalues=expand(
            SIM_DIR / "pvalues" / "{scenario}" / "chunk_{chunk}.parquet",
            scenario=SIM["scenarios"],
            chunk=range(SIM["chunks"]),
        ),
        checks=expand(
            SIM_DIR / "checks" / "{scenario}" / "chunk_{chunk}.parquet",
            scenario=SIM["scenarios"],
            chunk=range(SIM["chunks"]),
        ),
        trends=expand(
            SIM_DIR / "trends" / "{scenario}" / "chunk_{chunk}.parquet",
            scenario=SIM["scenarios"],
            chunk=range(SIM["chunks"]),
        ),
        code=code("sim_summary"),
    output:
        performance=SIM_DIR / "performance.csv",
        markdown=SIM_DIR / "performance.md",
    log:
        R / "logs" / "sim_summary.log",
    benchmark:
        R / "benchmarks" / "sim_summary.tsv"
    conda:
        ENV
    params:
        settings=sim_settings(
            "scenarios",
            "replicates",
            "screening_replicates",
            "check_replicates",
            "interval_replicates",
            "trend_replicates",
        ),
    script:
        "../../scripts/sim_summary.py"


rule simulation:
    """The simulation study's results (not part of the default target)."""
    input:
        SIM_DIR / "performance.csv",
