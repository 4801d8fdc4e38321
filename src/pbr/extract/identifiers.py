"""The checks on identifiers, which linkage and the study design rely on: NDTMS initials, register
names, dates of birth (placeholders, implausible ages, heaping) and sub-area codes.

They run on validated tables (each row carrying its source row number,
:data:`~pbr.extract.validation.SOURCE_ROW`) and return what they found as :class:`Marks`:
NDTMS episodes to drop, counts to flag and warnings, which the cross-table step
(:mod:`pbr.extract.cross_table`) applies and counts; what no analysis survives is a
:class:`~pbr.extract.problems.Problem`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pbr.contract import (
    HEAP_FACTOR,
    HEAP_MIN_PEOPLE,
    INITIAL_COLUMNS,
    NAME_COLUMNS,
    REGISTER_EVENT_COLUMNS,
    letter_initial,
    name_initial,
    normal_sub_area,
)
from pbr.extract.conversion import dates_in, map_distinct
from pbr.extract.problems import MAX_EXAMPLES, Problem, column_label, rows_text, show_value
from pbr.extract.validation import SOURCE_ROW


@dataclass
class Marks:
    """What the checks on identifiers found, before the cross-table checks: NDTMS episodes to drop
    (reason -> row mask, in order), counts to flag (table -> [(step, reason, n)]) and warnings."""

    drop: list[tuple[str, np.ndarray]] = field(default_factory=list)
    flags: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    initials: dict[str, dict[str, pd.Series]] = field(
        default_factory=dict
    )  # register -> name column -> initial

    def flag(self, table: str, step: str, reason: str, n: int) -> None:
        """Count ``n`` rows of ``table`` flagged at ``step`` for ``reason`` (a row of the flow table)."""
        self.flags.setdefault(table, []).append((step, reason, int(n)))


def _age_years(dob: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years of age on ``on`` for dates of birth ``dob`` (<NA> where either is missing)."""
    years = on.dt.year - dob.dt.year
    before = (on.dt.month < dob.dt.month) | ((on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day))
    return (years - before.astype("Int64")).astype("Int64")


def initials_dob(first: pd.Series, surname: pd.Series, dob: pd.Series) -> pd.Series:
    """'AB|1980-01-31' per row: the two initials (letters A-Z: NDTMS initials as read, or the initials of
    register names, :func:`pbr.contract.name_initial`) and the date of birth; <NA> if any is missing."""
    return first + surname + "|" + dob.dt.strftime("%Y-%m-%d").astype("string")


def _heaped(key: pd.Series, dob: pd.Series) -> np.ndarray:
    """Rows whose date of birth is shared by far more different people (``key``: initials and sex) than
    other days of its birth year: at least HEAP_MIN_PEOPLE and HEAP_FACTOR times the year's daily mean."""
    people = (
        pd.DataFrame({"key": key.to_numpy(dtype=object), "dob": dob.to_numpy()}).dropna().drop_duplicates()
    )
    if people.empty:
        return np.zeros(len(dob), dtype=bool)
    per_day = people.groupby("dob").size()
    per_year = per_day.groupby(per_day.index.year).sum()
    mean = per_day.index.year.map(per_year).to_numpy() / 365.25
    heaped = per_day.index[
        (per_day.to_numpy() >= HEAP_MIN_PEOPLE) & (per_day.to_numpy() >= HEAP_FACTOR * mean)
    ]
    return dates_in(dob, heaped)


