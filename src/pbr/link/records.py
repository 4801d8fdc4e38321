"""Linkage records: one per NDTMS person, one per register record or offender identity.

Both sides of a linkage carry the same columns (:data:`LINK_COLUMNS`): the initials,
date of birth, sex, area and region the model compares, and the dates the deaths model
weighs (the person's latest contact and 'client died' discharge; the register's event
date). ONS and PNC hold full names; their records get initials from them. These records
keep identifiers, so they stay in linkage: the register's own offender id is carried
beside its pseudonym so that later steps pseudonymise by lookup (:func:`unit_pseudonyms`).
"""

from __future__ import annotations

import pandas as pd

from pbr.contract import DISCHARGE_REASONS, NULL_TOKENS, name_initial
from pbr.link.persons import episode_persons
from pbr.link.pseudonyms import (
    as_strings,
    iso_dates,
    per_distinct_value,
    unit_ids,
    upper_strings,
)

#: NDTMS's discharge reason code for 'client died'
CLIENT_DIED = next(code for code, text in DISCHARGE_REASONS.items() if text == "client died")

#: the columns of a linkage record, either side: what the model is given of it
LINK_COLUMNS = [
    "unique_id",
    "initial_first",
    "initial_surname",
    "initials",
    "dob",
    "sex",
    "area_code",
    "dob_days",
    "areas",
    "region",
    "last_contact",
    "died_on",
    "event_date",
]

#: episode dates on which the client was seen alive (a discharge may be recorded after a death)
CONTACT_DATES = ("referral_date", "triage_date", "first_intervention_date")

#: the NDTMS episode columns :func:`ndtms_link_records` reads (the attributor, the person's
#: clients and areas, the contact and discharge dates); rule link_records reads only these (13 of
#: the synthetic extract's 24 columns)
NDTMS_RECORD_COLUMNS = [
    "episode_id",
    "client_id",
    "agency_id",
    "area_code",
    "initial_first",
    "initial_surname",
    "date_of_birth",
    "sex",
    *CONTACT_DATES,
    "discharge_date",
    "discharge_reason",
]


def register_record_columns(spec: dict) -> list[str]:
    """The register columns :func:`register_link_records` reads for a register ``spec``
    (:data:`pbr.registry.registers.REGISTERS`): the record's id, the identifiers compared, the event
    date and the grouping column when the spec has them; rule link_records reads only these."""
    optional = [c for c in (spec.get("event"), spec.get("group")) if c]
    return list(
        dict.fromkeys([spec["id"], "forename", "surname", "date_of_birth", "sex", "area_code", *optional])
    )


def ndtms_link_records(
    episodes: pd.DataFrame,
    secret: bytes,
    areas: pd.DataFrame,
    tops: pd.DataFrame,
    transfers: dict | None = None,
) -> pd.DataFrame:
    """One linkage record per NDTMS person.

    Carries the attributor; the area of the latest episode (``area_code``) and its
    ``region``; every area the person was treated in (``areas``, as '|A|B|'); and, as
    days since 1970-01-01, the date of birth (``dob_days``), the latest contact that
    needs the person alive (``last_contact``: a referral, triage, first intervention or
    TOP interview; a discharge may be recorded after a death, so it does not count) and
    the latest discharge with reason 'client died' (``died_on``). ``event_date`` is
    empty. ``clients`` counts the person's NDTMS clients (agency x client id): a person
    merged from two clients sharing an attributor may be two people
    (:func:`pbr.link.matching.unit_capacity`). ``areas`` is the area lookup (area_code ->
    region); ``tops`` holds the TOP interviews (episode_id, top_date). The persons are
    :func:`pbr.link.persons.episode_persons` (``transfers``: the settings of its transfer
    bridges, or None), as rule link_persons builds them.
    """
    person, sex, _, _ = episode_persons(episodes, secret, transfers)
    complete = person.notna()
    person_episodes = episodes.loc[complete].assign(
        person_id=person[complete],
        sex=sex[complete],  # the person's sex, a missing one settled as the key settles it
    )
    person_episodes = person_episodes.sort_values(
        ["person_id", "referral_date", "episode_id"], kind="mergesort"
    )
    latest = person_episodes.groupby("person_id", sort=True).tail(1)
    records = _identity_frame(
        latest["person_id"],
        latest["initial_first"],
        latest["initial_surname"],
        latest["date_of_birth"],
        latest["sex"],
        latest["area_code"],
        areas,
    )
    records["areas"] = (
        records["unique_id"]
        .map(_joined_values(person_episodes["person_id"], person_episodes["area_code"]))
        .astype("string")
    )
    records["last_contact"] = records["unique_id"].map(_latest_contact(person_episodes, tops)).astype("Int64")
    died = (
        person_episodes[person_episodes["discharge_reason"] == CLIENT_DIED]
        .groupby("person_id", sort=True)["discharge_date"]
        .max()
    )
    records["died_on"] = records["unique_id"].map(_days_since_epoch(died)).astype("Int64")
    records["event_date"] = pd.array([pd.NA] * len(records), dtype="Int64")
    clients = person_episodes.drop_duplicates(["person_id", "agency_id", "client_id"])
    records["clients"] = records["unique_id"].map(clients.groupby("person_id").size()).astype("int64")
    return records


