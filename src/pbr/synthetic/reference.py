"""Reference data of the generator: code lists, and the tables read once at import from ``data/``.

The code lists (substances, substance groups, injecting status, referral sources, ...)
are the vocabulary the code indexes by position, so they stay here. The numbers (the 149
areas and their sizes, regional need, the substance, injecting, referral and employment
probabilities, ages, deaths, offending, the outcome models' covariate coefficients,
causes of death, names) are data files under ``src/pbr/synthetic/data/`` (described in
its README.md), read by this module when it is first imported. Each table's row and
column labels are checked against the code lists, so a file that no longer matches the
code stops the generator at import instead of shifting a probability to another category.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import NamedTuple

import numpy as np
import yaml

from pbr.contract import SUBSTANCE_TOP_COLUMN
from pbr.registry.published import PUBLISHED_PILOT_AREAS

DATA = Path(__file__).with_name("data")

# ---------------------------------------------------------------------------------------
# Code lists
# ---------------------------------------------------------------------------------------

PILOT_AREAS = PUBLISHED_PILOT_AREAS  # the synthetic pilot areas are the published eight
# Substance codes (contract order) and how they map to TOP columns and model groups.
SUBSTANCES = (
    "heroin",
    "methadone",
    "other_opiate",
    "crack",
    "cocaine",
    "amphetamine",
    "cannabis",
    "benzodiazepine",
    "alcohol",
    "other",
)
NO_SUBSTANCE = len(SUBSTANCES)  # "no substance" code
ALCOHOL = SUBSTANCES.index("alcohol")
TOP_DAY_COLUMNS = (
    "days_alcohol",
    "days_opiates",
    "days_crack",
    "days_cocaine",
    "days_amphetamines",
    "days_cannabis",
    "days_other_drug",
)
SUBSTANCE_DAY_COLUMN = np.array([TOP_DAY_COLUMNS.index(SUBSTANCE_TOP_COLUMN[s]) for s in SUBSTANCES] + [-1])
# model substance groups: 0 opiate, 1 crack, 2 cocaine, 3 cannabis, 4 amphetamine, 5 other drug, 6 alcohol
SUBSTANCE_GROUPS = ("opiate", "crack", "cocaine", "cannabis", "amphetamine", "other_drug", "alcohol")
INJECTING = ("current", "previous", "never", "declined")
REFERRAL_SOURCES = ("self", "gp", "criminal_justice", "health_social", "other")
EMPLOYMENT = ("employed", "unemployed", "other")
ROUTES = ("inject", "sniff", "smoke", "oral", "other")
AGE_GROUPS = ("<25", "25-34", "35-44", "45+")
#: ICD-10 prefixes of the ONS drug-poisoning definition
POISONING_PREFIXES = (
    *(f"F1{i}" for i in (1, 2, 3, 4, 5, 6, 8, 9)),
    *(f"X4{i}" for i in range(5)),
    *(f"X6{i}" for i in range(5)),
    "X85",
    *(f"Y1{i}" for i in range(5)),
)
ACQUISITIVE = (
    "theft_shoplifting",
    "theft_other",
    "burglary",
    "robbery",
    "vehicle",
    "fraud_forgery",
    "handling",
)
OFFENCE_GROUPS = (
    *ACQUISITIVE,
    "violence",
    "drugs_possession",
    "drugs_supply",
    "public_order",
    "criminal_damage",
    "motoring",
    "other",
)
#: rows of employment.csv: the client groups employment is drawn for
EMPLOYMENT_CLIENTS = ("opiate_or_crack", "other_drug", "alcohol")
#: lists of causes of death in causes_of_death.csv
DEATH_LISTS = ("drug_poisoning", "drug_client_other", "alcohol_client_other", "elderly", "working_age")

# ---------------------------------------------------------------------------------------
# The loader
# ---------------------------------------------------------------------------------------


class Area(NamedTuple):
    """One row of areas.csv: a DAT area, its region, its population and its relative need."""

    name: str
    region: str
    #: population in thousands (2011)
    population: float
    #: treatment need relative to its region's
    need: float


def read_rows(name: str) -> list[dict[str, str]]:
    """The rows of the CSV file ``data/<name>``, as dicts of strings."""
    with open(DATA / name, newline="") as fh:
        return list(csv.DictReader(fh))


def _labelled(name: str, key: str, labels: tuple[str, ...], columns: tuple[str, ...] = ()) -> list[dict]:
    """The rows of ``name``, checked to be ``labels`` in order (column ``key``) with ``columns`` present."""
    rows = read_rows(name)
    found = tuple(r[key] for r in rows)
    if found != labels:
        raise ValueError(f"{DATA / name}: rows {found} do not match the code's {labels}")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise ValueError(f"{DATA / name}: columns {missing} missing")
    return rows


def _column(rows: list[dict], column: str) -> np.ndarray:
    return np.array([float(r[column]) for r in rows])


def _matrix(rows: list[dict], columns: tuple[str, ...]) -> np.ndarray:
    return np.array([[float(r[c]) for c in columns] for r in rows])


def _read_yaml(name: str) -> dict:
    return yaml.safe_load((DATA / name).read_text())


def _coefficients() -> dict:
    """The outcome models' coefficients, lists as tuples (the types the effects record reports)."""
    coef = {
        outcome: {k: tuple(v) if isinstance(v, list) else v for k, v in terms.items()}
        for outcome, terms in _read_yaml("coefficients.yaml").items()
    }
    coef["completion_without_representation"] = coef[
        "successful_completion"
    ]  # shares completion's predictor (nesting)
    return coef


