"""Link stage: group NDTMS episodes into persons and link persons to ONS deaths and PNC offences.

Identifiers end here. Inputs carry initials, names and dates of birth; every output
carries only a pseudonymous ``person_id`` (a keyed hash) and derived fields (age at
referral, sex). Nothing after this stage can see an identifier.

Persons: NDTMS's attributor (first-name initial + surname initial + date of birth +
sex) is the person key, as NDTMS itself uses it; a person is the set of episodes
sharing it (the rule is measured against the synthetic truth by ``assess_linkage``).

Registers: ONS and PNC hold full names; their records get initials from them. With
``linkage.method: probabilistic`` (default) a Fellegi-Sunter model (splink 5, DuckDB)
compares initials, date of birth, sex, area (latest, any, or region of the person's
treatment) and, for deaths, the death date against the person's NDTMS dates (a
'client died' discharge near it; a referral, triage, intervention or TOP interview
after it); it is trained without labels, scores candidate pairs, and a greedy
one-to-one pass keeps each person's best unit (a death; an offender, whose offences
follow). ``deterministic`` links on the exact key.
"""

from __future__ import annotations

import atexit
import hmac
import logging
import shutil
import tempfile

import numpy as np
import pandas as pd

from pbr.contract import (  # the thresholds of the link-rate checks are part of the written contract
    DIED_MIN,
    DIED_SHARE,
    DISCHARGE_REASONS,
    LINK_RATE_MIN_EXPECTED,
    LINK_RATE_RELATIVE,
    MIN_LINK_RATE,
    NULL_TOKENS,
    name_initial,
)
from pbr.errors import PipelineError
from pbr.flow import flow_frame, flow_row
from pbr.source import KEY_ENV, SYNTHETIC_KEY, SourceError, link_key  # noqa: F401  (KEY_ENV, SYNTHETIC_KEY: re-exported)

log = logging.getLogger(__name__)


CLIENT_DIED = next(code for code, text in DISCHARGE_REASONS.items() if text == "client died")


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


