"""Link stage: group NDTMS episodes into persons and link persons to ONS deaths and PNC offences.

Identifiers end here. Inputs carry initials, names and dates of birth; every output
carries only a pseudonymous ``person_id`` (a keyed hash) and derived fields (age at
referral, sex). Nothing after this stage can see an identifier.

Method (first cut, ``linkage.method: deterministic``): the attributor key is
first-name initial + surname initial + date of birth + sex, exactly as NDTMS holds it;
register records get the same key from their full names. A person is the set of
episodes sharing a key; a person links to every register record with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os

import numpy as np
import pandas as pd

from pbr.flow import flow_frame, flow_row

log = logging.getLogger(__name__)

KEY_ENV = "PBR_LINK_KEY"
SYNTHETIC_KEY = "synthetic-data-only"  # used only with synthetic extracts, which hold no real person


class LinkError(RuntimeError):
    """Linkage cannot proceed (e.g. no pseudonymisation key in real-data mode)."""


def pseudonymisation_key(source: str) -> bytes:
    """The secret key for person ids: from ``$PBR_LINK_KEY``; synthetic data may use a fixed key.

    In real-data mode the key must come from the environment and is never written to
    config, results or logs.
    """
    key = os.environ.get(KEY_ENV)
    if key:
        return key.encode()
    if source == "synthetic":
        return SYNTHETIC_KEY.encode()
    raise LinkError(
        f"real-data mode needs a secret pseudonymisation key: set the environment variable {KEY_ENV} "
        "(e.g. `export PBR_LINK_KEY=$(openssl rand -hex 32)`, kept outside the project) and run again"
    )


def _initial(name: pd.Series) -> pd.Series:
    """Upper-case first letter of a name, or <NA>."""
    first = name.astype("string").str.strip().str[:1].str.upper()
    return first.where(first.str.match(r"^[A-Z]$", na=False))


def attributor_key(
    initial_first: pd.Series, initial_surname: pd.Series, dob: pd.Series, sex: pd.Series
) -> pd.Series:
    """The NDTMS attributor as one string per row ('AB|1980-01-31|M'); <NA> if initials or dob missing."""
    dob_s = pd.to_datetime(dob).dt.strftime("%Y-%m-%d").astype("string")
    key = (
        initial_first.astype("string").str.upper()
        + initial_surname.astype("string").str.upper()
        + "|"
        + dob_s
        + "|"
        + sex.astype("string").fillna("U")
    )
    return key


def person_ids(keys: pd.Series, secret: bytes) -> pd.Series:
    """Keyed hash (HMAC-SHA256, 16 hex chars) of each attributor key: the pseudonymous person id."""
    uniq = pd.unique(keys.dropna())
    mapping = {k: "P" + hmac.new(secret, k.encode(), hashlib.sha256).hexdigest()[:16] for k in uniq}
    return keys.map(mapping).astype("string")


def age_in_years(dob: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years of age on date ``on`` for dates of birth ``dob``."""
    dob = pd.to_datetime(dob)
    on = pd.to_datetime(on)
    years = on.dt.year - dob.dt.year
    before_birthday = (on.dt.month < dob.dt.month) | (
        (on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day)
    )
    return (years - before_birthday.astype(int)).astype("Int64")


def link_persons(episodes: pd.DataFrame, secret: bytes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """De-identified episodes with ``person_id`` and ``age_at_referral``, plus flow rows.

    Episodes whose attributor is incomplete (missing initial or date of birth) cannot be
    grouped into persons: they are dropped and counted.
    """
    key = attributor_key(
        episodes["initial_first"], episodes["initial_surname"], episodes["date_of_birth"], episodes["sex"]
    )
    ok = key.notna()
    out = episodes.loc[ok].copy()
    out.insert(0, "person_id", person_ids(key[ok], secret))
    out["age_at_referral"] = age_in_years(out["date_of_birth"], out["referral_date"])
    out = out.drop(columns=["initial_first", "initial_surname", "date_of_birth", "client_id"])
    rows = [
        flow_row(
            "link",
            "persons",
            "ndtms_episodes",
            "episodes",
            "dropped",
            "incomplete attributor (initial or date of birth missing)",
            int((~ok).sum()),
        ),
        flow_row(
            "link", "persons", "ndtms_episodes", "episodes", "kept", "grouped into persons", int(ok.sum())
        ),
    ]
    log.info("persons: %d episodes -> %d persons", ok.sum(), out["person_id"].nunique())
    return out, flow_frame(rows)


def _register_keys(register: pd.DataFrame) -> pd.Series:
    return attributor_key(
        _initial(register["forename"]),
        _initial(register["surname"]),
        register["date_of_birth"],
        register["sex"],
    )


def link_register(
    episodes: pd.DataFrame, register: pd.DataFrame, id_column: str, keep: list[str], secret: bytes, name: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Link NDTMS persons to a register (deaths or offences) on the exact attributor key.

    Returns one row per (person, register record) pair with ``match_probability`` 1.0
    (deterministic), the register columns in ``keep``, and flow rows counting matched
    and unmatched register records.
    """
    ndtms_keys = attributor_key(
        episodes["initial_first"], episodes["initial_surname"], episodes["date_of_birth"], episodes["sex"]
    )
    persons = pd.DataFrame({"key": ndtms_keys.dropna().unique()})
    persons["person_id"] = person_ids(persons["key"], secret)
    reg = register[[id_column, *keep]].copy()
    reg["key"] = _register_keys(register)
    links = reg.merge(persons, on="key", how="inner").drop(columns="key")
    links["match_probability"] = np.float64(1.0)
    links = links[["person_id", id_column, *keep, "match_probability"]]
    n_matched = links[id_column].nunique()
    rows = [
        flow_row(
            "link", name, register_name(name), "records", "kept", "linked to an NDTMS person", n_matched
        ),
        flow_row(
            "link",
            name,
            register_name(name),
            "records",
            "dropped",
            "no NDTMS person (unrelated record)",
            len(register) - n_matched,
        ),
    ]
    log.info(
        "%s: %d of %d register records linked to %d persons",
        name,
        n_matched,
        len(register),
        links["person_id"].nunique(),
    )
    return links, flow_frame(rows)


def register_name(link_name: str) -> str:
    """The contract table behind a link ('deaths' -> 'ons_deaths')."""
    return {"deaths": "ons_deaths", "offences": "pnc_offences"}[link_name]
