"""The checks across tables, after each table is valid and the identifiers are checked
(:mod:`pbr.extract.identifiers`):

- :func:`fatal_cross_table_problems`: what no analysis survives (no pilot or no comparison
  area, no episode in a known area, no episode with a complete attributor, a register that
  shares no person with the episodes);
- :func:`drop_and_flag`: the tolerable problems, dropped or flagged and counted in the flow
  table (stage ``extract``; every check gets a row, zero or not, so that for each table the
  rows read equal ``kept`` plus the sum of ``dropped``), with a warning naming the rows;
- :func:`log_cleaning`: one warning per column whose text was trimmed or read as missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from pbr.contract import NAME_COLUMNS, NULL_TOKENS, TABLES, name_initial
from pbr.extract.conversion import map_distinct, values_in
from pbr.extract.identifiers import Marks, initials_dob
from pbr.extract.problems import MAX_EXAMPLES, Problem, column_label, rows_text, show_value
from pbr.extract.validation import SOURCE_ROW, Cleaned
from pbr.flow import flow_frame, flow_row

log = logging.getLogger(__name__)

#: the stage of the flow table's rows
STAGE = "extract"
#: what a row of each table is, in the flow table
UNITS = {
    "areas": "areas",
    "ndtms_episodes": "episodes",
    "ndtms_top": "TOP records",
    "ons_deaths": "deaths",
    "pnc_offences": "offences",
}


# --------------------------------------------------------------------------- fatal


def fatal_cross_table_problems(
    tables: dict[str, pd.DataFrame], origin: dict[str, str], marks: Marks | None = None
) -> list[Problem]:
    """Whole-extract problems no analysis can survive: no episode left, no pilot or no comparison
    area, no episode with a complete attributor, a register that shares no person with the episodes
    (it could never be linked)."""
    problems = []
    areas, episodes = tables["areas"], tables["ndtms_episodes"]
    pilot = areas["pilot"].fillna(False).astype(bool)
    if not pilot.any() or pilot.all():
        which = "no area is" if not pilot.any() else "every area is"
        problems.append(
            Problem(
                origin["areas"],
                f"{which} a pilot area (pilot = true), so pilot and other areas cannot be compared",
                column=column_label("pilot"),
                hint="Mark the eight PbR pilot areas with pilot = true and the others with false",
            )
        )
    known = values_in(episodes["area_code"], areas["area_code"].dropna())
    if len(episodes) and not known.any():
        codes = ", ".join(
            show_value(v) for v in pd.unique(episodes["area_code"].to_numpy(dtype=object))[:MAX_EXAMPLES]
        )
        problems.append(
            Problem(
                origin["ndtms_episodes"],
                f"no episode has an area_code in the area lookup ({origin['areas']}), so every episode "
                f"would be dropped; codes {codes}",
                column=column_label("area_code"),
                hint="Use the same area codes in both tables, or export the matching area lookup",
            )
        )
        return problems
    kept = known.copy()
    for _, mask in marks.drop if marks else []:
        kept &= ~mask
    persons = initials_dob(episodes["initial_first"], episodes["initial_surname"], episodes["date_of_birth"])
    persons = persons[kept].dropna()
    if len(episodes) and persons.empty:
        problems.append(_no_person_problem(episodes, origin["ndtms_episodes"]))
        return problems
    for name in ("ons_deaths", "pnc_offences"):
        initials = (marks.initials if marks else {}).get(name)
        problem = _unlinkable_register_problem(tables[name], origin[name], persons, initials)
        if problem is not None:
            problems.append(problem)
    return problems


def _no_person_problem(episodes: pd.DataFrame, where: str) -> Problem:
    """No kept episode has both initials and a usable date of birth: the columns to blame."""
    n = len(episodes)
    empty = {c: int(episodes[c].isna().sum()) for c in ("initial_first", "initial_surname")}
    full = [c for c, k in empty.items() if k == n]
    if full:
        cols = " and ".join(f'"{c}"' for c in full)
        what = (
            f"the initials column {full[0]} is empty (or holds no letter A-Z) in all {n} rows"
            if len(full) == 1
            else f"both initials columns are empty (or hold no letter A-Z) in all {n} rows"
        )
    else:
        cols = '"initial_first", "initial_surname" and "date_of_birth"'
        what = f"no row of the {n} has both initials and a usable date of birth"
    return Problem(
        where,
        f"{what}, so no episode can be grouped into a person or linked to the registers",
        column=f"{'column' if ' and ' not in cols and ',' not in cols else 'columns'} {cols}",
        hint="Export the initials (first letter of the first name and of the surname, A-Z) with the "
        "episodes; NDTMS records them as the client's attributor",
    )


def _unlinkable_register_problem(
    register: pd.DataFrame, where: str, persons: pd.Series, initials: dict[str, pd.Series] | None
) -> Problem | None:
    """A register none of whose records shares initials and date of birth with an episode (``persons``:
    :func:`~pbr.extract.identifiers.initials_dob` of the kept episodes), with its likely cause;
    ``initials``: the initials of its names, when already computed."""
    initials = initials or {c: map_distinct(register[c], name_initial) for c in NAME_COLUMNS}
    keys = initials_dob(initials["forename"], initials["surname"], register["date_of_birth"])
    if not len(register) or values_in(keys, persons).any():
        return None
    no_initials = [c for c in ("forename", "surname") if initials[c].isna().all()]
    if no_initials:
        cols = " and ".join(f'"{c}"' for c in no_initials)
        return Problem(
            where,
            f"no record of the {len(register)} has a {' or '.join(no_initials)} that gives an initial (empty, "
            "a null token, or not starting with a letter A-Z), so no person could ever be linked to it",
            column=f"{'column' if len(no_initials) == 1 else 'columns'} {cols}",
            hint="Export the register's names with it (the first letters are compared with NDTMS initials)",
        )
    if register["date_of_birth"].isna().all():
        return Problem(
            where,
            f"no record of the {len(register)} has a usable date of birth (empty, a placeholder, or an age "
            "over study.max_age), so no person could ever be linked to it",
            column=column_label("date_of_birth"),
            hint="Export the register's dates of birth with it",
        )
    return Problem(
        where,
        f"none of its {len(register)} records shares initials and date of birth with an NDTMS "
        "episode, so no person could ever be linked to it",
        hint="Check that the register covers the same people and years as the episodes, and that "
        "forename, surname and date_of_birth hold what the contract says",
    )


# --------------------------------------------------------------------------- tolerable


def _count(rows: list[dict], table: str, step: str, action: str, reason: str, n: int) -> None:
    """Add a row of the flow table: ``n`` rows of ``table`` dropped, flagged or kept at ``step``."""
    rows.append(flow_row(STAGE, step, table, UNITS[table], action, reason, int(n)))


def drop_and_flag(
    tables: dict[str, pd.DataFrame],
    origin: dict[str, str] | None = None,
    cleaned: dict[str, Cleaned] | None = None,
    marks: Marks | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Tolerable problems: drop or flag and count them (every check gets a row, zero or not).

    Returns the tables with the dropped rows removed and the flow table (rows grouped by table,
    in contract order)."""
    origin = origin or {name: name for name in TABLES}
    cleaned = cleaned or {}
    marks = marks or Marks(drop=[])
    rows: list[dict] = []
    _count_cleaning(rows, cleaned, marks)
    areas = tables["areas"]["area_code"].dropna().unique()
    out = dict(tables)
    out["ndtms_episodes"], dropped_area, dropped_dob = _drop_episodes(
        tables["ndtms_episodes"], areas, origin, marks, rows
    )
    out["ndtms_top"] = _drop_top(tables, out["ndtms_episodes"], dropped_area, dropped_dob, origin, rows)
    for name in ("ons_deaths", "pnc_offences"):
        _flag_register_areas(tables[name], name, areas, origin, rows)
    rows.insert(
        0, flow_row(STAGE, "validated", "areas", UNITS["areas"], "kept", "areas kept", len(tables["areas"]))
    )
    order = {name: i for i, name in enumerate(TABLES)}
    rows.sort(key=lambda r: order[r["table"]])  # stable: keeps each table's own order
    return out, flow_frame(rows)


