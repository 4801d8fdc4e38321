"""Matching: pairs made into links of NDTMS persons to register units, and the link tables.

Scored pairs (:func:`pbr.link.model.predict_link_pairs`), or with ``linkage.method:
deterministic`` the pairs agreeing on the exact key (:func:`exact_key_pairs`), are
collapsed to (person, register unit) pairs (a unit is a death, or an offender, whose
offences follow); a greedy pass (:func:`best_matches`) keeps each unit's best person and each
person's best unit, or best units up to its capacity (:func:`unit_capacity`: a person that
several NDTMS clients share may be several people; ``linkage.units_per_person``); the link
table carries the matched units' records (:func:`link_table`).
:func:`link_register_probabilistic` does all of it for one register, with the exact-key
baseline and the flow rows.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from pbr import io
from pbr.flow import flow_frame, flow_row
from pbr.frames import member_of
from pbr.link.model import predict_link_pairs
from pbr.link.quality import person_link_notes
from pbr.link.records import unit_pseudonyms
from pbr.logs import Phases
from pbr.registry.registers import linked_columns

log = logging.getLogger(__name__)


def register_table_name(link_name: str) -> str:
    """The contract table behind a link ('deaths' -> 'ons_deaths')."""
    return {"deaths": "ons_deaths", "offences": "pnc_offences"}[link_name]


def best_matches(
    pairs: pd.DataFrame, left: str = "left_id", right: str = "right_id", capacity: str | None = None
) -> pd.DataFrame:
    """Greedy assignment: take pairs by descending weight; each right id is used at most once, each
    left id once or, with ``capacity`` (a column of ``pairs``, constant per left id), up to that
    many times.

    Ties are broken by left id then right id, so the result is deterministic. Because the
    pass goes from the highest weight down, the assignment restricted to pairs above any
    threshold equals the assignment made from those pairs alone, so one table serves
    every threshold. Hand-written: a greedy pass by weight (not an optimal assignment, such
    as scipy's ``linear_sum_assignment``) is what keeps that property. The ids are sorted and
    compared as integer codes (:func:`sort_codes`); the tests compare the result with pandas'
    own sort of the ids.
    """
    left_codes, right_codes = sort_codes(pairs[left]), sort_codes(pairs[right])
    weight = pairs["match_weight"].to_numpy(dtype=float)
    order = np.lexsort((right_codes, left_codes, -weight))  # weight descending (missing last), then ids
    limits = (
        pairs[capacity].to_numpy()[order] if capacity is not None else np.ones(len(order), dtype=np.int64)
    )
    taken: dict[int, int] = {}
    used_right: set[int] = set()
    keep = []
    for position, left_code, right_code, limit in zip(
        order.tolist(), left_codes[order].tolist(), right_codes[order].tolist(), limits.tolist(), strict=True
    ):
        if right_code in used_right or taken.get(left_code, 0) >= limit:
            continue
        taken[left_code] = taken.get(left_code, 0) + 1
        used_right.add(right_code)
        keep.append(position)
    kept = np.asarray(keep, dtype=np.int64)
    kept = kept[np.lexsort((right_codes[kept], left_codes[kept]))]
    return pairs.iloc[kept].reset_index(drop=True)


def sort_codes(values: pd.Series) -> np.ndarray:
    """Integer codes that sort as ``values`` sort (missing values last, as pandas sorts them).

    Sorting and grouping pairs by these is faster than pandas' sort of text columns, which
    factorizes the text again on every call (issue #24: most of predict_links' matching time)."""
    return pd.factorize(values, sort=True, use_na_sentinel=False)[0].astype(np.int64)


def unit_capacity(pairs: pd.DataFrame, left: pd.DataFrame, units_per_person: int) -> pd.Series:
    """Per pair, the register units its NDTMS person may link to: the person's NDTMS clients
    (``left['clients']``: agency x client id), at most ``units_per_person``.

    One client is one person, who dies once and is, as a rule, one PNC offender. A person
    whose attributor several clients share may be several people (a collision), each with a
    death or an offender record of their own: one-to-one matching would link only one of
    them. Measured at scale 1.0 on offenders (``bench/bench_recall_merged.py``, commit e7a8da2): persons
    holding two or more true clients hold 13.4% of the true pairs of persons first treated
    before April 2012 and 5.1% after; one-to-one, their pairs' recall was 0.67 and 0.69
    against 0.89 for the rest, so recall differed by period (0.857 before, 0.876 after).
    Letting such persons take up to 2 units: 0.881 and 0.885.
    """
    clients = left.set_index("unique_id")["clients"] if "clients" in left else pd.Series(dtype="int64")
    per_person = pairs["left_id"].map(clients).fillna(1).astype("int64")
    return per_person.clip(upper=int(units_per_person)).rename("capacity")


def exact_key_pairs(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """The deterministic baseline: pairs agreeing exactly on initials, date of birth and sex."""
    key = ["initials", "dob", "sex"]
    left_keyed = left.dropna(subset=["initials", "dob"]).assign(sex=lambda d: d["sex"].fillna("U"))
    right_keyed = right.dropna(subset=["initials", "dob"]).assign(sex=lambda d: d["sex"].fillna("U"))
    pairs = left_keyed[["unique_id", *key]].merge(
        right_keyed[["unique_id", *key]], on=key, suffixes=("_l", "_r")
    )
    out = pd.DataFrame({"left_id": pairs["unique_id_l"], "right_id": pairs["unique_id_r"]})
    out["match_weight"] = np.float64(np.inf)
    out["match_probability"] = np.float64(1.0)
    return out.sort_values(["left_id", "right_id"], kind="mergesort").reset_index(drop=True)


def to_group_pairs(pairs: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Pairs of (person, register unit): identities collapsed to their group (offender), best weight kept
    (the first of equal weights in ``pairs``' order); sorted by person, unit."""
    paired = right.loc[member_of(right["unique_id"], pairs["right_id"].unique()), ["unique_id", "group"]]
    grouped = pairs.merge(paired, left_on="right_id", right_on="unique_id", how="left")
    person, unit = sort_codes(grouped["left_id"]), sort_codes(grouped["group"])
    order = np.lexsort((-grouped["match_weight"].to_numpy(dtype=float), unit, person))
    person, unit = person[order], unit[order]
    first = np.ones(len(order), dtype=bool)  # the first (best) row of each (person, unit)
    first[1:] = (person[1:] != person[:-1]) | (unit[1:] != unit[:-1])
    out = grouped.iloc[order[first]][["left_id", "group", "match_weight", "match_probability"]]
    return out.rename(columns={"group": "right_id"}).reset_index(drop=True)


def link_table(
    matches: pd.DataFrame, register: pd.DataFrame, unit_column: str, keep: list[str]
) -> pd.DataFrame:
    """Expand (person, unit) matches to the register records they carry.

    Returns person_id, the register's records (``unit_column`` groups them: death_id for
    ONS, pnc_id for PNC), the fields in ``keep``, match_weight and match_probability.
    Identifier columns of the register are never carried.
    """
    kept = register[[unit_column, *[c for c in keep if c != unit_column]]].copy()
    kept[unit_column] = kept[unit_column].astype("string")
    person_units = matches.rename(columns={"left_id": "person_id", "right_id": unit_column})
    out = person_units.merge(kept, on=unit_column, how="inner")
    columns = ["person_id", *dict.fromkeys([unit_column, *keep]), "match_weight", "match_probability"]
    return out[columns]


def candidate_links(candidates: pd.DataFrame, matches: pd.DataFrame, unit_column: str) -> pd.DataFrame:
    """The rows of ``candidates`` (a :func:`link_table` of every candidate pair) whose (person, unit)
    is one of ``matches`` (left_id, right_id): the link table of that link set."""
    chosen = pd.MultiIndex.from_arrays([matches["left_id"], matches["right_id"]])
    keep = pd.MultiIndex.from_arrays([candidates["person_id"], candidates[unit_column]]).isin(chosen)
    return candidates.loc[keep].reset_index(drop=True)


def link_register_probabilistic(
    left: pd.DataFrame,
    right: pd.DataFrame,
    register: pd.DataFrame | str | Path,
    spec: dict,
    model: dict,
    cfg: dict,
    name: str,
    threads: int = 1,
    memory_mb: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Predict, match (:func:`best_matches`, each person up to its :func:`unit_capacity`), and build the
    link table, the candidate pairs (with ``capacity``), the exact baseline and flow rows.

    ``candidates`` is the link table of every candidate pair (the register records of every unit a
    person may be, with the pair's probability): the links of an imputed link set are its rows
    (:func:`candidate_links`, :mod:`pbr.link.imputation`).

    A register unit that is a person (an offender: ``spec['group']``, which is then also
    ``spec['unit']``) is carried as its pseudonym (``right['group']``, looked up by
    :func:`pbr.link.records.unit_pseudonyms`), never as the register's own identifier.

    ``register`` is the register's table or the path of its Parquet file; from a path only the
    candidate units' rows are read (:func:`register_rows`).
    """
    phases = Phases(log, f"linking {name}", 2)
    with phases.phase("scoring candidate pairs (splink, DuckDB)"):
        if cfg["method"] == "probabilistic":
            pairs = predict_link_pairs(left, right, model, cfg["min_probability"], threads, memory_mb)
        else:
            pairs = exact_key_pairs(left, right)
    with phases.phase(f"matching {len(pairs):,} pairs, link tables"):
        unit_pairs = to_group_pairs(pairs, right)
        unit_pairs["capacity"] = unit_capacity(unit_pairs, left, cfg["units_per_person"][name])
        matches = best_matches(unit_pairs, capacity="capacity")
        unit = spec["unit"]
        if spec["group"] is None:  # the unit is the record: its id is carried as it is
            records = register_rows(register, spec, unit_pairs["right_id"].astype("string"))
        else:
            candidate = right[member_of(right["group"], unit_pairs["right_id"].unique())]
            pseudonym = unit_pseudonyms(candidate, spec["group"])  # the candidate units' only
            records = register_rows(register, spec, pd.Series(pseudonym.index, dtype="string"))
            records = records.assign(**{unit: records[unit].map(pseudonym)})
        candidates = link_table(unit_pairs, records, spec["unit"], spec["keep"])
        links = candidate_links(candidates, matches, spec["unit"])
        exact = to_group_pairs(exact_key_pairs(left, right), right)
        linked = links.loc[links["match_probability"] >= cfg["threshold"], spec["id"]].nunique()
        notes = person_link_notes(left, right, links, cfg, name)
        n_records = register_size(register)
        flow = _register_link_flow(name, n_records, linked, cfg["threshold"], notes)
        log.info(
            "%s: %d candidate pairs, %d matches, %d of %d register records linked at p >= %s",
            name,
            len(pairs),
            len(matches),
            linked,
            n_records,
            cfg["threshold"],
        )
        return {"links": links, "pairs": unit_pairs, "candidates": candidates, "exact": exact, "flow": flow}


def register_rows(register: pd.DataFrame | str | Path, spec: dict, units: pd.Series) -> pd.DataFrame:
    """The register's rows (its :func:`~pbr.registry.registers.linked_columns`) whose unit is one of
    ``units`` (the register's own unit values, as strings).

    ``register`` is the table, or the path of its Parquet file: then only those rows are read
    (a filter pushed into the reader), so a register of national size (10 million offence
    records) is never held whole by the job that links it.
    """
    unit = spec["unit"]
    if isinstance(register, pd.DataFrame):
        return register[register[unit].astype("string").isin(units)]
    return io.read_rows(register, unit, units, columns=linked_columns(spec))


def register_size(register: pd.DataFrame | str | Path) -> int:
    """Rows of the register (a table, or its Parquet file's row count, read from its metadata)."""
    return len(register) if isinstance(register, pd.DataFrame) else io.row_count(register)


def _register_link_flow(
    name: str, n_records: int, linked: int, threshold: float, notes: list[dict]
) -> pd.DataFrame:
    """Flow rows of one register's linkage: its ``n_records`` records linked at ``threshold`` or not,
    and the NDTMS persons each link-rate note flags."""
    table = register_table_name(name)
    return flow_frame(
        [
            flow_row(
                "link",
                name,
                table,
                "records",
                "kept",
                f"linked to an NDTMS person (p >= {threshold})",
                linked,
            ),
            flow_row(
                "link",
                name,
                table,
                "records",
                "dropped",
                "not linked to any NDTMS person",
                n_records - linked,
            ),
        ]
        + [
            flow_row(
                "link",
                name,
                table,
                "NDTMS persons",
                "flagged",
                f"link rate far below expected: {note['text']}",
                note["n"],
            )
            for note in notes
        ]
    )
