"""Link stage: identifiers end here.

Inputs: results/extract/ndtms_episodes.parquet, ons_deaths.parquet, pnc_offences.parquet;
results/derive/journeys.parquet (for quality by group and period); results/truth/ (synthetic only).
Outputs: results/extract/link_records_<side>.parquet (one linkage record per NDTMS person, ONS
death or PNC offender identity; these keep identifiers, so they stay beside the validated extracts);
results/link/episodes.parquet (de-identified, with person_id and age);
results/link/model_<register>.json (trained splink model); results/link/<register>.parquet
(person -> register records, with match probability); results/link/pairs_<register>.parquet and
exact_<register>.parquet (candidate pairs, for quality); results/link/quality.parquet,
match_rates.parquet, calibration.parquet (the match probabilities against the synthetic truth;
empty with real data) and registration_lag.parquet (the delay from death to registration of the linked
deaths by group x period, and the extract's latest registration). Registers: deaths (ONS), offences (PNC).
"""


rule link_persons:
    """Group NDTMS episodes into pseudonymous persons and drop identifiers."""
    input:
        episodes=R / "extract" / "ndtms_episodes.parquet",
        code=code("link_persons"),
    output:
        episodes=R / "link" / "episodes.parquet",
        flow=R / "link" / "flow_persons.parquet",
    log:
        R / "logs" / "link_persons.log",
    benchmark:
        R / "benchmarks" / "link_persons.tsv"
    priority: 5
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        source=config["data"]["source"],
        key_id=key_id,
        transfers=person_transfers(),
    script:
        "../../scripts/link_persons.py"


rule link_records:
    """Linkage records of one side, built once for training and prediction (identifiers kept)."""
    input:
        table=link_records_table,
        tops=link_records_tops,
        areas=R / "extract" / "areas.parquet",
        code=code("link_records"),
    output:
        records=R / "extract" / "link_records_{side}.parquet",
    log:
        R / "logs" / "link_records" / "{side}.log",
    benchmark:
        R / "benchmarks" / "link_records" / "{side}.tsv"
    wildcard_constraints:
        side="ndtms|deaths|offences",
    priority: 10
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=2500,
        runtime=15,
    params:
        source=config["data"]["source"],
        key_id=key_id,
        spec=link_records_spec,
        transfers=person_transfers,
    script:
        "../../scripts/link_records.py"


rule train_linkage:
    """Train the Fellegi-Sunter model linking NDTMS persons to one register; save it as JSON."""
    input:
        left=R / "extract" / "link_records_ndtms.parquet",
        right=R / "extract" / "link_records_{register}.parquet",
        code=code("train_linkage"),
    output:
        model=R / "link" / "model_{register}.json",
    log:
        R / "logs" / "train_linkage" / "{register}.log",
    benchmark:
        R / "benchmarks" / "train_linkage" / "{register}.tsv"
    wildcard_constraints:
        register="deaths|offences",
    priority: 10
    conda:
        ENV
    threads: 2
    resources:
        mem_mb=6000,
        runtime=20,
    params:
        linkage=pick(
            config["linkage"],
            "method",
            "recall",
            "seed",
            "u_max_pairs",
            "em_max_pairs",
        ),
    script:
        "../../scripts/train_linkage.py"


rule predict_links:
    """Score candidate pairs with the trained model, match them (each unit to one person, each person
    within linkage.units_per_person) and write the link table."""
    input:
        left=R / "extract" / "link_records_ndtms.parquet",
        right=R / "extract" / "link_records_{register}.parquet",
        register=register_table,
        model=R / "link" / "model_{register}.json",
        code=code("predict_links"),
    output:
        links=R / "link" / "{register}.parquet",
        pairs=R / "link" / "pairs_{register}.parquet",
        candidates=R / "link" / "candidates_{register}.parquet",
        exact=R / "link" / "exact_{register}.parquet",
        flow=R / "link" / "flow_{register}.parquet",
    log:
        R / "logs" / "predict_links" / "{register}.log",
    benchmark:
        R / "benchmarks" / "predict_links" / "{register}.tsv"
    wildcard_constraints:
        register="deaths|offences",
    priority: 10
    conda:
        ENV
    threads: 2
    # a local run's budget: DuckDB may hold 60% (2.4 GB) and spills the rest; the process peaked at
    # 3,107 MiB at paper scale in session 24 (4,411 with 6000 MB and the whole register read;
    # profiles/slurm sets the cluster's budget; docs/cluster.md)
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        linkage=pick(
            config["linkage"],
            "method",
            "min_probability",
            "threshold",
            "min_link_rate",
            "units_per_person",
        ),
        spec=register_spec,
    script:
        "../../scripts/predict_links.py"


rule assess_linkage:
    """Linkage quality: match rates and the indicators without truth (expected false and missed
    links, grey zone) by cohort x group x period; the registration delay of the linked deaths by group x
    period; precision, recall, F1 and the calibration of the match probabilities on synthetic data.
    """
    input:
        unpack(linkage_quality_inputs),
        # offenders' pseudonyms by PNC id (the truth names PNC ids), looked up, not hashed again
        records_offences=R / "extract" / "link_records_offences.parquet",
        # every death's dates (death, registration) for the extract's registration cut-off; no identifier is read
        deaths_extract=R / "extract" / "ons_deaths.parquet",
        code=code("assess_linkage"),
    output:
        quality=R / "link" / "quality.parquet",
        match_rates=R / "link" / "match_rates.parquet",
        calibration=R / "link" / "calibration.parquet",
        indicators=R / "link" / "indicators.parquet",
        registration_lag=R / "link" / "registration_lag.parquet",
    log:
        R / "logs" / "assess_linkage.log",
    benchmark:
        R / "benchmarks" / "assess_linkage.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        linkage=pick(
            config["linkage"], "threshold", "quality_thresholds", "min_link_rate"
        ),
        post_end=config["study"]["post_end"],
        deaths=pick(
            config["outcomes"]["drug_related_death"], "window_days", "icd10_prefixes"
        ),
        registers=REGISTERS,
    script:
        "../../scripts/assess_linkage.py"