def check_identifiers(
    tables: dict[str, pd.DataFrame],
    origin: dict[str, str],
    placeholders: frozenset[pd.Timestamp],
    max_age: int,
) -> tuple[dict[str, pd.DataFrame], Marks, list[Problem]]:
    """Initials, names, dates of birth and sub-area codes: what linkage and the study design rely on.

    - NDTMS initials that are not one letter A-Z ('?', '1', '-', 'John') are read as missing and
      counted (the episode then has no complete attributor and is dropped, counted, when persons are
      built); a column where more than half the filled values are not letters is fatal (not initials);
    - register names that give no initial (not starting with a letter) are counted;
    - a date of birth in ``placeholders``, or an age over ``max_age`` (NDTMS at referral, registers at
      the death or offence): the episode is dropped (counted later), the register's date of birth set
      to missing (it cannot be linked) and counted;
    - an NDTMS date of birth shared by far more clients than chance is counted and warned about (a
      placeholder missing from the list?; registers are not checked: their placeholders cannot link, as
      NDTMS's are dropped, and PNC aliases share a date of birth by design);
    - sub-area codes get one spelling (:func:`pbr.contract.normal_sub_area`), counted; a pilot
      sub-area on an area that is not a pilot area is fatal.
    """
    out = dict(tables)
    marks = Marks()
    episodes = out["ndtms_episodes"].copy()
    problems = _check_initials(episodes, origin["ndtms_episodes"], marks)
    _check_register_names(out, origin, marks)
    _check_episode_dates_of_birth(episodes, origin["ndtms_episodes"], marks, placeholders, max_age)
    out["ndtms_episodes"] = episodes
    _check_register_dates_of_birth(out, origin, marks, placeholders, max_age)
    problems += _normalise_sub_areas(out, origin, marks)
    _warn_unrecorded_pilot_sub_areas(out, origin, marks)
    return out, marks, problems


def _check_initials(episodes: pd.DataFrame, where: str, marks: Marks) -> list[Problem]:
    """NDTMS initials that are not one letter A-Z read as missing (in ``episodes``), warned and
    counted; fatal for a column where they are more than half the values."""
    problems = []
    invalid_any = np.zeros(len(episodes), dtype=bool)
    for c in sorted(INITIAL_COLUMNS):
        normal = map_distinct(episodes[c], letter_initial)
        invalid = (episodes[c].notna() & normal.isna()).to_numpy(dtype=bool)
        filled = int(episodes[c].notna().sum())
        if invalid.any() and 2 * invalid.sum() > filled:
            problems.append(
                Problem(
                    where,
                    "{have} a value that is not one letter A-Z (more than half of the values in the column)",
                    column=column_label(c),
                    rows=episodes.loc[invalid, SOURCE_ROW].tolist(),
                    hint="The column must hold initials (the first letter of the name), not whole names or codes; "
                    "export the first letter only",
                )
            )
        elif invalid.any():
            marks.warnings.append(
                f"{where}, {column_label(c)}: {invalid.sum()} rows hold a value that is not one letter "
                f"A-Z (e.g. '?', '1', '-', a whole name), read as missing: their episodes have no complete "
                f"attributor and are dropped when persons are built (counted); "
                f"{rows_text(episodes.loc[invalid, SOURCE_ROW])}"
            )
        episodes[c] = normal
        invalid_any |= invalid
    marks.flag(
        "ndtms_episodes",
        "identifiers",
        "initial not one letter A-Z ('?', '1', '-', a whole name): read as missing",
        invalid_any.sum(),
    )
    return problems


def _check_register_names(tables: dict[str, pd.DataFrame], origin: dict[str, str], marks: Marks) -> None:
    """Register names that give no initial: warned and counted; the initials are kept in ``marks``."""
    for name in REGISTER_EVENT_COLUMNS:
        register = tables[name]
        none = np.zeros(len(register), dtype=bool)
        for c in sorted(NAME_COLUMNS):
            initial = marks.initials.setdefault(name, {})[c] = map_distinct(register[c], name_initial)
            bad = (register[c].notna() & initial.isna()).to_numpy(dtype=bool)
            if bad.any():
                marks.warnings.append(
                    f"{origin[name]}, {column_label(c)}: {bad.sum()} rows hold a name that does not start with "
                    f"a letter A-Z (e.g. '?', '1', '-'), so it gives no initial for linkage; "
                    f"{rows_text(register.loc[bad, SOURCE_ROW])}"
                )
            none |= bad
        marks.flag(
            name,
            "identifiers",
            "forename or surname gives no initial (not starting with a letter A-Z)",
            none.sum(),
        )