def _per_unique(values: pd.Series, fn) -> pd.Series:
    """``fn`` (a vectorised Series -> Series function) applied to the distinct non-missing values
    only and mapped back to every row (<NA> stays <NA>). Same result as ``fn(values)`` for
    an element-wise ``fn``, much faster for columns of few distinct values (names, dates)."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    mapped = fn(pd.Series(uniq)).reset_index(drop=True)
    if len(mapped) == 0:
        return pd.Series(pd.array([pd.NA] * len(values), dtype="string"), index=values.index)
    out = pd.api.extensions.take(mapped.array, codes, allow_fill=True)
    return pd.Series(out, index=values.index)


def _initial(name: pd.Series) -> pd.Series:
    """The initial of each name (:func:`pbr.contract.name_initial`: its first letter A-Z, accents
    removed), or <NA> (missing, a null token such as 'NULL' or 'UNKNOWN', or not starting with a letter)."""

    def initial(v: pd.Series) -> pd.Series:
        return pd.Series([name_initial(x) for x in v.astype(str).tolist()], dtype="string")

    return _per_unique(name, initial)


def _upper(values: pd.Series) -> pd.Series:
    """Values as upper-case strings (<NA> stays <NA>)."""
    return _per_unique(values, lambda v: v.astype("string").str.upper())


def _string(values: pd.Series) -> pd.Series:
    """Values as strings (<NA> stays <NA>)."""
    return _per_unique(values, lambda v: v.astype("string"))


def attributor_key(
    initial_first: pd.Series, initial_surname: pd.Series, dob: pd.Series, sex: pd.Series
) -> pd.Series:
    """The NDTMS attributor as one string per row ('AB|1980-01-31|M'); <NA> if initials or dob missing."""
    dob_s = _iso(dob)
    key = _upper(initial_first) + _upper(initial_surname) + "|" + dob_s + "|" + _string(sex).fillna("U")
    return key


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

    def hashed(uniq: pd.Series) -> pd.Series:
        return pd.Series(
            [
                prefix + hmac.digest(secret, namespace + v.encode(), "sha256")[:8].hex()
                for v in uniq.astype(str).tolist()
            ],
            dtype="string",
        )

    return _per_unique(values, hashed).astype("string")


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


def register_name(link_name: str) -> str:
    """The contract table behind a link ('deaths' -> 'ons_deaths')."""
    return {"deaths": "ons_deaths", "offences": "pnc_offences"}[link_name]


# ---------------------------------------------------------------------------------------------
# Probabilistic linkage (Fellegi-Sunter, splink 5 on DuckDB)
# ---------------------------------------------------------------------------------------------

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


def ndtms_link_records(
    episodes: pd.DataFrame, secret: bytes, areas: pd.DataFrame, tops: pd.DataFrame
) -> pd.DataFrame:
    """One linkage record per NDTMS person.

    Carries the attributor; the area of the latest episode (``area_code``) and its
    ``region``; every area the person was treated in (``areas``, as '|A|B|'); and, as
    days since 1970-01-01, the date of birth (``dob_days``), the latest contact that
    needs the person alive (``last_contact``: a referral, triage, first intervention or
    TOP interview; a discharge may be recorded after a death, so it does not count) and
    the latest discharge with reason 'client died' (``died_on``). ``event_date`` is
    empty. ``areas`` is the area lookup (area_code -> region); ``tops`` holds the TOP
    interviews (episode_id, top_date).
    """
    key = attributor_key(
        episodes["initial_first"], episodes["initial_surname"], episodes["date_of_birth"], episodes["sex"]
    )
    ep = episodes.loc[key.notna()].assign(person_id=person_ids(key[key.notna()], secret))
    ep = ep.sort_values(["person_id", "referral_date", "episode_id"], kind="mergesort")
    last = ep.groupby("person_id", sort=True).tail(1)
    rec = _link_frame(
        last["person_id"],
        last["initial_first"],
        last["initial_surname"],
        last["date_of_birth"],
        last["sex"],
        last["area_code"],
        areas,
    )
    rec["areas"] = rec["unique_id"].map(_joined(ep["person_id"], ep["area_code"])).astype("string")
    rec["last_contact"] = rec["unique_id"].map(_latest_contact(ep, tops)).astype("Int64")
    died = ep[ep["discharge_reason"] == CLIENT_DIED].groupby("person_id", sort=True)["discharge_date"].max()
    rec["died_on"] = rec["unique_id"].map(_days(died)).astype("Int64")
    rec["event_date"] = pd.array([pd.NA] * len(rec), dtype="Int64")
    return rec


#: episode dates on which the client was seen alive (a discharge may be recorded after a death)
CONTACT_DATES = ("referral_date", "triage_date", "first_intervention_date")


def _latest_contact(episodes: pd.DataFrame, tops: pd.DataFrame) -> pd.Series:
    """Per person_id, the latest of its episodes' CONTACT_DATES and its TOP interview dates (days)."""
    dates = [episodes[["person_id", c]].set_axis(["person_id", "date"], axis=1) for c in CONTACT_DATES]
    top = tops[["episode_id", "top_date"]].merge(episodes[["episode_id", "person_id"]], on="episode_id")
    dates.append(top[["person_id", "top_date"]].set_axis(["person_id", "date"], axis=1))
    latest = pd.concat(dates, ignore_index=True).groupby("person_id", sort=True)["date"].max()
    return _days(latest)


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
    pseudonym (:func:`unit_ids` with ``secret``) and ``group_column`` the register's own
    id beside it (an identifier: like the rest of these records it stays in linkage),
    so that later steps pseudonymise by lookup (:func:`unit_pseudonyms`), not by hashing
    again.
    ``event_column`` (ONS: ``date_of_death``) is carried as ``event_date`` (days since
    1970-01-01), an event after which the person has no NDTMS contact. ``areas`` is
    the area lookup.
    """
    rec = _link_frame(
        register[id_column],
        _initial(register["forename"]),
        _initial(register["surname"]),
        register["date_of_birth"],
        register["sex"],
        register["area_code"],
        areas,
    )
    rec["areas"] = ("|" + rec["area_code"] + "|").astype("string")  # one area: '|X|' is in a person's '|W|X|'
    for column in ("last_contact", "died_on"):
        rec[column] = pd.array([pd.NA] * len(rec), dtype="Int64")
    if event_column is None:
        rec["event_date"] = pd.array([pd.NA] * len(rec), dtype="Int64")
    else:
        rec["event_date"] = _days(register[event_column]).to_numpy()
    if group_column is None:
        rec["group"] = rec["unique_id"]
        return rec
    rec["group"] = unit_ids(register[group_column], secret).to_numpy()
    rec[group_column] = _string(register[group_column]).to_numpy()
    ident = ["group", "initial_first", "initial_surname", "dob", "sex", "area_code"]
    rec = rec.sort_values("unique_id", kind="mergesort").drop_duplicates(ident, keep="first")
    return rec.reset_index(drop=True)


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


def _joined(person: pd.Series, value: pd.Series) -> pd.Series:
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


def _days(dates: pd.Series) -> pd.Series:
    """Dates as whole days since 1970-01-01 (Int64, <NA> where missing): cheap to compare per pair."""
    d = pd.to_datetime(dates)
    days = (d - pd.Timestamp("1970-01-01")).dt.days
    return days.astype("Int64")


def _iso(dates: pd.Series) -> pd.Series:
    """Dates as ISO strings ('2012-04-01'), <NA> where missing."""
    return _per_unique(dates, lambda v: pd.to_datetime(v).dt.strftime("%Y-%m-%d").astype("string"))


def _link_frame(uid, first, sur, dob, sex, area, areas: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "unique_id": uid.astype("string").to_numpy(),
            "initial_first": _upper(first).to_numpy(),
            "initial_surname": _upper(sur).to_numpy(),
            "dob": _iso(dob).to_numpy(),
            "sex": _string(sex).to_numpy(),
            "area_code": _string(area).to_numpy(),
        }
    )
    df["initials"] = (df["initial_first"] + df["initial_surname"]).astype("string")
    df["dob_days"] = _days(dob).to_numpy()
    # a region written as a null token ('NULL') is no region: it must not make every such area 'same region'
    tokens = {t.upper() for t in NULL_TOKENS}
    region = {
        str(code): str(r).strip()
        for code, r in zip(areas["area_code"], areas["region"], strict=True)
        if not pd.isna(r) and str(r).strip() and str(r).strip().upper() not in tokens
    }
    df["region"] = _per_unique(df["area_code"], lambda v: v.map(region).astype("string"))
    return df


#: a discharge 'client died' within this many days of a death date agrees with it
DIED_WINDOW_DAYS = 60


def _person_register_sql(column: str, register: bool = False) -> str:
    """SQL for the NDTMS person's (or, with ``register``, the register record's) value of ``column`` in a pair.

    Only person records carry ``last_contact``, so it tells which side of a pair is the person.
    """
    person_left = "last_contact_l IS NOT NULL"
    first, second = ("r", "l") if register else ("l", "r")
    return f"(CASE WHEN {person_left} THEN {column}_{first} ELSE {column}_{second} END)"


def splink_settings(event_dates: bool = False, term_frequency: bool = True, linker_uid: str = "pbr_link"):
    """Comparisons and blocking for linking NDTMS attributors to a register.

    Comparisons: initials (both / swapped / surname only / first only between two women,
    whose surname may have changed on marriage / first only / else, with a
    term-frequency adjustment on the exact level); date of birth (exact / day and month
    transposed / one day apart / birth year one apart / another one-character
    difference / else); sex (both women / both men / else: a register holding fewer
    women than NDTMS, as the PNC does, makes agreement on 'F' stronger evidence); area
    (the person's latest area / another area the person was treated in / same region /
    else). With ``event_dates`` (deaths), also whether the person was discharged as died
    near the event date, discharged as died on another date, seen after the event (a
    referral, triage, intervention or TOP interview: impossible for one person; not
    applied when the event is in another area the person was treated in, where two
    people sharing an attributor are told apart), or none of these. Blocking: :func:`blocking_rules`.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    initials = cl.CustomComparison(
        output_column_name="initials",
        comparison_levels=[
            cll.Or(cll.NullLevel("initial_first"), cll.NullLevel("initial_surname")),
            cll.ExactMatchLevel("initials", term_frequency_adjustments=term_frequency),
            cll.CustomLevel(
                "initial_first_l = initial_surname_r AND initial_surname_l = initial_first_r", "swapped"
            ),
            cll.CustomLevel("initial_surname_l = initial_surname_r", "surname initial only"),
            cll.CustomLevel(
                "initial_first_l = initial_first_r AND sex_l = 'F' AND sex_r = 'F'",
                "first initial only, both women",
            ),
            cll.CustomLevel("initial_first_l = initial_first_r", "first initial only"),
            cll.ElseLevel(),
        ],
    )
    sex = cl.CustomComparison(
        output_column_name="sex",
        comparison_levels=[
            cll.NullLevel("sex"),
            cll.CustomLevel("sex_l = 'F' AND sex_r = 'F'", "both women"),
            cll.CustomLevel("sex_l = 'M' AND sex_r = 'M'", "both men"),
            cll.ElseLevel(),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob", term_frequency_adjustments=term_frequency),
            cll.CustomLevel(
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
                "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                "day and month transposed",
            ),
            cll.CustomLevel("abs(dob_days_l - dob_days_r) <= 1", "one day apart"),
            cll.CustomLevel(
                "substr(dob_l, 6, 5) = substr(dob_r, 6, 5) AND "
                "abs(CAST(substr(dob_l, 1, 4) AS INTEGER) - CAST(substr(dob_r, 1, 4) AS INTEGER)) = 1",
                "birth year one apart",
            ),
            cll.CustomLevel("damerau_levenshtein(dob_l, dob_r) <= 1", "another one-character difference"),
            cll.ElseLevel(),
        ],
    )
    area = cl.CustomComparison(
        output_column_name="area",
        comparison_levels=[
            cll.NullLevel("area_code"),
            cll.ExactMatchLevel("area_code"),
            cll.CustomLevel(
                "contains(areas_l, areas_r) OR contains(areas_r, areas_l)",
                "another area of the person's treatment",
            ),
            cll.ExactMatchLevel("region").configure(label_for_charts="same region"),
            cll.ElseLevel(),
        ],
    )
    comparisons = [initials, dob, sex, area]
    if event_dates:
        event, died = _person_register_sql("event_date", register=True), _person_register_sql("died_on")
        last, person_areas = _person_register_sql("last_contact"), _person_register_sql("areas")
        register_area = _person_register_sql("area_code", register=True)
        latest_area = _person_register_sql("area_code")
        treated_elsewhere = (
            f"(contains({person_areas}, '|' || {register_area} || '|') AND {register_area} <> {latest_area})"
        )
        comparisons.append(
            cl.CustomComparison(
                output_column_name="event_timing",
                comparison_levels=[
                    cll.CustomLevel(f"{event} IS NULL OR {last} IS NULL", "no dates to compare").configure(
                        is_null_level=True
                    ),
                    cll.CustomLevel(
                        f"abs({died} - {event}) <= {DIED_WINDOW_DAYS}",
                        f"discharged as died within {DIED_WINDOW_DAYS} days of the event",
                    ),
                    cll.CustomLevel(f"{died} IS NOT NULL", "discharged as died on another date"),
                    cll.CustomLevel(
                        f"{event} < {last} AND NOT coalesce({treated_elsewhere}, false)",
                        "event before the person's latest contact",
                    ),
                    cll.ElseLevel(),
                ],
            )
        )
    return SettingsCreator(
        link_type="link_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        linker_uid=linker_uid,
    )