def _causes() -> dict[str, dict[str, float]]:
    """Causes of death (ICD-10) with their weights, per list, in the file's order."""
    out: dict[str, dict[str, float]] = {k: {} for k in DEATH_LISTS}
    for r in read_rows("causes_of_death.csv"):
        out[r["deaths"]][r["icd10"]] = float(r["weight"])
    return out


def _names(sex: str) -> tuple[list[str], np.ndarray]:
    rows = [r for r in read_rows("forenames.csv") if r["sex"] == sex]
    return [r["forename"] for r in rows], _column(rows, "weight")


AREAS = tuple(
    Area(r["area"], r["region"], float(r["population_thousands"]), float(r["need_relative_to_region"]))
    for r in read_rows("areas.csv")
)
REGION_NEED = {r["region"]: float(r["need"]) for r in read_rows("regions.csv")}

_SUBSTANCE_ROWS = _labelled("substances.csv", "substance", SUBSTANCES)
#: model substance group (index into SUBSTANCE_GROUPS) of each substance
SUBSTANCE_GROUP = np.array([SUBSTANCE_GROUPS.index(r["group"]) for r in _SUBSTANCE_ROWS])
# primary substance of a new drug client (adult / under 18), and the drug an alcohol client
# reports if they later present for drugs
P_PRIMARY_DRUG = _column(_SUBSTANCE_ROWS, "p_primary_drug")
P_PRIMARY_DRUG_UNDER18 = _column(_SUBSTANCE_ROWS, "p_primary_drug_under18")
P_DRUG_OF_ALCOHOL_CLIENT = _column(_SUBSTANCE_ROWS, "p_drug_of_alcohol_client")
#: secondary (and third) substance given the primary's group (10 substances + none)
P_OTHER_SUBSTANCE = _matrix(
    _labelled("other_substance.csv", "group", SUBSTANCE_GROUPS), (*SUBSTANCES, "none")
)
#: person injecting history by group: current, previous, never, declined
P_INJECTING_HISTORY = _matrix(_labelled("injecting_history.csv", "group", SUBSTANCE_GROUPS), INJECTING)
P_REFERRAL_SOURCE = _matrix(_labelled("referral_source.csv", "group", SUBSTANCE_GROUPS), REFERRAL_SOURCES)
#: employment by client group (EMPLOYMENT_CLIENTS)
P_EMPLOYMENT = _matrix(_labelled("employment.csv", "clients", EMPLOYMENT_CLIENTS), EMPLOYMENT)

