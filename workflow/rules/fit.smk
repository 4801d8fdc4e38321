"""Fit stage: DiD models per outcome x cohort, then the tidy results table.

Inputs: results/derive/analysis_<cohort>.parquet.
Outputs: results/fit/<cohort>/<outcome>.parquet (main logit and LPM, CRV1),
results/fit/<cohort>/<outcome>_linkage_thresholds.parquet (death and crime: the same models at the
sensitivity linkage thresholds; deaths also counting only those registered within the late-registration
lag), results/fit/<cohort>/<outcome>_few_cluster.parquet (wild cluster bootstraps, randomisation
inference), results/fit/<cohort>/<outcome>_draws.parquet (the headline statistic and its bootstrap draws), results/fit/<cohort>/<outcome>_robustness.parquet and
_event_study.parquet (configured outcomes only), results/fit/<cohort>/composition.parquet (covariate
mix, denominator shares, adjustment sets), results/fit/did_results.{parquet,csv} (every row),
results/fit/event_study.parquet; results/fit/<cohort>/<outcome>_pilots.parquet and _pilot_areas.parquet
(a DiD per pilot area, the tests on them, leverage; stacked into results/fit/pilot_areas.parquet),
results/fit/<cohort>/<outcome>_power.parquet (minimum detectable odds ratios, copied onto the rows),
results/fit/<cohort>/linkage_negative_control.parquet (the DiD of the linkage's negative controls),
results/fit/imputations/<m>.parquet (the death and crime DiDs on imputed link set m) and
results/fit/linkage_mi.parquet (combined by Rubin's rules), results/fit/linkage_bounds.parquet (their events
and expected false and missed events by cell).
"""


rule fit_did:
    """Logistic DiD (area and period FE, CRV1 by area) and its linear companion for one outcome x cohort."""
    input:
        analysis=R / "derive" / "analysis_{cohort}.parquet",
        code=code("fit_did"),
    output:
        result=R / "fit" / "{cohort}" / "{outcome}.parquet",
    log:
        R / "logs" / "fit_did" / "{cohort}" / "{outcome}.log",
    benchmark:
        R / "benchmarks" / "fit_did" / "{cohort}" / "{outcome}.tsv"
    wildcard_constraints:
        cohort="drug|alcohol",
        outcome=OUTCOME_PATTERN,
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        models=model_settings("engine"),
        period_unit=config["study"]["period_unit"],
    script:
        "../../scripts/fit_did.py"


rule fit_linkage_sensitivity:
    """The main logistic DiD and its linear companion at the sensitivity linkage thresholds (death, crime) and,
    where the outcome's settings give one, counting only the records registered within the late-registration lag.
    """
    input:
        analysis=R / "derive" / "analysis_{cohort}.parquet",
        code=code("fit_linkage_sensitivity"),
    output:
        result=R / "fit" / "{cohort}" / "{outcome}_linkage_thresholds.parquet",
    log:
        R / "logs" / "fit_linkage_sensitivity" / "{cohort}" / "{outcome}.log",
    benchmark:
        R / "benchmarks" / "fit_linkage_sensitivity" / "{cohort}" / "{outcome}.tsv"
    wildcard_constraints:
        cohort="drug|alcohol",
        outcome="|".join(linked_outcomes()),
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2500,
        runtime=20,
    params:
        models=model_settings("engine"),
        period_unit=config["study"]["period_unit"],
        linkage=linkage_thresholds(),
        registered_within=registration_lag_of,
        inference=pick(
            config["models"]["inference"], "bootstrap_reps", "ri_reps", "seed"
        ),
    script:
        "../../scripts/fit_linkage_sensitivity.py"


rule fit_linkage_negative_control:
    """The DiD of the linkage's negative controls (grey-zone links, offences before the start) for one cohort."""
    input:
        unpack(negative_control_inputs),
        code=code("fit_linkage_negative_control"),
    output:
        result=R / "fit" / "{cohort}" / "linkage_negative_control.parquet",
    log:
        R / "logs" / "fit_linkage_negative_control" / "{cohort}.log",
    benchmark:
        R / "benchmarks" / "fit_linkage_negative_control" / "{cohort}.tsv"
    wildcard_constraints:
        cohort="drug|alcohol",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        models=model_settings("engine"),
        period_unit=config["study"]["period_unit"],
        linkage=pick(config["linkage"], "threshold"),
        registers=REGISTERS,
        inference=pick(
            config["models"]["inference"], "bootstrap_reps", "ri_reps", "seed"
        ),
    script:
        "../../scripts/fit_linkage_negative_control.py"