def _latest_contact(episodes: pd.DataFrame, tops: pd.DataFrame) -> pd.Series:
    """Per person_id, the latest of its episodes' CONTACT_DATES and its TOP interview dates (days)."""
    dates = [episodes[["person_id", c]].set_axis(["person_id", "date"], axis=1) for c in CONTACT_DATES]
    top = tops[["episode_id", "top_date"]].merge(episodes[["episode_id", "person_id"]], on="episode_id")
    dates.append(top[["person_id", "top_date"]].set_axis(["person_id", "date"], axis=1))
    latest = pd.concat(dates, ignore_index=True).groupby("person_id", sort=True)["date"].max()
    return _days_since_epoch(latest)


def register_link_records(
    register: pd.DataFrame,
    id_column: str,
    areas: pd.DataFrame,
    group_column: str | None = None,
    event_column: str | None = None,
    secret: bytes = b"",
) -> pd.DataFrame:
    """Linkage records of a register: one per record, or one per distinct identity within ``group_column``.

    With ``group_column`` (PNC: ``pnc_id``), each distinct identity (initials, date of
    birth, sex, area) of an offender is one record (aliases give several), whose id is
    the smallest ``id_column`` value carrying it; ``group`` holds the offender's
    pseudonym (:func:`pbr.link.pseudonyms.unit_ids` with ``secret``) and ``group_column``
    the register's own id beside it (an identifier: like the rest of these records it
    stays in linkage), so that later steps pseudonymise by lookup (:func:`unit_pseudonyms`),
    not by hashing again.
    ``event_column`` (ONS: ``date_of_death``) is carried as ``event_date`` (days since
    1970-01-01), an event after which the person has no NDTMS contact. ``areas`` is
    the area lookup.
    """
    records = _identity_frame(
        register[id_column],
        _name_initials(register["forename"]),
        _name_initials(register["surname"]),
        register["date_of_birth"],
        register["sex"],
        register["area_code"],
        areas,
    )
    # one area: '|X|' is in a person's '|W|X|'
    records["areas"] = ("|" + records["area_code"] + "|").astype("string")
    for column in ("last_contact", "died_on"):
        records[column] = pd.array([pd.NA] * len(records), dtype="Int64")
    if event_column is None:
        records["event_date"] = pd.array([pd.NA] * len(records), dtype="Int64")
    else:
        records["event_date"] = _days_since_epoch(register[event_column]).to_numpy()
    if group_column is None:
        records["group"] = records["unique_id"]
        return records
    records["group"] = unit_ids(register[group_column], secret).to_numpy()
    records[group_column] = as_strings(register[group_column]).to_numpy()
    identity = ["group", "initial_first", "initial_surname", "dob", "sex", "area_code"]
    records = records.sort_values("unique_id", kind="mergesort").drop_duplicates(identity, keep="first")
    return records.reset_index(drop=True)


