"""Shared set-up: config validation, paths, library dependencies and input functions.

Every rule module includes nothing itself; the Snakefile includes this first.
"""

import os
import sys
from pathlib import Path

# Reproducibility: pyfixest 0.60 orders the absorbed fixed effects by iterating a set, so
# with Python's per-process string hashing fits differed in the last bits between runs.
# A fixed hash seed, inherited by every script and every SLURM job, removes that.
os.environ.update(PYTHONHASHSEED="0")

SRC = Path(workflow.basedir) / "src"
# The Snakefile imports the library from this checkout (scripts do the same via scripts/_bootstrap.py).
sys.path.insert(0, str(SRC))

from pbr import source  # noqa: E402
from pbr.config import (
    ConfigError,
    check_synthetic_settings,
    public_config,
    synthetic_settings,
    validate_config,
)  # noqa: E402
from pbr.contract import TABLES  # noqa: E402
from pbr.dependencies import code_inputs  # noqa: E402
from pbr.link.persons import transfer_settings  # noqa: E402
from pbr.registry.outcomes import by_name as outcome_entries  # noqa: E402
from pbr.registry.outcomes import linked_outcomes, registration_lag  # noqa: E402
from pbr.registry.registers import REGISTERS  # noqa: E402
from pbr.synthetic import params as synthetic_params  # noqa: E402


def stop(title, exc):
    """One clear message and exit 1, before any job runs (no traceback: the message says what to do)."""
    sys.stderr.write(f"\n{title}:\n{exc}\n\n")
    sys.exit(1)


try:
    config.update(validate_config(config))
    # the generator reads its own settings (pbr.config, a leaf, imports no stage)
    check_synthetic_settings(config, synthetic_params.SyntheticParams.from_config)
except ConfigError as exc:
    stop("Configuration error", exc)

ENV = "../../environment.yml"
SCRIPTS = Path(workflow.basedir) / "scripts"
R = Path(config["results_dir"])
TABLE_NAMES = sorted(TABLES)
COHORTS = config["study"]["cohorts"]
OUTCOMES = config["models"]["outcomes"]
OUTCOME_PATTERN = "|".join(OUTCOMES)
SYNTHETIC = config["data"]["source"] == "synthetic"
REAL = config["data"]["real"]
REPORT = R / "report" / "report.html"


def code(script):
    """The library files ``scripts/<script>.py`` imports (transitively) and its helpers: a rule's
    code inputs, derived from the imports when the DAG is built (pbr.dependencies), so that
    editing a module re-runs exactly the rules whose scripts use it."""
    return code_inputs(SCRIPTS / f"{script}.py", SRC)


def synthetic_reference():
    """The generator's reference tables (src/pbr/synthetic/data/: areas, probabilities,
    coefficients, names), read at start: inputs of generate_synthetic, so that editing one
    re-runs it, as editing its code does."""
    data = SRC / "pbr" / "synthetic" / "data"
    return sorted(
        os.path.relpath(p) for p in [*data.glob("*.csv"), *data.glob("*.yaml")]
    )


def pick(mapping, *keys):
    """The settings a rule's script reads, and no others: a setting re-runs only the jobs that use it."""
    return {k: mapping[k] for k in keys}


_FINGERPRINT = {}


def source_fingerprint(wildcards=None):
    """The real source's fingerprint (pbr.source), a parameter of validate_extracts: a change of
    directory, file content or database rows re-runs validation and everything after it.

    Computed once per process, and only where needed: the main Snakemake process checks the
    source before any job runs (below); a cluster job re-reading the Snakefile computes it
    only for the validation job (file hashes come from the cache)."""
    if SYNTHETIC:
        return None
    if "fp" not in _FINGERPRINT:
        try:
            _FINGERPRINT["fp"] = source.fingerprint(
                REAL, cache=R / "extract" / "source_hashes.json"
            )
        except source.SourceError as exc:
            stop("The real-data source cannot be used", exc)
    return _FINGERPRINT["fp"]


def raw_extract_files(wildcards):
    """The extract files the validation reads: synthetic output, or the analyst's files (their
    content is tracked by the fingerprint, not by file dates)."""
    if SYNTHETIC:
        return {
            t: str(R / "extract" / "synthetic" / f"{t}.parquet") for t in TABLE_NAMES
        }
    if REAL["url"]:
        return {}
    return {
        t: str(p)
        for t, p in source.table_files(REAL["directory"], REAL["format"])[0].items()
    }