_GROUP_ROWS = _labelled("substance_groups.csv", "group", SUBSTANCE_GROUPS)
P_THIRD_SUBSTANCE = _column(_GROUP_ROWS, "p_third_substance")
P_PREVIOUSLY_TREATED = _column(_GROUP_ROWS, "p_previously_treated")  # treated before the extract starts
AGE_MEAN = _column(_GROUP_ROWS, "age_mean")
AGE_SD = _column(_GROUP_ROWS, "age_sd")
P_ACCOMMODATION_NEED = _column(_GROUP_ROWS, "p_accommodation_need")
#: beta distribution (a, b) of baseline days of use of the primary substance, out of 28
DAYS_USED_BETA = _matrix(_GROUP_ROWS, ("days_used_beta_a", "days_used_beta_b"))
P_LONG_TREATMENT = _column(
    _GROUP_ROWS, "p_long_treatment"
)  # still in treatment at 12 months (non-completers)
# yearly death hazard after the last journey's first year, by group; share that are drug poisonings
LATER_DEATH_HAZARD = _column(_GROUP_ROWS, "later_death_hazard")
LATER_DEATH_POISONING_SHARE = _column(_GROUP_ROWS, "later_death_poisoning_share")
RELATIVE_OFFENDING = _column(_GROUP_ROWS, "relative_offending")  # relative background offending

_AGE_ROWS = _labelled("age_groups.csv", "age_group", AGE_GROUPS)
#: deaths from other causes within a year of journey start, by cohort (drug, alcohol) and age group
P_OTHER_CAUSE_DEATH = _matrix(_AGE_ROWS, ("p_other_cause_death_drug", "p_other_cause_death_alcohol")).T.copy()
LATER_DEATH_AGE_FACTOR = _column(_AGE_ROWS, "later_death_age_factor")

_OFFENCE_ROWS = _labelled("offence_groups.csv", "offence_group", OFFENCE_GROUPS)
#: offence group among acquisitive offences, and among the others
P_ACQUISITIVE_GROUP = _column(_OFFENCE_ROWS[: len(ACQUISITIVE)], "p_within_kind")
P_OTHER_OFFENCE_GROUP = _column(_OFFENCE_ROWS[len(ACQUISITIVE) :], "p_within_kind")

#: logistic covariate effects per outcome (coefficients.yaml describes the terms)
COEFFICIENTS = _coefficients()

_CAUSES = _causes()
DRUG_POISONING_CAUSES = _CAUSES["drug_poisoning"]
CAUSES_DRUG_CLIENT_OTHER = _CAUSES["drug_client_other"]
CAUSES_ALCOHOL_CLIENT_OTHER = _CAUSES["alcohol_client_other"]
CAUSES_ELDERLY = _CAUSES["elderly"]
CAUSES_WORKING_AGE = _CAUSES["working_age"]

# First names (England, people born 1960-1995; relative weights) and surnames (% of people).
MALE_FORENAMES = _names("M")
FEMALE_FORENAMES = _names("F")
SURNAMES = (
    [r["surname"] for r in read_rows("surnames.csv")],
    _column(read_rows("surnames.csv"), "percent"),
)
# share of surnames by initial letter (England, approximate)
SURNAME_INITIALS = {r["letter"]: float(r["share"]) for r in read_rows("surname_initials.csv")}
_NAME_PARTS = _read_yaml("name_parts.yaml")
SURNAME_ONSETS = {letter: tuple(v) for letter, v in _NAME_PARTS["surname_onsets"].items()}
VOWELS = tuple(_NAME_PARTS["vowels"])
CODAS = tuple(_NAME_PARTS["codas"])
SURNAME_ENDINGS = tuple(_NAME_PARTS["surname_endings"])
FORENAME_ONSETS = tuple(_NAME_PARTS["forename_onsets"])
MALE_FORENAME_ENDINGS = tuple(_NAME_PARTS["male_forename_endings"])
FEMALE_FORENAME_ENDINGS = tuple(_NAME_PARTS["female_forename_endings"])
