"""NDTMS persons: the attributor, a missing sex settled, and persons joined across a transfer (issue #25).

:func:`episode_persons` gives each episode its person, the one definition the persons
(:func:`link_persons`, rule link_persons) and their linkage records
(:func:`pbr.link.records.ndtms_link_records`) both use: the keyed hash of the attributor
(:func:`pbr.link.pseudonyms.person_keys`; a missing sex settled), then, when the transfer
settings are given (``linkage.transfer_bridges``), the persons a transfer bridges joined.

**Transfer bridges.**

NDTMS builds a person from the attributor (initials, date of birth, sex); a client whose
attributor one agency recorded with one error (a wrong initial, a date of birth a day or a
digit off, day and month swapped) becomes two persons, and a transfer between those agencies
then breaks the client's journey in two. A transfer is itself evidence: the client is
referred to the next agency within days of the discharge. :func:`transfer_bridges` finds, for
each transfer discharge that no episode of its own person continues, the episodes of other
persons referred within the gap in the same area whose attributor is one error away
(:func:`one_error_apart`) and whose sex agrees (or is missing); where there is exactly one,
and it is claimed by no other transfer, the two persons are one client. The same area: at
scale 0.1 (default data) 125 of 127 such bridges joined one true client, against 18 of 44
across areas, where an unrelated client one error away is far likelier than the client.

``bench/bench_persons.py`` measures how often a bridge joins two episodes of one true client
(its precision) and the journeys against the truth (docs/linkage.md, "Persons").
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from pbr.flow import flow_frame, flow_row
from pbr.link.pseudonyms import (
    SEX_SETTLED,
    age_in_years,
    iso_dates,
    key_sex,
    person_ids,
    person_keys,
    upper_strings,
)

log = logging.getLogger(__name__)

#: the blocks candidate pairs are drawn from: each lets one part of the attributor differ
BLOCKS = {
    "first initial": ["surname", "dob"],
    "surname initial": ["first", "dob"],
    "date of birth (year)": ["first", "surname", "month_day"],
    "date of birth (day or month)": ["first", "surname", "year"],
}


def _attributors(episodes: pd.DataFrame) -> pd.DataFrame:
    dob = iso_dates(episodes["date_of_birth"])
    return pd.DataFrame(
        {
            "episode_id": episodes["episode_id"].to_numpy(),
            "person_id": episodes["person_id"].to_numpy(),
            "first": upper_strings(episodes["initial_first"]).to_numpy(),
            "surname": upper_strings(episodes["initial_surname"]).to_numpy(),
            "dob": dob.to_numpy(),
            "year": dob.str[:4].to_numpy(),
            "month_day": dob.str[5:].to_numpy(),
            "sex": episodes["sex"].astype("string").to_numpy(),
            "area_code": episodes["area_code"].to_numpy(),
            "referral_date": episodes["referral_date"].to_numpy(),
            "discharge_date": episodes["discharge_date"].to_numpy(),
            "discharge_reason": episodes["discharge_reason"].to_numpy(),
        }
    )


def one_error_apart(a: pd.Series, b: pd.Series) -> pd.Series:
    """Whether ISO dates ``a`` and ``b`` differ by one recording error: one character, one day,
    or day and month swapped (equal dates are not)."""
    same_length = a.str.len().eq(b.str.len()).fillna(False).astype(bool)
    chars = pd.Series(0, index=a.index)
    for i in range(10):
        chars += (a.str[i] != b.str[i]).fillna(True).astype(int)
    days = (pd.to_datetime(a, errors="coerce") - pd.to_datetime(b, errors="coerce")).dt.days.abs()
    swapped = a.str[:4] + "-" + a.str[8:10] + "-" + a.str[5:7]
    return (same_length & chars.eq(1)) | days.eq(1) | (swapped.eq(b) & a.ne(b)).fillna(False).astype(bool)


def transfer_bridges(
    episodes: pd.DataFrame, transfer_codes: list[int], transfer_gap_days: int
) -> pd.DataFrame:
    """The pairs of persons one transfer joins (module docstring): columns ``from`` (the transfer's
    episode), ``to`` (the episode continuing it), ``person_from``, ``person_to``, ``differs`` (the
    attributor part that differs). ``episodes``: the validated NDTMS episodes (identifiers kept)
    with their ``person_id``."""
    att = _attributors(episodes)
    ends = att[
        att["discharge_reason"].isin(transfer_codes).fillna(False).astype(bool)
        & att["discharge_date"].notna()
    ]
    gap_of = lambda pairs: (pairs["referral_date_to"] - pairs["discharge_date_from"]).dt.days  # noqa: E731
    own = ends.merge(att, on="person_id", suffixes=("_from", "_to"))
    own = own[(own["episode_id_from"] != own["episode_id_to"]) & gap_of(own).between(0, transfer_gap_days)]
    open_ends = ends[~ends["episode_id"].isin(own["episode_id_from"])]
    # the same area is required, so it is part of each block's key (rows without an area never pair;
    # a merge would pair missing with missing): the pairs of other areas are never formed (issue #24:
    # at scale 2, link_records[ndtms] held 5,400 MiB forming them, 2,184 MiB without)
    in_area, open_in_area = att[att["area_code"].notna()], open_ends[open_ends["area_code"].notna()]
    found = []
    for differs, keys in BLOCKS.items():
        pairs = open_in_area.merge(in_area, on=[*keys, "area_code"], suffixes=("_from", "_to"))
        pairs = pairs[
            (pairs["person_id_from"] != pairs["person_id_to"]) & gap_of(pairs).between(0, transfer_gap_days)
        ]
        if differs.startswith("date"):
            pairs = pairs[one_error_apart(pairs["dob_from"], pairs["dob_to"]).to_numpy()]
        sex_from, sex_to = pairs["sex_from"], pairs["sex_to"]
        pairs = pairs[(sex_from.isna() | sex_to.isna() | (sex_from == sex_to)).fillna(True).astype(bool)]
        found.append(
            pairs.rename(columns={"episode_id_from": "from", "episode_id_to": "to"})[
                ["from", "to", "person_id_from", "person_id_to"]
            ].assign(differs=differs)
        )
    cand = pd.concat(found, ignore_index=True).drop_duplicates(["from", "to"])
    unique = cand[
        cand.groupby("from")["to"].transform("size").eq(1)
        & cand.groupby("to")["from"].transform("size").eq(1)
    ]
    return unique.rename(columns={"person_id_from": "person_from", "person_id_to": "person_to"}).reset_index(
        drop=True
    )


def transfer_settings(config: dict) -> dict | None:
    """The transfer settings persons are joined across (``transfer_codes``, ``transfer_gap_days`` of
    the config's journeys), or None when ``linkage.transfer_bridges`` is off."""
    if not config["linkage"].get("transfer_bridges", False):
        return None
    return {k: config["journeys"][k] for k in ("transfer_codes", "transfer_gap_days")}


def joined_persons(person: pd.Series, bridges: pd.DataFrame) -> pd.Series:
    """``person`` (each episode's person id) with the persons each bridge joins made one: every
    person of a connected group takes the group's lowest id (no new identifier is made)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if bridges.empty:
        return person
    ids = np.unique(person.dropna().to_numpy().astype(str))
    at = pd.Series(np.arange(len(ids)), index=ids)
    a, b = at[bridges["person_from"]].to_numpy(), at[bridges["person_to"]].to_numpy()
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(ids), len(ids)))
    _, group = connected_components(graph, directed=False)
    lowest = pd.Series(ids).groupby(group).transform("min").to_numpy()  # ids are sorted: the first
    return person.map(pd.Series(lowest, index=ids)).astype("string")


def episode_persons(
    episodes: pd.DataFrame, secret: bytes, transfers: dict | None = None
) -> tuple[pd.Series, pd.Series, pd.Series, pd.DataFrame]:
    """Each episode's person id (<NA> with an incomplete attributor), its person's sex (a missing
    one settled; <NA> when unknown), how that sex was settled (:data:`pbr.link.pseudonyms.SEX_SETTLED`)
    and the transfer bridges that joined persons (``transfers``: ``transfer_codes`` and
    ``transfer_gap_days``; None: no bridges)."""
    key, settled = person_keys(episodes)
    person = pd.Series(pd.NA, index=episodes.index, dtype="string")
    person[key.notna()] = person_ids(key[key.notna()], secret)
    bridges = pd.DataFrame(columns=["from", "to", "person_from", "person_to", "differs"])
    if transfers is not None:
        named = episodes.assign(person_id=person)[person.notna()]
        bridges = transfer_bridges(named, transfers["transfer_codes"], int(transfers["transfer_gap_days"]))
        person = joined_persons(person, bridges)
    return person, key_sex(key), settled, bridges


def link_persons(
    episodes: pd.DataFrame, secret: bytes, transfers: dict | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """De-identified episodes with ``person_id`` and ``age_at_referral``, plus flow rows.

    Episodes whose attributor is incomplete (missing initial or date of birth) cannot be
    grouped into persons: they are dropped and counted. A missing sex is settled by
    :func:`pbr.link.pseudonyms.person_keys`, persons are joined across transfers
    (:func:`episode_persons`); each is counted (flagged rows of the flow table).
    """
    person, sex, settled, bridges = episode_persons(episodes, secret, transfers)
    complete = person.notna()
    out = episodes.loc[complete].copy()
    out.insert(0, "person_id", person[complete])
    out["sex"] = sex[complete]  # a missing sex the person key settled is the person's
    out["age_at_referral"] = age_in_years(out["date_of_birth"], out["referral_date"])
    out = out.drop(columns=["initial_first", "initial_surname", "date_of_birth", "client_id"])
    step = ("link", "persons", "ndtms_episodes", "episodes")
    rows = [
        flow_row(
            *step,
            "dropped",
            "incomplete attributor (initial or date of birth missing)",
            int((~complete).sum()),
        ),
        flow_row(*step, "kept", "grouped into persons", int(complete.sum())),
    ]
    rows += [
        flow_row(*step, "flagged", f"sex {reason}", n)
        for way, reason in SEX_SETTLED.items()
        if way != "recorded" and (n := int((settled[complete] == way).sum()))
    ]
    if len(bridges):
        reason = (
            "continues a transfer of another person one attributor error away (same area, within the gap): "
            "the two persons joined"
        )
        rows.append(flow_row(*step, "flagged", reason, len(bridges)))
    log.info(
        "persons: %d episodes -> %d persons (%d joined across a transfer)",
        complete.sum(),
        out["person_id"].nunique(),
        len(bridges),
    )
    return out, flow_frame(rows)