def extract_source():
    """Where validate_extracts reads from, as plain values (no credentials), with the real source's fingerprint."""
    if SYNTHETIC:
        return {
            "kind": "synthetic",
            "directory": str(R / "extract" / "synthetic"),
            "url": None,
            "db_schema": None,
            "format": "parquet",
        }
    return source.real_source(REAL)


def flow_files():
    """Every stage's flow table, in pipeline order."""
    return [
        R / "extract" / "flow.parquet",
        R / "link" / "flow_persons.parquet",
        R / "link" / "flow_deaths.parquet",
        R / "link" / "flow_offences.parquet",
        R / "derive" / "flow_cohorts.parquet",
    ]


# the registers linked to persons: pbr.registry.registers.REGISTERS


def register_table(wildcards):
    """The validated extract behind a register link."""
    return R / "extract" / f"{REGISTERS[wildcards.register]['table']}.parquet"


def register_spec(wildcards):
    """Id column and carried fields of a register link."""
    return REGISTERS[wildcards.register]


def link_records_table(wildcards):
    """The validated extract one side's linkage records are built from (NDTMS episodes or a register)."""
    if wildcards.side == "ndtms":
        return R / "extract" / "ndtms_episodes.parquet"
    return R / "extract" / f"{REGISTERS[wildcards.side]['table']}.parquet"


def link_records_tops(wildcards):
    """The TOP interviews (their dates are contacts of a person alive); the NDTMS side only."""
    return R / "extract" / "ndtms_top.parquet" if wildcards.side == "ndtms" else []


def person_transfers(wildcards=None):
    """The transfer settings persons are joined across (linkage.transfer_bridges), or None: the
    NDTMS persons and their linkage records only (a register side needs none)."""
    if getattr(wildcards, "side", "ndtms") != "ndtms":
        return None
    return transfer_settings(config)


def link_records_spec(wildcards):
    """The register spec of a register side; empty for the NDTMS side."""
    return REGISTERS.get(wildcards.side, {})


def linkage_quality_inputs(wildcards):
    """Link outputs, journeys, and (synthetic mode) the truth needed to assess linkage."""
    files = {
        "episodes": R / "link" / "episodes.parquet",
        "journeys": R / "derive" / "journeys.parquet",
    }
    for reg in REGISTERS:
        files[f"links_{reg}"] = R / "link" / f"{reg}.parquet"
        files[f"exact_{reg}"] = R / "link" / f"exact_{reg}.parquet"
        files[f"pairs_{reg}"] = R / "link" / f"pairs_{reg}.parquet"
    if SYNTHETIC:
        files["truth"] = R / "truth" / "tables"
        files["offences_extract"] = R / "extract" / "pnc_offences.parquet"
    return files


def register_files(*kinds):
    """Every register's link-stage files of ``kinds`` ('links': <register>.parquet, 'pairs',
    'candidates': <kind>_<register>.parquet), keyed <kind>_<register> as the scripts read them.
    """
    return {
        f"{kind}_{reg}": R
        / "link"
        / (f"{reg}.parquet" if kind == "links" else f"{kind}_{reg}.parquet")
        for reg in REGISTERS
        for kind in kinds
    }


def negative_control_inputs(wildcards):
    """The analysis table of a cohort and every register's links and candidate pairs."""
    analysis = R / "derive" / f"analysis_{wildcards.cohort}.parquet"
    return {"analysis": analysis, **register_files("links", "pairs")}


def linkage_thresholds():
    """The linkage settings the outcomes depend on (only these re-run the outcomes when changed)."""
    return pick(
        config["linkage"],
        "threshold",
        "sensitivity_thresholds",
        "recall",
        "recall_sensitivity",
    )


def registration_lag_of(wildcards):
    """The late-registration lag (days) of the outcome's sensitivity fit, or None (the outcome has none)."""
    return registration_lag(wildcards.outcome, config["outcomes"])


def model_settings(*keys):
    """The model settings a fit reads: covariates, the rule for the outcomes decided at the start
    (with the start-TOP covariates it drops) and confidence level, and ``keys`` (e.g. engine).
    """
    models = config["models"]
    return pick(
        models, "covariates", "start_outcome_covariates", "confidence_level", *keys
    ) | {"robustness": pick(models["robustness"], "post_start_covariates")}


def key_id(wildcards=None):
    """A one-way digest of the pseudonymisation key (never the key): a new key re-runs the jobs it keys."""
    try:
        return source.key_id(config["data"]["source"])
    except source.SourceError as exc:
        stop("The pseudonymisation key cannot be used", exc)