def blocking_rules() -> list:
    """Candidate pairs: records agreeing on one of these (OR-ed; splink removes duplicates).

    Each rule lets one kind of error through while staying small (measured at scale 1.0
    against 1.5M PNC identities: 2.7M-9.3M pairs each, about 30M in all, where a plain
    same-date-of-birth rule alone gives 50M and same initials and birth year 80M):
    same date of birth and first initial (a wrong surname initial); same date of birth
    and surname initial (a wrong first initial); same date of birth with initials swapped;
    same initials, birth year and month (a wrong day); same initials, birth year and day
    (a wrong month); same initials and birth year with day and month transposed; same
    initials and birth day and month (a wrong year).
    """
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    return [
        block_on("dob", "initial_first"),
        block_on("dob", "initial_surname"),
        CustomRule("l.dob = r.dob AND l.initial_first = r.initial_surname"),
        block_on("initials", "substr(dob, 1, 7)"),
        block_on("initials", "substr(dob, 1, 4)", "substr(dob, 9, 2)"),
        CustomRule(
            "l.initials = r.initials AND substr(l.dob, 1, 4) = substr(r.dob, 1, 4) "
            "AND substr(l.dob, 6, 2) = substr(r.dob, 9, 2) AND substr(l.dob, 9, 2) = substr(r.dob, 6, 2)"
        ),
        block_on("initials", "substr(dob, 6, 5)"),
    ]