def unit_pseudonyms(right: pd.DataFrame, group_column: str) -> pd.Series:
    """The register's own unit id (``group_column``, e.g. pnc_id) -> its pseudonym, from linkage records.

    ``right`` is :func:`register_link_records` output built with ``group_column``: every
    unit has at least one identity there, so every unit of the register is covered, and
    the pseudonyms are those of ``right['group']`` (no second hashing).
    """
    pairs = right[[group_column, "group"]].drop_duplicates(group_column)
    return pd.Series(
        pairs["group"].to_numpy(), index=pd.Index(pairs[group_column].to_numpy(), name=group_column)
    )


def link_inputs(
    episodes: pd.DataFrame,
    register: pd.DataFrame,
    spec: dict,
    secret: bytes,
    areas: pd.DataFrame,
    tops: pd.DataFrame,
    transfers: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two sides of a linkage: NDTMS persons (``transfers``: :func:`ndtms_link_records`) and the
    register's records (or offender identities)."""
    right = register_link_records(register, spec["id"], areas, spec["group"], spec.get("event"), secret)
    return ndtms_link_records(episodes, secret, areas, tops, transfers), right


def _joined_values(person: pd.Series, value: pd.Series) -> pd.Series:
    """Per person, its distinct non-missing values sorted and joined as '|a|b|' (a person_id-indexed Series)."""
    import duckdb

    con = duckdb.connect()
    con.register(
        "person_values",
        pd.DataFrame(
            {"person": person.astype("string").to_numpy(), "value": value.astype("string").to_numpy()}
        ),
    )
    out = con.sql(
        "SELECT person, '|' || string_agg(DISTINCT value, '|' ORDER BY value) || '|' AS joined "
        "FROM person_values WHERE value IS NOT NULL GROUP BY person"
    ).df()
    return out.set_index("person")["joined"]


def _days_since_epoch(dates: pd.Series) -> pd.Series:
    """Dates as whole days since 1970-01-01 (Int64, <NA> where missing): cheap to compare per pair."""
    timestamps = pd.to_datetime(dates)
    days = (timestamps - pd.Timestamp("1970-01-01")).dt.days
    return days.astype("Int64")


def _name_initials(name: pd.Series) -> pd.Series:
    """The initial of each name (:func:`pbr.contract.name_initial`: its first letter A-Z, accents
    removed), or <NA> (missing, a null token such as 'NULL' or 'UNKNOWN', or not starting with a letter)."""

    def initial(distinct: pd.Series) -> pd.Series:
        return pd.Series([name_initial(x) for x in distinct.astype(str).tolist()], dtype="string")

    return per_distinct_value(name, initial)


def _identity_frame(
    unique_id: pd.Series,
    initial_first: pd.Series,
    initial_surname: pd.Series,
    dob: pd.Series,
    sex: pd.Series,
    area: pd.Series,
    areas: pd.DataFrame,
) -> pd.DataFrame:
    """The compared identity of each record: initials (each, and both as ``initials``), date of birth
    (ISO and ``dob_days``), sex, area and the area's region from the lookup ``areas``."""
    frame = pd.DataFrame(
        {
            "unique_id": unique_id.astype("string").to_numpy(),
            "initial_first": upper_strings(initial_first).to_numpy(),
            "initial_surname": upper_strings(initial_surname).to_numpy(),
            "dob": iso_dates(dob).to_numpy(),
            "sex": as_strings(sex).to_numpy(),
            "area_code": as_strings(area).to_numpy(),
        }
    )
    frame["initials"] = (frame["initial_first"] + frame["initial_surname"]).astype("string")
    frame["dob_days"] = _days_since_epoch(dob).to_numpy()
    # a region written as a null token ('NULL') is no region: it must not make every such area 'same region'
    tokens = {t.upper() for t in NULL_TOKENS}
    region = {
        str(code): str(r).strip()
        for code, r in zip(areas["area_code"], areas["region"], strict=True)
        if not pd.isna(r) and str(r).strip() and str(r).strip().upper() not in tokens
    }
    frame["region"] = per_distinct_value(frame["area_code"], lambda v: v.map(region).astype("string"))
    return frame