def _placeholder_text(placeholders: frozenset[pd.Timestamp]) -> str:
    return ", ".join(sorted(d.strftime("%Y-%m-%d") for d in placeholders)) or "none listed"


def _check_episode_dates_of_birth(
    episodes: pd.DataFrame, where: str, marks: Marks, placeholders: frozenset[pd.Timestamp], max_age: int
) -> None:
    """NDTMS episodes to drop (a placeholder date of birth, an age over ``max_age`` at referral) and
    dates of birth heaped on far more clients than chance (flagged, kept)."""
    is_placeholder = dates_in(episodes["date_of_birth"], placeholders)
    too_old = (
        (_age_years(episodes["date_of_birth"], episodes["referral_date"]) > max_age)
        .fillna(False)
        .to_numpy(dtype=bool)
    )
    too_old &= ~is_placeholder
    marks.drop = [
        (
            f"date_of_birth a placeholder ({_placeholder_text(placeholders)}; linkage.placeholder_dates_of_birth)",
            is_placeholder,
        ),
        (f"aged over {max_age} at referral: date_of_birth implausible (study.max_age)", too_old),
    ]
    for what, mask in marks.drop:
        if mask.any():
            marks.warnings.append(
                f"{where}, {column_label('date_of_birth')}: {mask.sum()} episodes dropped, "
                f"{what} (counted in the flow table); {rows_text(episodes.loc[mask, SOURCE_ROW])}"
            )
    usable = ~is_placeholder & ~too_old
    key = episodes["initial_first"] + episodes["initial_surname"] + episodes["sex"].fillna("U")
    heap = _heaped(key.where(pd.Series(usable, index=episodes.index)), episodes["date_of_birth"]) & usable
    _flag_heaping(marks, "ndtms_episodes", where, episodes, heap)


def _flag_heaping(marks: Marks, name: str, where: str, df: pd.DataFrame, heap: np.ndarray) -> None:
    marks.flag(
        name,
        "identifiers",
        "date_of_birth shared by far more people than chance (a placeholder?): kept",
        heap.sum(),
    )
    if heap.any():
        n_dates = df.loc[heap, "date_of_birth"].nunique()
        marks.warnings.append(
            f"{where}, {column_label('date_of_birth')}: {heap.sum()} rows share {n_dates} "
            f"{'date' if n_dates == 1 else 'dates'} of birth, each held by at least {HEAP_MIN_PEOPLE} different "
            f"people and over {HEAP_FACTOR} times the average for a day of its birth year (kept, counted); "
            f"{rows_text(df.loc[heap, SOURCE_ROW])}. If such a date is a placeholder, add it to "
            "linkage.placeholder_dates_of_birth"
        )


def _check_register_dates_of_birth(
    tables: dict[str, pd.DataFrame],
    origin: dict[str, str],
    marks: Marks,
    placeholders: frozenset[pd.Timestamp],
    max_age: int,
) -> None:
    """Register dates of birth that are a placeholder or give an age over ``max_age`` at the event: set
    to missing (not linkable), warned and counted."""
    for name, event in REGISTER_EVENT_COLUMNS.items():
        register = tables[name].copy()
        placeholder = dates_in(register["date_of_birth"], placeholders)
        old = (
            (_age_years(register["date_of_birth"], register[event]) > max_age)
            .fillna(False)
            .to_numpy(dtype=bool)
        )
        blank = placeholder | old
        if blank.any():
            marks.warnings.append(
                f"{origin[name]}, {column_label('date_of_birth')}: {blank.sum()} records have a placeholder "
                f"date of birth ({placeholder.sum()}; {_placeholder_text(placeholders)}) or an age over "
                f"{max_age} at {event} ({(old & ~placeholder).sum()}): set to missing, so they cannot be "
                f"linked (counted); {rows_text(register.loc[blank, SOURCE_ROW])}"
            )
        register.loc[blank, "date_of_birth"] = pd.NaT
        marks.flag(
            name,
            "identifiers",
            f"date_of_birth a placeholder or an age over {max_age} at {event}: set to missing, not linkable",
            blank.sum(),
        )
        tables[name] = register


