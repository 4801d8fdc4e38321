"""The linkage model: splink settings and blocking, DuckDB's memory, training and prediction.

With ``linkage.method: probabilistic`` (default) a Fellegi-Sunter model (splink 5, DuckDB)
compares initials, date of birth, sex, area (latest, any, or region of the person's
treatment) and, for deaths, the death date against the person's NDTMS dates (a 'client
died' discharge near it; a referral, triage, intervention or TOP interview after it). It
is trained without labels (:func:`train_link_model`) and scores candidate pairs
(:func:`predict_link_pairs`); :mod:`pbr.link.matching` makes the matches of them.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import shutil
import tempfile

import pandas as pd

from pbr.link import messages
from pbr.link.records import LINK_COLUMNS
from pbr.logs import Phases

#: a discharge 'client died' within this many days of a death date agrees with it
DIED_WINDOW_DAYS = 60

log = logging.getLogger(__name__)

#: share of a job's memory (Snakemake ``resources.mem_mb``) that DuckDB may hold; the rest
#: is for the pandas frames around it (inputs, pairs, link table)
DUCKDB_MEMORY_SHARE = 0.6


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
    from splink import SettingsCreator

    comparisons = [
        _initials_comparison(term_frequency),
        _dob_comparison(term_frequency),
        _sex_comparison(),
        _area_comparison(),
    ]
    if event_dates:
        comparisons.append(_event_timing_comparison())
    return SettingsCreator(
        link_type="link_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        linker_uid=linker_uid,
        max_iterations=messages.EM_MAX_ITERATIONS,
    )


def _initials_comparison(term_frequency: bool):
    """Initials: both / swapped / surname only / first only, both women / first only / else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
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


def _sex_comparison():
    """Sex: both women / both men / else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="sex",
        comparison_levels=[
            cll.NullLevel("sex"),
            cll.CustomLevel("sex_l = 'F' AND sex_r = 'F'", "both women"),
            cll.CustomLevel("sex_l = 'M' AND sex_r = 'M'", "both men"),
            cll.ElseLevel(),
        ],
    )


def _dob_comparison(term_frequency: bool):
    """Date of birth: exact / day and month transposed / one day apart / birth year one apart /
    another one-character difference / else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
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