def robustness_pairs():
    """(cohort, outcome) pairs given the robustness specifications: every variant for the robustness
    outcomes, the Mason 2015 window alone for the other Mason outcomes (robustness_variants).
    """
    rb = config["models"]["robustness"]
    return [
        (c, o)
        for c in COHORTS
        if c in rb["cohorts"]
        for o in OUTCOMES
        if o in rb["outcomes"] or o in rb["mason_outcomes"]
    ]


def robustness_variants(wildcards):
    """'all' for a robustness outcome, 'mason_2015' for an outcome fitted in Mason's window alone."""
    return (
        "all"
        if wildcards.outcome in config["models"]["robustness"]["outcomes"]
        else "mason_2015"
    )


def fit_parts():
    """Every per-model result file the tidy results table stacks."""
    parts = []
    for c in COHORTS:
        for o in OUTCOMES:
            parts += [
                R / "fit" / c / f"{o}.parquet",
                R / "fit" / c / f"{o}_few_cluster.parquet",
            ]
    parts += [R / "fit" / c / f"{o}_robustness.parquet" for c, o in robustness_pairs()]
    parts += [R / "fit" / c / "composition.parquet" for c in COHORTS]
    parts += [
        R / "fit" / c / f"{o}_linkage_thresholds.parquet"
        for c in COHORTS
        for o in OUTCOMES
        if o in linked_outcomes()
    ]
    parts += [R / "fit" / c / "linkage_negative_control.parquet" for c in COHORTS]
    if imputed_outcomes():
        parts.append(R / "fit" / "linkage_mi.parquet")
    return parts + pilot_parts()


IMPUTATIONS = int(config["linkage"]["imputations"])


def modelled_linked_outcomes():
    """The modelled outcomes that read a linked register (death, crime)."""
    return [o for o in OUTCOMES if o in linked_outcomes()]


def imputed_outcomes():
    """The modelled linked outcomes, fitted on every imputed link set (none when imputation is off:
    fewer than 2 imputations)."""
    return modelled_linked_outcomes() if IMPUTATIONS >= 2 else []


def bound_inputs(wildcards):
    """Every cohort's analysis table and every register's links and candidate records."""
    return {"analyses": analyses(), **register_files("links", "candidates")}


def imputation_inputs(wildcards):
    """Every cohort's analysis table and every register's candidate pairs and records."""
    return {"analyses": analyses(), **register_files("pairs", "candidates")}


def analyses():
    """Every cohort's analysis table."""
    return [R / "derive" / f"analysis_{c}.parquet" for c in COHORTS]


def linked_definitions(outcomes):
    """The outcome settings ``outcomes`` are derived with."""
    sections = {outcome_entries()[o].settings for o in outcomes} - {None}
    return pick(config["outcomes"], *sorted(sections))


def pilot_parts():
    """Per-pilot DiD and test rows of every outcome x cohort (stacked into the tidy table)."""
    return [R / "fit" / c / f"{o}_pilots.parquet" for c in COHORTS for o in OUTCOMES]


def pilot_area_parts():
    """Pilot-area tables (per-pilot coefficients, leverage) of every outcome x cohort."""
    return [
        R / "fit" / c / f"{o}_pilot_areas.parquet" for c in COHORTS for o in OUTCOMES
    ]


def power_parts():
    """Minimum detectable odds ratio tables of every outcome x cohort."""
    return [R / "fit" / c / f"{o}_power.parquet" for c in COHORTS for o in OUTCOMES]


def draws_parts():
    """The headline statistic's bootstrap draws of every outcome x cohort (Romano-Wolf)."""
    return [R / "fit" / c / f"{o}_draws.parquet" for c in COHORTS for o in OUTCOMES]


def event_study_parts():
    """Event-study coefficient tables of the robustness outcomes."""
    return [R / "fit" / c / f"{o}_event_study.parquet" for c, o in robustness_pairs()]


# Real data: the key and the source are checked when the DAG is built, before any job runs,
# by the main Snakemake process (dry runs included, whatever results already exist).
if not SYNTHETIC and workflow.is_main_process:
    key_id()
    source_fingerprint()


# the simulation study (workflow/rules/simulation.smk)
SIM = config["simulation"]
SIM_DIR = R / "simulation"


def sim_settings(*keys):
    """The simulation settings a job reads (a setting re-runs only the jobs that use it)."""
    return pick(SIM, "journeys", "seed", *keys)