#: share of a job's memory (Snakemake ``resources.mem_mb``) that DuckDB may hold; the rest
#: is for the pandas frames around it (inputs, pairs, link table)
DUCKDB_MEMORY_SHARE = 0.6


def duckdb_memory_mb(job_mem_mb: float | None) -> int | None:
    """DuckDB's memory limit (MB) for a job given ``job_mem_mb``; None (DuckDB's default,
    80% of the machine's memory) when the job states no memory."""
    if not job_mem_mb:
        return None
    return max(256, int(job_mem_mb * DUCKDB_MEMORY_SHARE))


def _linker(left: pd.DataFrame, right: pd.DataFrame, settings, threads: int, memory_mb: int | None = None):
    """A splink linker over a fresh in-memory DuckDB with ``threads`` threads.

    With ``memory_mb``, DuckDB holds at most that much and spills the rest of its joins to a
    private temporary directory (the scored pairs are the same; measured at scale 2.0,
    offences, with a 4 GB cap: 659,755 identical pairs, peak 10.0 -> 5.0 GiB, time
    132 -> 139 s).
    """
    import duckdb
    from splink import DuckDBAPI, Linker

    con = duckdb.connect()
    con.execute(f"SET threads TO {int(threads)}")
    if memory_mb:
        spill = tempfile.mkdtemp(prefix="pbr-duckdb-")
        atexit.register(shutil.rmtree, spill, ignore_errors=True)
        con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
        con.execute(f"SET temp_directory = '{spill}'")
    db = DuckDBAPI(connection=con)
    sdf_l = db.register(left[LINK_COLUMNS], dataset_display_name="ndtms")
    sdf_r = db.register(right[LINK_COLUMNS], dataset_display_name="register")
    return Linker([sdf_l, sdf_r], settings, log_level=logging.WARNING)


