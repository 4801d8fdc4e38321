"""Link stage: identifiers end here.

Inputs: results/extract/ndtms_episodes.parquet, ons_deaths.parquet, pnc_offences.parquet.
Outputs: results/link/episodes.parquet (de-identified, with person_id and age), results/link/deaths.parquet,
results/link/offences.parquet (person -> register record), and their flow tables.
"""


rule link_persons:
    """Group NDTMS episodes into pseudonymous persons and drop identifiers."""
    input:
        episodes=R / "extract" / "ndtms_episodes.parquet",
        code=lib("link"),
    output:
        episodes=R / "link" / "episodes.parquet",
        flow=R / "link" / "flow_persons.parquet",
    log:
        R / "logs" / "link_persons.log",
    benchmark:
        R / "benchmarks" / "link_persons.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        source=config["data"]["source"],
        linkage=config["linkage"],
    script:
        "../../scripts/link_persons.py"


rule link_register:
    """Link NDTMS persons to a register (deaths: ONS; offences: PNC)."""
    input:
        episodes=R / "extract" / "ndtms_episodes.parquet",
        register=register_table,
        code=lib("link"),
    output:
        links=R / "link" / "{register}.parquet",
        flow=R / "link" / "flow_{register}.parquet",
    log:
        R / "logs" / "link_register" / "{register}.log",
    benchmark:
        R / "benchmarks" / "link_register" / "{register}.tsv"
    wildcard_constraints:
        register="deaths|offences",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    params:
        source=config["data"]["source"],
        linkage=config["linkage"],
        spec=register_spec,
    script:
        "../../scripts/link_register.py"