def _count_cleaning(rows: list[dict], cleaned: dict[str, Cleaned], marks: Marks) -> None:
    """Per table, the rows with a value trimmed or read as missing, and the counts the identifier
    checks flagged."""
    tokens = ", ".join(repr(t) for t in NULL_TOKENS[:4])
    for name in TABLES:
        changes = cleaned.get(name, Cleaned())
        for kind, reason in (
            ("trimmed", "value with surrounding spaces: spaces removed"),
            ("nulled", f"value written as a null token ({tokens}, ...) or only spaces: read as missing"),
        ):
            found = getattr(changes, kind)
            every = np.unique(np.concatenate(list(found.values()))) if found else np.array([], dtype=int)
            _count(rows, name, "cleaning", "flagged", reason, len(every))
        for step, reason, n in marks.flags.get(name, []):
            _count(rows, name, step, "flagged", reason, n)


def _drop_episodes(
    episodes: pd.DataFrame, areas: Iterable[object], origin: dict[str, str], marks: Marks, rows: list[dict]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Episodes dropped (area not in the lookup, then the identifier checks' reasons) and discharges
    flagged. Returns the kept episodes and the ids of those dropped for their area and for their
    date of birth."""
    unknown_area = ~values_in(episodes["area_code"], areas)
    _count(rows, "ndtms_episodes", "area lookup", "dropped", "area_code not in areas", unknown_area.sum())
    if unknown_area.any():
        codes = pd.unique(episodes.loc[unknown_area, "area_code"].to_numpy(dtype=object))
        near = _near_codes(codes, areas)
        log.warning(
            "%s, %s: %d episodes with an area_code not in %s are dropped (counted in the flow table); "
            "codes %s%s%s; %s",
            origin["ndtms_episodes"],
            column_label("area_code"),
            unknown_area.sum(),
            origin["areas"],
            ", ".join(show_value(v) for v in codes[:MAX_EXAMPLES]),
            f" and {len(codes) - MAX_EXAMPLES} more" if len(codes) > MAX_EXAMPLES else "",
            f" ({near})" if near else "",
            rows_text(episodes.loc[unknown_area, SOURCE_ROW]) if SOURCE_ROW in episodes else "",
        )
    dropped = unknown_area.copy()
    for reason, mask in marks.drop:
        now = mask & ~dropped
        _count(rows, "ndtms_episodes", "identifiers", "dropped", reason, now.sum())
        dropped |= now
    dropped_area = episodes.loc[unknown_area, "episode_id"].unique()
    dropped_dob = episodes.loc[dropped & ~unknown_area, "episode_id"].unique()
    episodes = episodes.loc[~dropped].reset_index(drop=True)
    has_date = episodes["discharge_date"].notna().to_numpy()
    has_reason = episodes["discharge_reason"].notna().to_numpy(dtype=bool)
    for reason, n in (
        ("discharge_date without discharge_reason", (has_date & ~has_reason).sum()),
        ("discharge_reason without discharge_date", (~has_date & has_reason).sum()),
    ):
        _count(rows, "ndtms_episodes", "discharge", "flagged", reason, n)
    _count(rows, "ndtms_episodes", "validated", "kept", "episodes kept", len(episodes))
    return episodes, dropped_area, dropped_dob


def _drop_top(
    tables: dict[str, pd.DataFrame],
    episodes: pd.DataFrame,
    dropped_area: np.ndarray,
    dropped_dob: np.ndarray,
    origin: dict[str, str],
    rows: list[dict],
) -> pd.DataFrame:
    """TOP records dropped (episode unknown, or dropped for its area or date of birth) and those dated
    outside their kept episode flagged; returns the kept TOP records."""
    top = tables["ndtms_top"]
    orphan = ~values_in(top["episode_id"], tables["ndtms_episodes"]["episode_id"].unique())
    of_dropped = values_in(top["episode_id"], dropped_area) & ~orphan
    of_dob = values_in(top["episode_id"], dropped_dob) & ~orphan
    for reason, mask in (
        ("episode_id not in ndtms_episodes", orphan),
        ("episode dropped (area_code not in areas)", of_dropped),
        ("episode dropped (date_of_birth a placeholder or implausible)", of_dob),
    ):
        _count(rows, "ndtms_top", "episode link", "dropped", reason, mask.sum())
    if orphan.any():
        log.warning(
            "%s, %s: %d TOP records whose episode_id is not in %s are dropped (counted); %s",
            origin["ndtms_top"],
            column_label("episode_id"),
            orphan.sum(),
            origin["ndtms_episodes"],
            rows_text(top.loc[orphan, SOURCE_ROW]) if SOURCE_ROW in top else "",
        )
    top = top.loc[~orphan & ~of_dropped & ~of_dob].reset_index(drop=True)
    dates = top[["episode_id", "top_date"]].merge(
        episodes[["episode_id", "referral_date", "discharge_date"]],
        on="episode_id",
        how="left",
        validate="many_to_one",
    )
    before = (dates["top_date"] < dates["referral_date"]).fillna(False).to_numpy(dtype=bool)
    after = (dates["top_date"] > dates["discharge_date"]).fillna(False).to_numpy(dtype=bool)
    _count(
        rows, "ndtms_top", "TOP dates", "flagged", "top_date before the episode's referral_date", before.sum()
    )
    _count(
        rows, "ndtms_top", "TOP dates", "flagged", "top_date after the episode's discharge_date", after.sum()
    )
    _count(rows, "ndtms_top", "validated", "kept", "TOP records kept", len(top))
    return top


def _flag_register_areas(
    register: pd.DataFrame, name: str, areas: Iterable[object], origin: dict[str, str], rows: list[dict]
) -> None:
    """Register records whose area_code is not in the lookup: flagged and kept (the area there is
    descriptive only)."""
    unknown_area = register["area_code"].notna().to_numpy(dtype=bool) & ~values_in(
        register["area_code"], areas
    )
    _count(rows, name, "area lookup", "flagged", "area_code not in areas", unknown_area.sum())
    if unknown_area.any():
        codes = pd.unique(register.loc[unknown_area, "area_code"].to_numpy(dtype=object))
        near = _near_codes(codes, areas)
        log.warning(
            "%s, %s: %d records with an area_code not in %s (kept; the area only helps linkage); codes %s%s",
            origin[name],
            column_label("area_code"),
            unknown_area.sum(),
            origin["areas"],
            ", ".join(show_value(v) for v in codes[:MAX_EXAMPLES]),
            f" ({near})" if near else "",
        )
    _count(rows, name, "validated", "kept", f"{UNITS[name]} kept", len(register))


def _near_codes(unknown: Iterable[object], known: Iterable[object]) -> str:
    """'E0142 ' looks like 'E0142': unknown codes that equal a known one but for case or spaces."""
    plain = {str(k).strip().upper(): k for k in known}
    pairs = [(u, plain[str(u).strip().upper()]) for u in unknown if str(u).strip().upper() in plain]
    return "; ".join(f"{show_value(u)} looks like {show_value(k)}" for u, k in pairs[:MAX_EXAMPLES])


def log_cleaning(cleaned: dict[str, Cleaned], origin: dict[str, str]) -> None:
    """One warning per column whose values were trimmed or read as missing, with example rows."""
    for name, changes in cleaned.items():
        for kind, what in (
            ("trimmed", "had surrounding spaces, removed"),
            ("nulled", "held a null token (e.g. 'NULL', 'N/A') or only spaces, read as missing"),
        ):
            for column, found in getattr(changes, kind).items():
                values = changes.examples.get((kind, column))
                log.warning(
                    "%s, %s: %d %s %s (counted in the flow table); %s%s",
                    origin.get(name, name),
                    column_label(column),
                    len(found),
                    "row" if len(found) == 1 else "rows",
                    what,
                    rows_text(found.tolist()),
                    f"; values {', '.join(values)}" if values else "",
                )
