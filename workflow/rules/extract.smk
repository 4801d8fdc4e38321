"""Extract stage.

Inputs: config (data.source; synthetic.* or data.real.*).
Outputs: results/extract/<table>.parquet (validated contract tables), results/extract/flow.parquet;
in synthetic mode also results/extract/synthetic/ (raw extracts) and results/truth/ (evaluation only).
"""


rule generate_synthetic:
    """Generate synthetic extracts in the input contract, and their truth."""
    input:
        code=code("generate_synthetic"),
        reference=synthetic_reference(),
    output:
        tables=expand(
            R / "extract" / "synthetic" / "{table}.parquet", table=TABLE_NAMES
        ),
        truth=directory(R / "truth" / "tables"),
        effects=R / "truth" / "effects.json",
    log:
        R / "logs" / "generate_synthetic.log",
    benchmark:
        R / "benchmarks" / "generate_synthetic.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        synthetic=synthetic_settings(config),
    script:
        "../../scripts/generate_synthetic.py"


rule validate_extracts:
    """Read the extracts (files or database), validate them against the contract, write canonical tables."""
    input:
        unpack(raw_extract_files),
        code=code("validate_extracts"),
    output:
        tables=expand(R / "extract" / "{table}.parquet", table=TABLE_NAMES),
        flow=R / "extract" / "flow.parquet",
        source=R / "extract" / "source.json",
    log:
        R / "logs" / "validate_extracts.log",
    benchmark:
        R / "benchmarks" / "validate_extracts.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        source=extract_source(),
        fingerprint=source_fingerprint,
        placeholder_dates_of_birth=config["linkage"]["placeholder_dates_of_birth"],
        max_age=config["study"]["max_age"],
    script:
        "../../scripts/validate_extracts.py"