def _area_comparison():
    """Area: the person's latest area / another area of the person's treatment / same region / else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
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


def _event_timing_comparison():
    """The register's event date (a death) against the person's NDTMS dates: discharged as died near
    it / discharged as died on another date / seen after it (not where the event is in another area
    the person was treated in) / else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    event, died = _person_register_sql("event_date", register=True), _person_register_sql("died_on")
    last, person_areas = _person_register_sql("last_contact"), _person_register_sql("areas")
    register_area = _person_register_sql("area_code", register=True)
    latest_area = _person_register_sql("area_code")
    treated_elsewhere = (
        f"(contains({person_areas}, '|' || {register_area} || '|') AND {register_area} <> {latest_area})"
    )
    return cl.CustomComparison(
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


def duckdb_memory_mb(job_mem_mb: float | None) -> int | None:
    """DuckDB's memory limit (MB) for a job given ``job_mem_mb``; None (DuckDB's default,
    80% of the machine's memory) when the job states no memory."""
    if not job_mem_mb:
        return None
    return max(256, int(job_mem_mb * DUCKDB_MEMORY_SHARE))


def duckdb_linker(
    left: pd.DataFrame, right: pd.DataFrame, settings, threads: int, memory_mb: int | None = None
):
    """A splink linker of ``left`` (NDTMS persons) and ``right`` (register records) over a fresh
    in-memory DuckDB with ``threads`` threads; ``settings`` are splink settings or a trained model.

    With ``memory_mb``, DuckDB holds at most that much and spills the rest of its joins to a
    private temporary directory (the scored pairs are the same; measured at scale 2.0,
    offences, with a 4 GB cap: 659,755 identical pairs, peak 10.0 -> 5.0 GiB, time
    132 -> 139 s).
    """
    import duckdb
    from splink import DuckDBAPI, Linker

    messages.install()
    con = duckdb.connect()
    con.execute(f"SET threads TO {int(threads)}")
    if memory_mb:
        spill = tempfile.mkdtemp(prefix="pbr-duckdb-")
        atexit.register(shutil.rmtree, spill, ignore_errors=True)
        con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
        con.execute(f"SET temp_directory = '{spill}'")
    db = DuckDBAPI(connection=con)
    left_table = db.register(left[LINK_COLUMNS], dataset_display_name="ndtms")
    right_table = db.register(right[LINK_COLUMNS], dataset_display_name="register")
    return Linker([left_table, right_table], settings, log_level=logging.WARNING)


def close_linker(linker) -> None:
    """Close the linker's DuckDB connection, returning its memory (up to the DuckDB limit) at once.

    Left to the garbage collector, it stays held while the job goes on to match the pairs: at
    national size (10 million offence records) predict_links held 4.9 GiB after scoring, 3 of
    them DuckDB's, and peaked at 6.7 GiB in the matching that followed.
    """
    linker._db_api.duckdb_con.close()


def _round_model(obj):
    """Round every float in the model JSON to 10 significant digits (stable bytes across runs)."""
    if isinstance(obj, dict):
        return {k: _round_model(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round_model(v) for v in obj]
    if isinstance(obj, float):
        return float(f"{obj:.10g}")
    return obj


#: the columns each EM session blocks on (:func:`em_sessions`)
EM_SESSION_BLOCKS = (("dob", "area_code"), ("initials", "area_code", "sex"), ("initials", "dob"))


def em_sessions() -> list:
    """The blocking rules of the EM sessions, each estimating the comparisons it does not block on.

    The date of birth is estimated only in the session blocked on initials, area and sex. Blocked
    on initials and area alone, sex was left free and EM took pairs of different people of one
    sex with the same initials in the same area as matches: at scale 1.0 the offenders' m for an
    exact date of birth came out 0.52 (and 'all other' 0.46) at generator seed 1, and 0.854 / 0.095
    at the pipeline's seed run to convergence (83 iterations), where the generator's date-of-birth
    errors (a day, a year, day and month swapped) leave 'all other' near 0. With sex blocked too:
    0.963 / 1e-4 at the pipeline's seed, 0.968 / 4e-5 at seed 1, 0.957 / 1e-4 at seed 2, each
    converged in 9-11 iterations (docs/linkage.md).
    """
    from splink import block_on

    return [block_on(*columns) for columns in EM_SESSION_BLOCKS]


@contextlib.contextmanager
def em_underflow_floor(floored: list[tuple[str, str, str]]):
    """Within this block, an m or u probability that splink's EM estimates below splink's own
    floor (``M_U_CLAMP_MIN``, 1e-300) is set to that floor, and ``(comparison, level)`` is
    appended to ``floored`` with the parameter ('m' or 'u').

    Why hand-patched: splink 5.0.0's maximisation step assigns each level's new m through a
    setter that raises ``ValueError`` below 1e-300, while its match-weight code clamps m and u
    at that same 1e-300. When no true match falls in a level, EM drives the level's m down by a
    constant factor an iteration until the posterior underflows to exactly 0.0 (measured: the
    deaths level 'discharged as died on another date', 4e-44, 1e-88, ..., 3e-288, then 0.0 in
    one EM session of ``bench/bench_linkage_mi.py --scenario differential --replicates
    103-103``), and training stops with that error. Holding the value at the floor is the value
    splink's weights would use anyway; estimates at or above it pass unchanged, so models
    that train without the floor are byte-identical with it (tested). splink takes the median
    of a level's m over the EM sessions that estimate it, so where several do (sex, the death
    date), one floored session does not pin the level.
    """
    from splink.internals import expectation_maximisation as em
    from splink.internals.comparison_level import M_U_CLAMP_MIN

    populate = em.populate_m_u_from_lookup

    def floored_populate(fixed, level, column, lookup):
        record = lookup.get(column, {}).get(level.comparison_vector_value, {})
        for key in ("m_probability", "u_probability"):
            value = record.get(key)
            if isinstance(value, float) and value < M_U_CLAMP_MIN:
                record[key] = M_U_CLAMP_MIN
                floored.append((column, level.label_for_charts, key[0]))
        return populate(fixed, level, column, lookup)

    em.populate_m_u_from_lookup = floored_populate
    try:
        yield floored
    finally:
        em.populate_m_u_from_lookup = populate


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
    random sampling (``max_pairs``, ``seed``); m by three EM sessions (:func:`em_sessions`),
    blocked on date of birth and area (estimates initials, sex and, for deaths, the event
    comparison), on initials, area and sex (date of birth) and on initials and date of birth (area, sex),
    with lambda held fixed (splink note P-A1), each on at most ``em_max_pairs`` pairs
    (uncapped, the initials block holds hundreds of millions of pairs at full scale). An m
    that EM drives to exactly 0 is held at splink's floor (:func:`em_underflow_floor`).
    """
    from splink import block_on

    event_dates = bool(right["event_date"].notna().any())
    linker = duckdb_linker(left, right, splink_settings(event_dates), threads, memory_mb)
    training = linker.training
    phases = Phases(log, "linkage training", 2 + len(EM_SESSION_BLOCKS))
    with phases.phase("lambda from the exact rule"):
        training.estimate_probability_two_random_records_match(
            [block_on("initials", "dob", "sex", "area_code")], recall=recall
        )
    with phases.phase(f"u by random sampling of up to {max_pairs:,.0f} pairs"):
        training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    floored: list[tuple[str, str, str]] = []
    with em_underflow_floor(floored):
        for columns, rule in zip(EM_SESSION_BLOCKS, em_sessions(), strict=True):
            with phases.phase(f"EM training blocked on {', '.join(columns)}"):
                training.estimate_parameters_using_expectation_maximisation(
                    rule, fix_probability_two_random_records_match=True, max_pairs=em_max_pairs
                )
    for column, level, parameter in dict.fromkeys(floored):
        log.warning(
            "EM estimated %s = 0 for %s level '%s' (no true match seems to fall in it); held at "
            "splink's floor 1e-300, so a pair at this level is almost never linked. If the level "
            "should hold matches in your data, check the input for it.",
            parameter,
            column,
            level,
        )
    trained = _round_model(linker.misc.save_model_to_json())
    untrained = messages.untrained_message(trained)
    if untrained:
        log.warning(untrained)
    return trained


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
    untrained = messages.untrained_message(model)
    if untrained:
        log.warning(untrained)
    linker = duckdb_linker(left, right, model, threads, memory_mb)
    predictions = linker.inference.predict(threshold_match_probability=min_probability)
    relation = predictions.as_duckdbpyrelation()
    pairs = relation.select("unique_id_l, unique_id_r, match_weight, match_probability").df()
    close_linker(linker)
    pairs.columns = ["left_id", "right_id", "match_weight", "match_probability"]
    pairs["match_weight"] = pairs["match_weight"].astype(float).round(8)
    pairs["match_probability"] = pairs["match_probability"].astype(float).round(10)
    pairs["left_id"] = pairs["left_id"].astype("string")
    pairs["right_id"] = pairs["right_id"].astype("string")
    return pairs.sort_values(["left_id", "right_id"], kind="mergesort").reset_index(drop=True)