def _round_model(obj):
    """Round every float in the model JSON to 10 significant digits (stable bytes across runs)."""
    if isinstance(obj, dict):
        return {k: _round_model(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round_model(v) for v in obj]
    if isinstance(obj, float):
        return float(f"{obj:.10g}")
    return obj


def train_link_model(
    left: pd.DataFrame,
    right: pd.DataFrame,
    recall: float,
    seed: int,
    max_pairs: float,
    threads: int = 1,
    em_max_pairs: float = 2e6,
    memory_mb: int | None = None,
) -> dict:
    """Estimate the Fellegi-Sunter parameters; return the splink model as a dict (saved as JSON).

    lambda from an exact rule on all four identifiers with the assumed ``recall``; u by
    random sampling (``max_pairs``, ``seed``); m by three EM sessions, blocked on date of
    birth and area (estimates initials, sex and, for deaths, the event comparison), on
    initials and area (date of birth, sex) and on initials and date of birth (area, sex),
    with lambda held fixed (splink note P-A1), each on at most ``em_max_pairs`` pairs
    (uncapped, the initials block holds hundreds of millions of pairs at full scale).
    """
    from splink import block_on

    event_dates = bool(right["event_date"].notna().any())
    linker = _linker(left, right, splink_settings(event_dates), threads, memory_mb)
    t = linker.training
    t.estimate_probability_two_random_records_match(
        [block_on("initials", "dob", "sex", "area_code")], recall=recall
    )
    t.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for rule in (
        block_on("dob", "area_code"),
        block_on("initials", "area_code"),
        block_on("initials", "dob"),
    ):
        t.estimate_parameters_using_expectation_maximisation(
            rule, fix_probability_two_random_records_match=True, max_pairs=em_max_pairs
        )
    return _round_model(linker.misc.save_model_to_json())


def predict_link_pairs(
    left: pd.DataFrame,
    right: pd.DataFrame,
    model: dict,
    min_probability: float,
    threads: int = 1,
    memory_mb: int | None = None,
) -> pd.DataFrame:
    """Score candidate pairs with a trained model; pairs with probability >= ``min_probability``.

    Columns: left_id, right_id, match_weight, match_probability (rounded to stable digits).
    """
    linker = _linker(left, right, model, threads, memory_mb)
    pred = linker.inference.predict(threshold_match_probability=min_probability)
    rel = pred.as_duckdbpyrelation()
    df = rel.select("unique_id_l, unique_id_r, match_weight, match_probability").df()
    df.columns = ["left_id", "right_id", "match_weight", "match_probability"]
    df["match_weight"] = df["match_weight"].astype(float).round(8)
    df["match_probability"] = df["match_probability"].astype(float).round(10)
    df["left_id"] = df["left_id"].astype("string")
    df["right_id"] = df["right_id"].astype("string")
    return df.sort_values(["left_id", "right_id"], kind="mergesort").reset_index(drop=True)


def best_matches(pairs: pd.DataFrame, left: str = "left_id", right: str = "right_id") -> pd.DataFrame:
    """Greedy one-to-one assignment: take pairs by descending weight; each id is used at most once.

    Ties are broken by left id then right id, so the result is deterministic. Because the
    pass goes from the highest weight down, the assignment restricted to pairs above any
    threshold equals the assignment made from those pairs alone, so one table serves
    every threshold.
    """
    order = pairs.sort_values(["match_weight", left, right], ascending=[False, True, True], kind="mergesort")
    used_l: set = set()
    used_r: set = set()
    keep = []
    for i, lid, rid in zip(order.index, order[left].to_numpy(), order[right].to_numpy(), strict=True):
        if lid in used_l or rid in used_r:
            continue
        used_l.add(lid)
        used_r.add(rid)
        keep.append(i)
    return order.loc[keep].sort_values([left, right], kind="mergesort").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Link tables and their quality
# ---------------------------------------------------------------------------------------------


def exact_key_pairs(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """The deterministic baseline: pairs agreeing exactly on initials, date of birth and sex."""
    key = ["initials", "dob", "sex"]
    lk = left.dropna(subset=["initials", "dob"]).assign(sex=lambda d: d["sex"].fillna("U"))
    rk = right.dropna(subset=["initials", "dob"]).assign(sex=lambda d: d["sex"].fillna("U"))
    pairs = lk[["unique_id", *key]].merge(rk[["unique_id", *key]], on=key, suffixes=("_l", "_r"))
    out = pd.DataFrame({"left_id": pairs["unique_id_l"], "right_id": pairs["unique_id_r"]})
    out["match_weight"] = np.float64(np.inf)
    out["match_probability"] = np.float64(1.0)
    return out.sort_values(["left_id", "right_id"], kind="mergesort").reset_index(drop=True)


def to_group_pairs(pairs: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Pairs of (person, register unit): identities collapsed to their group (offender), best weight kept."""
    g = pairs.merge(right[["unique_id", "group"]], left_on="right_id", right_on="unique_id", how="left")
    g = g.sort_values(["left_id", "group", "match_weight"], ascending=[True, True, False], kind="mergesort")
    g = g.drop_duplicates(["left_id", "group"], keep="first")
    out = g[["left_id", "group", "match_weight", "match_probability"]].rename(columns={"group": "right_id"})
    return out.reset_index(drop=True)


def link_table(
    matches: pd.DataFrame, register: pd.DataFrame, unit_column: str, keep: list[str]
) -> pd.DataFrame:
    """Expand one-to-one (person, unit) matches to the register records they carry.

    Returns person_id, the register's records (``unit_column`` groups them: death_id for
    ONS, pnc_id for PNC), the fields in ``keep``, match_weight and match_probability.
    Identifier columns of the register are never carried.
    """
    reg = register[[unit_column, *[c for c in keep if c != unit_column]]].copy()
    reg[unit_column] = reg[unit_column].astype("string")
    m = matches.rename(columns={"left_id": "person_id", "right_id": unit_column})
    out = m.merge(reg, on=unit_column, how="inner")
    cols = ["person_id", *dict.fromkeys([unit_column, *keep]), "match_weight", "match_probability"]
    return out[cols]


def true_pairs(
    person_episodes: pd.DataFrame, episode_truth: pd.DataFrame, unit_truth: pd.DataFrame, unit_column: str
) -> pd.DataFrame:
    """The true (person_id, unit) pairs, from the synthetic truth (evaluation only).

    A unit (death, offender) truly belongs to a person when its true person is among the
    true persons of that person's episodes.
    """
    pe = person_episodes[["person_id", "episode_id"]].merge(
        episode_truth[["episode_id", "true_person_id"]], on="episode_id"
    )
    pe = pe[["person_id", "true_person_id"]].drop_duplicates()
    ut = unit_truth.dropna(subset=["true_person_id"])[[unit_column, "true_person_id"]].drop_duplicates()
    pairs = pe.merge(ut, on="true_person_id")[["person_id", unit_column]].drop_duplicates()
    pairs.columns = ["left_id", "right_id"]
    return pairs.astype("string").reset_index(drop=True)


def _scores(n_predicted: int, n_true: int, n_correct: int) -> dict:
    precision = n_correct / n_predicted if n_predicted else float("nan")
    recall = n_correct / n_true if n_true else float("nan")
    f1 = (
        2 * precision * recall / (precision + recall)
        if n_predicted and n_true and (precision + recall) > 0
        else float("nan")
    )
    return {
        "n_predicted": n_predicted,
        "n_true": n_true,
        "n_correct": n_correct,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def precision_recall(pred: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Precision, recall and F1 of predicted (left_id, right_id) pairs against true pairs."""
    p = set(zip(pred["left_id"], pred["right_id"], strict=True))
    t = set(zip(truth["left_id"], truth["right_id"], strict=True))
    return _scores(len(p), len(t), len(p & t))


def quality_table(
    matches: pd.DataFrame,
    exact: pd.DataFrame,
    truth: pd.DataFrame,
    thresholds: list[float],
    register_name: str,
    person_scope: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Precision / recall / F1 by method and threshold, overall and by scope (e.g. group x period).

    ``person_scope`` maps person_id to a ``scope`` label (e.g. 'pilot/pre'); rows are
    then added per scope, restricting predicted and true pairs to that scope's persons.
    Each pair is checked against the truth once (a merge); every threshold and scope is
    then a count over masks, the same numbers as :func:`precision_recall` per cell.
    """
    key = ["left_id", "right_id"]
    truth = truth[key].drop_duplicates()

    def flagged(pairs: pd.DataFrame) -> pd.DataFrame:
        out = pairs.drop_duplicates(key).merge(truth.assign(_true=True), on=key, how="left")
        return out.assign(_true=out["_true"].astype("boolean").fillna(False).astype(bool))

    matches = flagged(matches[[*key, "match_probability"]])
    exact = flagged(exact[key])
    scope_of = None if person_scope is None else person_scope.set_index("person_id")["scope"]
    scopes = [("all", None)]
    if scope_of is not None:
        scopes += [(s, s) for s in sorted(scope_of.unique())]
        for df in (matches, exact, truth):
            df["_scope"] = df["left_id"].map(scope_of).to_numpy()
    rows = []
    for scope, label in scopes:

        def in_scope(df: pd.DataFrame, label=label) -> pd.DataFrame:
            return df if label is None else df[df["_scope"] == label]

        tr, pr, ex = in_scope(truth), in_scope(matches), in_scope(exact)
        prob = pr["match_probability"].to_numpy()
        correct = pr["_true"].to_numpy()
        for t in thresholds:
            above = prob >= t
            rows.append(
                {"register": register_name, "method": "probabilistic", "threshold": t, "scope": scope}
                | _scores(int(above.sum()), len(tr), int((above & correct).sum()))
            )
        rows.append(
            {"register": register_name, "method": "exact_key", "threshold": np.nan, "scope": scope}
            | _scores(len(ex), len(tr), int(ex["_true"].sum()))
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Stage entry points (called by the workflow scripts)
# ---------------------------------------------------------------------------------------------


def link_inputs(
    episodes: pd.DataFrame,
    register: pd.DataFrame,
    spec: dict,
    secret: bytes,
    areas: pd.DataFrame,
    tops: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two sides of a linkage: NDTMS persons and the register's records (or offender identities)."""
    right = register_link_records(register, spec["id"], areas, spec["group"], spec.get("event"), secret)
    return ndtms_link_records(episodes, secret, areas, tops), right


# ---------------------------------------------------------------------------------------------
# Is the link rate plausible? (a register that shares identifiers with only a few clients)
# ---------------------------------------------------------------------------------------------


def link_rate_notes(
    units: pd.DataFrame,
    linked: pd.Series,
    register: str,
    min_rate: float,
    unit: str = "persons",
    register_size: str = "",
) -> list[dict]:
    """Where the link rate is far below what the cohort implies; one note per finding.

    ``units`` has one row per NDTMS person or study journey, with ``group`` and ``period`` (or
    neither: one cell, 'all') and ``died`` (NDTMS discharged the person as 'client died', within the
    register's dates); ``linked`` (aligned) says whether it links to the register. Three rules, each
    only where enough links are expected to tell (:data:`LINK_RATE_MIN_EXPECTED`):

    - **floor**: overall and in each group x period cell, fewer links than ``min_rate`` (config
      ``linkage.min_link_rate``) of the units (a register covering other people or other years);
    - **relative**: a cell with under a third of the links that the other cells' rate implies (a
      register missing a period or the pilot areas);
    - **deaths**: fewer than half of the persons NDTMS discharged as 'client died' link to a death.

    Each note: ``cell`` ('all' or 'pilot/pre'), ``n`` (the links found, or for the deaths rule the
    'client died' persons not linked) and ``text`` (with ``register_size``, e.g. 'a register of
    744 deaths', beside the rate).
    """
    of = f" to {register_size}" if register_size else ""
    linked = pd.Series(np.asarray(linked, dtype=bool), index=units.index)
    cells = [("all", pd.Series(True, index=units.index))]
    if {"group", "period"} <= set(units.columns):
        for g in ("pilot", "other"):
            for p in ("pre", "post"):
                cells.append((f"{g}/{p}", (units["group"] == g) & (units["period"] == p)))
    notes = []
    for cell, sel in cells:
        n, k = int(sel.sum()), int(linked[sel].sum())
        expected = n * min_rate
        if expected >= LINK_RATE_MIN_EXPECTED and k < expected:
            notes.append(
                {
                    "cell": cell,
                    "n": k,
                    "text": f"{register} {cell}: {k:,} of {n:,} NDTMS {unit} linked{of} ({k / n:.1%}), below the "
                    f"lowest plausible rate {min_rate:.1%} (linkage.min_link_rate: about {expected:.0f} links or "
                    "more): does the register cover these people and years?",
                }
            )
        if cell != "all":
            others = ~sel & cells[0][1]
            rate = linked[others].sum() / others.sum() if others.sum() else 0.0
            expected = n * rate
            if expected >= 2 * LINK_RATE_MIN_EXPECTED and k < LINK_RATE_RELATIVE * expected:
                notes.append(
                    {
                        "cell": cell,
                        "n": k,
                        "text": f"{register} {cell}: {k:,} of {n:,} NDTMS {unit} linked ({k / n:.1%}), under a third "
                        f"of the {expected:.0f} the other groups and periods' rate ({rate:.1%}) implies: does the "
                        "register cover this group and period?",
                    }
                )
        if "died" in units.columns:
            died = sel & units["died"].astype(bool)
            d, dk = int(died.sum()), int(linked[died].sum())
            if d >= DIED_MIN and dk < DIED_SHARE * d:
                notes.append(
                    {
                        "cell": cell,
                        "n": d - dk,
                        "text": f"{register} {cell}: only {dk:,} of the {d:,} NDTMS {unit} discharged as 'client "
                        "died' link to a death (at least half expected): does the register cover these deaths?",
                    }
                )
    return notes


def _warn_notes(notes: list[dict]) -> None:
    for note in notes:
        log.warning(
            "link rate far below what is expected: %s (docs/input-contract.md, 'Linkage: is the link rate "
            "plausible?'; the run goes on)",
            note["text"],
        )


def link_register_probabilistic(
    left: pd.DataFrame,
    right: pd.DataFrame,
    register: pd.DataFrame,
    spec: dict,
    model: dict,
    cfg: dict,
    name: str,
    threads: int = 1,
    memory_mb: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Predict, match one-to-one, and build the link table, the candidate pairs, the exact baseline and flow rows.

    A register unit that is a person (an offender: ``spec['group']``, which is then also
    ``spec['unit']``) is carried as its pseudonym (``right['group']``, looked up by
    :func:`unit_pseudonyms`), never as the register's own identifier.
    """
    if cfg["method"] == "probabilistic":
        pairs = predict_link_pairs(left, right, model, cfg["min_probability"], threads, memory_mb)
    else:
        pairs = exact_key_pairs(left, right)
    unit_pairs = to_group_pairs(pairs, right)
    matches = best_matches(unit_pairs)
    records = register
    if spec["group"] is not None:
        unit = spec["unit"]
        pseudonym = unit_pseudonyms(right, spec["group"])
        pseudonym = pseudonym[pseudonym.isin(set(matches["right_id"]))]  # only matched units' records
        records = register[register[unit].isin(pseudonym.index)]
        records = records.assign(**{unit: records[unit].map(pseudonym)})
    links = link_table(matches, records, spec["unit"], spec["keep"])
    exact = to_group_pairs(exact_key_pairs(left, right), right)
    linked = links.loc[links["match_probability"] >= cfg["threshold"], spec["id"]].nunique()
    table = register_name(name)
    notes = _person_link_notes(left, right, links, cfg, name)
    flow = flow_frame(
        [
            flow_row(
                "link",
                name,
                table,
                "records",
                "kept",
                f"linked to an NDTMS person (p >= {cfg['threshold']})",
                linked,
            ),
            flow_row(
                "link",
                name,
                table,
                "records",
                "dropped",
                "not linked to any NDTMS person",
                len(register) - linked,
            ),
        ]
        + [
            flow_row(
                "link",
                name,
                table,
                "NDTMS persons",
                "flagged",
                f"link rate far below expected: {n['text']}",
                n["n"],
            )
            for n in notes
        ]
    )
    log.info(
        "%s: %d candidate pairs, %d one-to-one matches, %d of %d register records linked at p >= %s",
        name,
        len(pairs),
        len(matches),
        linked,
        len(register),
        cfg["threshold"],
    )
    return {"links": links, "pairs": unit_pairs, "exact": exact, "flow": flow}


def _person_link_notes(
    left: pd.DataFrame, right: pd.DataFrame, links: pd.DataFrame, cfg: dict, name: str
) -> list[dict]:
    """:func:`link_rate_notes` over all NDTMS persons (no group or period here), logged as warnings.

    A person counts as 'client died' when NDTMS discharged them so within the register's event dates
    (a death after the register's last date cannot be in it). A register too small for the cohort is
    noted too: it cannot cover the clients."""
    min_rate = float((cfg.get("min_link_rate") or MIN_LINK_RATE).get(name, MIN_LINK_RATE.get(name, 0.0)))
    persons = pd.DataFrame({"person_id": left["unique_id"].to_numpy()})
    events = right["event_date"].dropna()
    died = left["died_on"]
    if len(events):
        died = died.where((died >= events.min()) & (died <= events.max()))
    persons["died"] = died.notna().to_numpy() if len(events) else False
    linked = persons["person_id"].isin(
        set(links.loc[links["match_probability"] >= cfg["threshold"], "person_id"])
    )
    size = f"a register of {len(right):,} {'deaths' if name == 'deaths' else 'offender identities'}"
    notes = link_rate_notes(persons, linked, name, min_rate, register_size=size) if len(persons) else []
    _warn_notes(notes)
    return notes


def person_scopes(journeys: pd.DataFrame) -> pd.DataFrame:
    """Each person's first study journey's cohort / group / period, as a 'scope' label for quality tables."""
    j = journeys[journeys["exclusion"].isna()].sort_values(
        ["person_id", "start_date", "journey_id"], kind="mergesort"
    )
    first = j.drop_duplicates("person_id")
    return pd.DataFrame(
        {
            "person_id": first["person_id"],
            "scope": first["cohort"] + "/" + first["group"] + "/" + first["period"],
        }
    )


def match_rates(
    journeys: pd.DataFrame,
    links: dict[str, pd.DataFrame],
    threshold: float,
    min_link_rate: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Share of study journeys whose person links to each register, by cohort x group x period.

    ``note`` holds, for the rows of a group x period (every cohort) and of the whole register, what
    :func:`link_rate_notes` found there ('' when nothing): the rate far below the plausible minimum
    (``min_link_rate``, config ``linkage.min_link_rate``; default :data:`MIN_LINK_RATE`), far below
    the other cells', or NDTMS 'client died' journeys not linking to deaths. Each is also logged as
    a warning.
    """
    min_link_rate = {**MIN_LINK_RATE, **(min_link_rate or {})}
    j = journeys[journeys["exclusion"].isna()]
    rows = []
    for name, lk in sorted(links.items()):
        linked = set(lk.loc[lk["match_probability"] >= threshold, "person_id"])
        flag = j["person_id"].isin(linked)
        agg = flag.groupby([j["cohort"], j["group"], j["period"]]).agg(["size", "sum"]).reset_index()
        agg.columns = ["cohort", "group", "period", "journeys", "linked"]
        agg.insert(0, "register", name)
        units = j[["group", "period"]].assign(
            died=(j["discharge_reason"] == CLIENT_DIED).fillna(False).to_numpy(dtype=bool)
            if name == "deaths" and "discharge_reason" in j
            else False
        )
        notes = link_rate_notes(units, flag, name, float(min_link_rate.get(name, 0.0)), unit="study journeys")
        _warn_notes(notes)
        cell = agg["group"] + "/" + agg["period"]
        agg["note"] = ["; ".join(n["text"] for n in notes if n["cell"] in (c, "all")) for c in cell]
        rows.append(agg)
    out = pd.concat(rows, ignore_index=True)
    out["rate"] = out["linked"] / out["journeys"]
    out["note"] = out.pop("note").astype("string")
    return out
