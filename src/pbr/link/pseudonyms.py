"""Pseudonyms: the key, keyed hashes, person and unit ids, the attributor key, and NDTMS persons.

Identifiers end in the link stage. NDTMS's attributor (first-name initial + surname
initial + date of birth + sex) is the person key, as NDTMS itself uses it; a person is the
set of episodes sharing it (the rule is measured against the synthetic truth by
``assess_linkage``) and carries only a keyed hash of it (``person_id``) and derived fields
(age at referral, sex). A register's own person identifier (PNC: pnc_id) leaves linkage
only as its keyed hash too (:func:`unit_ids`).

The value helpers here (:func:`per_distinct_value`, :func:`upper_strings`,
:func:`as_strings`, :func:`iso_dates`) normalise the attributor's parts; the linkage
records (:mod:`pbr.link.records`) are built from the same.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

import pandas as pd

from pbr.errors import PipelineError
from pbr.source import SourceError, link_key

log = logging.getLogger(__name__)


class LinkError(PipelineError, RuntimeError):
    """Linkage cannot proceed (e.g. no pseudonymisation key in real-data mode)."""


def pseudonymisation_key(source: str) -> bytes:
    """The secret key for person ids: ``$PBR_LINK_KEY`` (at least 16 bytes); synthetic data may use a
    fixed key. In real-data mode the key must come from the environment and is never written to
    config, results or logs (:func:`pbr.source.link_key`)."""
    try:
        return link_key(source)
    except SourceError as e:
        raise LinkError(str(e)) from None


def per_distinct_value(values: pd.Series, convert: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``convert`` (a vectorised Series -> Series function) applied to the distinct non-missing values
    only and mapped back to every row (<NA> stays <NA>). Same result as ``convert(values)`` for
    an element-wise ``convert``, much faster for columns of few distinct values (names, dates)."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    mapped = convert(pd.Series(distinct)).reset_index(drop=True)
    if len(mapped) == 0:
        return pd.Series(pd.array([pd.NA] * len(values), dtype="string"), index=values.index)
    out = pd.api.extensions.take(mapped.array, codes, allow_fill=True)
    return pd.Series(out, index=values.index)


def upper_strings(values: pd.Series) -> pd.Series:
    """Values as upper-case strings (<NA> stays <NA>)."""
    return per_distinct_value(values, lambda v: v.astype("string").str.upper())


def as_strings(values: pd.Series) -> pd.Series:
    """Values as strings (<NA> stays <NA>)."""
    return per_distinct_value(values, lambda v: v.astype("string"))


def iso_dates(dates: pd.Series) -> pd.Series:
    """Dates as ISO strings ('2012-04-01'), <NA> where missing."""
    return per_distinct_value(dates, lambda v: pd.to_datetime(v).dt.strftime("%Y-%m-%d").astype("string"))


def attributor_key(
    initial_first: pd.Series, initial_surname: pd.Series, dob: pd.Series, sex: pd.Series
) -> pd.Series:
    """The NDTMS attributor as one string per row ('AB|1980-01-31|M'); <NA> if initials or dob missing."""
    dob_iso = iso_dates(dob)
    key = (
        upper_strings(initial_first)
        + upper_strings(initial_surname)
        + "|"
        + dob_iso
        + "|"
        + as_strings(sex).fillna("U")
    )
    return key


#: how the sex in an episode's person key was settled (:func:`person_keys`)
SEX_SETTLED = {
    "recorded": "recorded on the episode",
    "filled": "missing; filled from the one sex recorded on episodes with the same initials and date of birth",
    "ambiguous": "missing; both sexes recorded with the same initials and date of birth: a person of unknown sex",
    "unknown": "missing on every episode with the same initials and date of birth: a person of unknown sex",
}


def person_keys(episodes: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each episode's person key (:func:`attributor_key`; <NA> when an initial or the date of
    birth is missing) and how its sex was settled (a key of :data:`SEX_SETTLED`).

    A missing sex would otherwise make a person of its own (the key's sex 'U') and split a
    client whose sex one agency left blank. It takes the sex the other episodes with the same
    initials and date of birth record when they record exactly one; when they record both, or
    none, the episode keeps the unknown sex (a person of its own: the rule cannot tell which
    client it belongs to). Used by :func:`link_persons` and the linkage records alike, so a
    person is the same set of episodes in both.
    """
    partial = (
        upper_strings(episodes["initial_first"])
        + upper_strings(episodes["initial_surname"])
        + "|"
        + iso_dates(episodes["date_of_birth"])
    )
    sex = as_strings(episodes["sex"])
    recorded = pd.DataFrame({"partial": partial, "sex": sex}).dropna()
    sexes = recorded.groupby("partial", sort=False)["sex"].agg(["nunique", "first"])
    missing = sex.isna() & partial.notna()
    n_sexes = partial.map(sexes["nunique"]).fillna(0)
    fill = missing & n_sexes.eq(1)
    settled = pd.Series("recorded", index=episodes.index, dtype="string")
    settled[missing] = "unknown"
    settled[missing & n_sexes.gt(1)] = "ambiguous"
    settled[fill] = "filled"
    sex = sex.where(~fill, partial.map(sexes["first"]))
    key = attributor_key(
        episodes["initial_first"], episodes["initial_surname"], episodes["date_of_birth"], sex
    )
    return key, settled


def key_sex(keys: pd.Series) -> pd.Series:
    """The sex a person key carries (<NA> for the unknown sex 'U')."""
    sex = keys.str.rsplit("|", n=1).str[-1].astype("string")
    return sex.mask(sex == "U")


def person_ids(keys: pd.Series, secret: bytes) -> pd.Series:
    """Keyed hash (HMAC-SHA256, 16 hex chars) of each attributor key: the pseudonymous person id."""
    return _keyed_hash(keys, secret, "P")


def unit_ids(values: pd.Series, secret: bytes) -> pd.Series:
    """Keyed hash ('U' + 16 hex chars) of a register's person identifier (PNC: pnc_id).

    The register's own person id is an identifier: it never leaves linkage, only this
    pseudonym (same key as person ids, a separate namespace) does.
    """
    return _keyed_hash(values, secret, "U", b"unit|")


def _keyed_hash(values: pd.Series, secret: bytes, prefix: str, namespace: bytes = b"") -> pd.Series:
    """``prefix`` + the first 16 hex chars of HMAC-SHA256(secret, namespace + value); <NA> stays <NA>.

    Each distinct value is hashed once, by the one-shot ``hmac.digest`` (OpenSSL's HMAC).
    """

    def hashed(distinct: pd.Series) -> pd.Series:
        return pd.Series(
            [
                prefix + hmac.digest(secret, namespace + value.encode(), "sha256")[:8].hex()
                for value in distinct.astype(str).tolist()
            ],
            dtype="string",
        )

    return per_distinct_value(values, hashed).astype("string")


def age_in_years(dob: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years of age on date ``on`` for dates of birth ``dob``."""
    dob = pd.to_datetime(dob)
    on = pd.to_datetime(on)
    years = on.dt.year - dob.dt.year
    before_birthday = (on.dt.month < dob.dt.month) | (
        (on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day)
    )
    return (years - before_birthday.astype(int)).astype("Int64")