def _normalise_sub_areas(
    tables: dict[str, pd.DataFrame], origin: dict[str, str], marks: Marks
) -> list[Problem]:
    """Sub-area codes in one spelling in both tables (warned, counted); fatal: a pilot sub-area on an
    area that is not a pilot area."""
    areas = tables["areas"].copy()
    for table, c in (("areas", "pilot_sub_area"), ("ndtms_episodes", "sub_area")):
        df = areas if table == "areas" else tables["ndtms_episodes"]
        normal = map_distinct(df[c], normal_sub_area)
        changed = (df[c].notna() & (normal != df[c]).fillna(True)).to_numpy(dtype=bool)
        if changed.any():
            shown = [
                show_value(v) for v in pd.unique(df.loc[changed, c].to_numpy(dtype=object))[:MAX_EXAMPLES]
            ]
            marks.warnings.append(
                f"{origin[table]}, {column_label(c)}: {changed.sum()} rows hold a sub-area code in another "
                f"spelling (case, spaces, hyphens), read as lower case with '_' (values {', '.join(shown)}); "
                f"{rows_text(df.loc[changed, SOURCE_ROW])}"
            )
        df[c] = normal
        marks.flag(
            table, "codes", f"{c} in another spelling (case, spaces, hyphens): normalised", changed.sum()
        )
    problems = []
    is_pilot = areas["pilot"].fillna(False).astype(bool)
    not_pilot = (areas["pilot_sub_area"].notna() & ~is_pilot).to_numpy(dtype=bool)
    if not_pilot.any() and is_pilot.any():  # with no pilot area at all, that is the one problem named
        problems.append(
            Problem(
                origin["areas"],
                "{have} a pilot sub-area but are not pilot areas (pilot = false): only an area that "
                "piloted in part has one",
                column=column_label("pilot_sub_area"),
                rows=areas.loc[not_pilot, SOURCE_ROW].tolist(),
                values=[show_value(v) for v in areas.loc[not_pilot, "area_code"]],
                hint="Leave pilot_sub_area empty for areas that did not pilot PbR, or mark the area pilot = true",
            )
        )
    tables["areas"] = areas
    return problems


def _warn_unrecorded_pilot_sub_areas(
    tables: dict[str, pd.DataFrame], origin: dict[str, str], marks: Marks
) -> None:
    """Warn about a pilot sub-area that none of its area's episodes records (the study stops on it when
    the partial-pilot rule splits the area; see :func:`pbr.derive.journeys.assign_study_fields`)."""
    areas, episodes = tables["areas"], tables["ndtms_episodes"]
    for _, area in areas[areas["pilot_sub_area"].notna()].iterrows():
        subs = episodes.loc[episodes["area_code"] == area["area_code"], "sub_area"]
        if not (subs == area["pilot_sub_area"]).fillna(False).any():
            seen = subs.value_counts(dropna=False)
            found = ", ".join(
                f"{show_value(v) if isinstance(v, str) else 'empty'} ({n})" for v, n in seen.head(5).items()
            )
            marks.warnings.append(
                f"{origin['areas']}, {column_label('pilot_sub_area')}: area {show_value(area['area_code'])} "
                f"(row {area[SOURCE_ROW]}) names the pilot sub-area {show_value(area['pilot_sub_area'])}, but "
                f"none of its {len(subs)} episodes in {origin['ndtms_episodes']} has that sub_area "
                f"({found or 'no episodes'}): the partial-pilot rules that split the area cannot be applied"
            )