rule fit_imputed_links:
    """One imputed link set per register, its death and crime outcomes and their logit DiDs (every cohort)."""
    input:
        unpack(imputation_inputs),
        code=code("fit_imputed_links"),
    output:
        result=R / "fit" / "imputations" / "{imputation}.parquet",
    log:
        R / "logs" / "fit_imputed_links" / "{imputation}.log",
    benchmark:
        R / "benchmarks" / "fit_imputed_links" / "{imputation}.tsv"
    wildcard_constraints:
        imputation=r"\d+",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        seed=config["linkage"]["imputation_seed"],
        registers=REGISTERS,
        cohorts=COHORTS,
        outcomes=imputed_outcomes(),
        definitions=linked_definitions(imputed_outcomes()),
        models=model_settings("engine"),
        period_unit=config["study"]["period_unit"],
    script:
        "../../scripts/fit_imputed_links.py"


rule combine_imputations:
    """The imputed link sets' DiDs combined by Rubin's rules; the headline interval widened by their variance ratio."""
    input:
        imputations=expand(
            R / "fit" / "imputations" / "{imputation}.parquet",
            imputation=range(1, IMPUTATIONS + 1),
        ),
        headline=[
            R / "fit" / c / f"{o}_few_cluster.parquet"
            for c in COHORTS
            for o in imputed_outcomes()
        ],
        code=code("combine_imputations"),
    output:
        result=R / "fit" / "linkage_mi.parquet",
    log:
        R / "logs" / "combine_imputations.log",
    benchmark:
        R / "benchmarks" / "combine_imputations.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        models=pick(config["models"], "headline_method", "confidence_level"),
    script:
        "../../scripts/combine_imputations.py"


rule bound_linked_outcomes:
    """Events and the expected false and missed events of the death and crime outcomes by cell."""
    input:
        unpack(bound_inputs),
        code=code("bound_linked_outcomes"),
    output:
        result=R / "fit" / "linkage_bounds.parquet",
    log:
        R / "logs" / "bound_linked_outcomes.log",
    benchmark:
        R / "benchmarks" / "bound_linked_outcomes.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        threshold=config["linkage"]["threshold"],
        registers=REGISTERS,
        cohorts=COHORTS,
        outcomes=modelled_linked_outcomes(),
        definitions=linked_definitions(modelled_linked_outcomes()),
    script:
        "../../scripts/bound_linked_outcomes.py"


rule infer_few_cluster:
    """Few-cluster inference for one outcome x cohort: wild cluster bootstraps and randomisation inference;
    the headline statistic's bootstrap draws (draw 0 observed) for the Romano-Wolf adjustment.
    """
    input:
        analysis=R / "derive" / "analysis_{cohort}.parquet",
        code=code("infer_few_cluster"),
    output:
        result=R / "fit" / "{cohort}" / "{outcome}_few_cluster.parquet",
        draws=R / "fit" / "{cohort}" / "{outcome}_draws.parquet",
    log:
        R / "logs" / "infer_few_cluster" / "{cohort}" / "{outcome}.log",
    benchmark:
        R / "benchmarks" / "infer_few_cluster" / "{cohort}" / "{outcome}.tsv"
    wildcard_constraints:
        cohort="drug|alcohol",
        outcome=OUTCOME_PATTERN,
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        models=model_settings(),
        inference=config["models"]["inference"],
        period_unit=config["study"]["period_unit"],
    script:
        "../../scripts/infer_few_cluster.py"


rule fit_pilots:
    """A DiD per pilot area (the other pilots left out), Ibragimov-Mueller and Canay-Romano-Shaikh tests, leverage;
    the same tests on the pilots' linear pre-trends."""
    input:
        analysis=R / "derive" / "analysis_{cohort}.parquet",
        code=code("fit_pilots"),
    output:
        result=R / "fit" / "{cohort}" / "{outcome}_pilots.parquet",
        areas=R / "fit" / "{cohort}" / "{outcome}_pilot_areas.parquet",
    log:
        R / "logs" / "fit_pilots" / "{cohort}" / "{outcome}.log",
    benchmark:
        R / "benchmarks" / "fit_pilots" / "{cohort}" / "{outcome}.tsv"
    wildcard_constraints:
        cohort="drug|alcohol",
        outcome=OUTCOME_PATTERN,
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        models=model_settings(),
        period_unit=config["study"]["period_unit"],
        event_study_bin=config["models"]["robustness"]["event_study_bin"],
        outcome_settings=config["outcomes"],
        pre_start=config["study"]["pre_start"],
        post_start=config["study"]["post_start"],
    script:
        "../../scripts/fit_pilots.py"


