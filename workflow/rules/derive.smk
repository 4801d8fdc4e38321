"""Derive stage: journeys, cohorts, outcomes.

Inputs: results/link/episodes.parquet, deaths.parquet, offences.parquet; results/extract/areas.parquet
and ndtms_top.parquet (TOP holds no identifiers).
Outputs: results/derive/journeys.parquet (every journey, with its exclusion reason or none),
results/derive/episode_journey.parquet, results/derive/flow_cohorts.parquet,
results/derive/analysis_<cohort>.parquet (one row per journey, one column per outcome),
results/derive/rates.parquet (raw rates by cohort x group x period).
"""


rule build_journeys:
    """Join episodes into journeys and select the study cohorts."""
    input:
        episodes=R / "link" / "episodes.parquet",
        areas=R / "extract" / "areas.parquet",
        code=code("build_journeys"),
    output:
        journeys=R / "derive" / "journeys.parquet",
        episode_journey=R / "derive" / "episode_journey.parquet",
        flow=R / "derive" / "flow_cohorts.parquet",
    log:
        R / "logs" / "build_journeys.log",
    benchmark:
        R / "benchmarks" / "build_journeys.tsv"
    priority: 5
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        study=pick(
            config["study"],
            "pre_start",
            "post_start",
            "post_end",
            "partial_pilot_rule",
            "cohorts",
            "min_age",
        ),
        journeys=config["journeys"],
    script:
        "../../scripts/build_journeys.py"


rule derive_outcomes:
    """Compute every outcome for one cohort's journeys: the analysis table."""
    input:
        journeys=R / "derive" / "journeys.parquet",
        episode_journey=R / "derive" / "episode_journey.parquet",
        top=R / "extract" / "ndtms_top.parquet",
        deaths=R / "link" / "deaths.parquet",
        offences=R / "link" / "offences.parquet",
        code=code("derive_outcomes"),
    output:
        analysis=R / "derive" / "analysis_{cohort}.parquet",
    log:
        R / "logs" / "derive_outcomes" / "{cohort}.log",
    benchmark:
        R / "benchmarks" / "derive_outcomes" / "{cohort}.tsv"
    wildcard_constraints:
        cohort="drug|alcohol",
    priority: 5
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        outcomes=config["outcomes"],
        linkage=linkage_thresholds(),
    script:
        "../../scripts/derive_outcomes.py"


rule tabulate_rates:
    """Raw outcome rates by group x period (2x2 tables), by quarter (trends), and baseline characteristics."""
    input:
        analysis=expand(R / "derive" / "analysis_{cohort}.parquet", cohort=COHORTS),
        code=code("tabulate_rates"),
    output:
        rates=R / "derive" / "rates.parquet",
        trends=R / "derive" / "trends.parquet",
        baseline=R / "derive" / "baseline.parquet",
    log:
        R / "logs" / "tabulate_rates.log",
    benchmark:
        R / "benchmarks" / "tabulate_rates.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        outcomes=OUTCOMES,
    script:
        "../../scripts/tabulate_rates.py"