rule fit_power:
    """Minimum detectable odds ratio of logit_score_wcb at the target power (score-space simulation)."""
    input:
        analysis=R / "derive" / "analysis_{cohort}.parquet",
        code=code("fit_power"),
    output:
        result=R / "fit" / "{cohort}" / "{outcome}_power.parquet",
    log:
        R / "logs" / "fit_power" / "{cohort}" / "{outcome}.log",
    benchmark:
        R / "benchmarks" / "fit_power" / "{cohort}" / "{outcome}.tsv"
    wildcard_constraints:
        cohort="drug|alcohol",
        outcome=OUTCOME_PATTERN,
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        models=model_settings(),
        power=config["models"]["power"],
        period_unit=config["study"]["period_unit"],
    script:
        "../../scripts/fit_power.py"


rule fit_robustness:
    """Event study with pre-trend tests (CRV1 and restricted wild cluster bootstraps), placebo start, leave one
    pilot area out, Mason 2015 window (each with the score bootstrap), timing sensitivity (donut, clear reference
    and placebo); for an outcome of robustness.mason_outcomes alone, the Mason 2015 window only.
    """
    input:
        analysis=R / "derive" / "analysis_{cohort}.parquet",
        code=code("fit_robustness"),
    output:
        result=R / "fit" / "{cohort}" / "{outcome}_robustness.parquet",
        event_study=R / "fit" / "{cohort}" / "{outcome}_event_study.parquet",
    log:
        R / "logs" / "fit_robustness" / "{cohort}" / "{outcome}.log",
    benchmark:
        R / "benchmarks" / "fit_robustness" / "{cohort}" / "{outcome}.tsv"
    wildcard_constraints:
        cohort="drug|alcohol",
        outcome=OUTCOME_PATTERN,
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        models=model_settings("engine"),
        robustness=pick(
            config["models"]["robustness"],
            "event_study_bin",
            "placebo_start",
            "mason_pre_start",
            "mason_post_end",
            "mason_random_intercept",
        ),
        variants=robustness_variants,
        inference=pick(
            config["models"]["inference"], "bootstrap_reps", "ri_reps", "seed"
        ),
        outcome_settings=config["outcomes"],
        period_unit=config["study"]["period_unit"],
        pre_start=config["study"]["pre_start"],
        post_start=config["study"]["post_start"],
    script:
        "../../scripts/fit_robustness.py"


rule fit_composition:
    """Covariate mix, denominator shares and adjustment sets (composition checks) for one cohort."""
    input:
        analysis=R / "derive" / "analysis_{cohort}.parquet",
        code=code("fit_composition"),
    output:
        result=R / "fit" / "{cohort}" / "composition.parquet",
    log:
        R / "logs" / "fit_composition" / "{cohort}.log",
    benchmark:
        R / "benchmarks" / "fit_composition" / "{cohort}.tsv"
    wildcard_constraints:
        cohort="drug|alcohol",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        models=model_settings("outcomes"),
        inference=pick(
            config["models"]["inference"], "bootstrap_reps", "ri_reps", "seed"
        ),
        robustness=pick(
            config["models"]["robustness"],
            "outcomes",
            "cohorts",
            "demographic_covariates",
            "post_start_covariates",
        ),
        period_unit=config["study"]["period_unit"],
    script:
        "../../scripts/fit_composition.py"


rule collect_results:
    """Stack every model's rows into the tidy results table (Parquet and CSV) and the event-study table;
    Holm and Romano-Wolf p-values on the headline rows."""
    input:
        parts=fit_parts(),
        event_studies=event_study_parts(),
        draws=draws_parts(),
        pilot_areas=pilot_area_parts(),
        power=power_parts(),
        code=code("collect_results"),
    output:
        parquet=R / "fit" / "did_results.parquet",
        csv=R / "fit" / "did_results.csv",
        event_study=R / "fit" / "event_study.parquet",
        pilot_areas=R / "fit" / "pilot_areas.parquet",
    log:
        R / "logs" / "collect_results.log",
    benchmark:
        R / "benchmarks" / "collect_results.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        headline_method=config["models"]["headline_method"],
    script:
        "../../scripts/collect_results.py"
