"""Linkage quality: the true pairs, precision and recall, match rates, and whether a link rate is plausible.

On synthetic data the truth names each episode's and each register record's true person;
:func:`register_true_pairs` assembles from it the true (person, unit) pairs of a register,
as the rule ``assess_linkage`` and ``bench/bench_linkage.py`` both score against, and
:func:`quality_table` scores the link tables and the exact-key baseline against them. On
any data, :func:`match_rates` gives the share of study journeys linked to each register,
and :func:`link_rate_notes` says where a link rate is far below what the cohort implies
(a register that shares identifiers with only a few clients); the notes are logged as
warnings and carried in the flow and match-rate tables.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from pbr.contract import (  # the thresholds of the link-rate checks are part of the written contract
    DIED_MIN,
    DIED_SHARE,
    LINK_RATE_MIN_EXPECTED,
    LINK_RATE_RELATIVE,
    MIN_LINK_RATE,
)
from pbr.frames import member_of
from pbr.link.records import CLIENT_DIED, unit_pseudonyms

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# The truth (synthetic data only) and precision / recall against it
# ---------------------------------------------------------------------------------------------


def true_pairs(
    person_episodes: pd.DataFrame, episode_truth: pd.DataFrame, unit_truth: pd.DataFrame, unit_column: str
) -> pd.DataFrame:
    """The true (person_id, unit) pairs, from the synthetic truth (evaluation only).

    A unit (death, offender) truly belongs to a person when its true person is among the
    true persons of that person's episodes.
    """
    person_truth = person_episodes[["person_id", "episode_id"]].merge(
        episode_truth[["episode_id", "true_person_id"]], on="episode_id"
    )
    person_truth = person_truth[["person_id", "true_person_id"]].drop_duplicates()
    unit_person = unit_truth.dropna(subset=["true_person_id"])[[unit_column, "true_person_id"]]
    unit_person = unit_person.drop_duplicates()
    pairs = person_truth.merge(unit_person, on="true_person_id")[["person_id", unit_column]].drop_duplicates()
    pairs.columns = ["left_id", "right_id"]
    return pairs.astype("string").reset_index(drop=True)


def register_true_pairs(
    person_episodes: pd.DataFrame,
    episode_truth: pd.DataFrame,
    unit_truth: pd.DataFrame,
    spec: dict,
    register: pd.DataFrame | None = None,
    records: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The true (person_id, unit) pairs of one register, its units named as its link table names them.

    ``person_episodes`` holds the linked episodes (person_id, episode_id); ``episode_truth`` and
    ``unit_truth`` (:data:`pbr.registry.registers.TRUTH_TABLES`) the true person of each episode and of each
    register record (``spec['id']``). Where the register's unit is not its record (``spec['unit']``
    differs: an offender, whose offences follow), each record takes its unit from ``register``
    (the validated extract's ``spec['id']`` and ``spec['unit']``) and the unit its pseudonym from
    the register's linkage ``records`` (:func:`pbr.link.records.unit_pseudonyms`: looked up as the
    link table holds it, not hashed again).
    """
    if spec["unit"] != spec["id"]:
        if register is None or records is None:
            raise ValueError(f"the truth of units of {spec['unit']} needs the register and its records")
        units = register[[spec["id"], spec["unit"]]].copy()
        units[spec["unit"]] = units[spec["unit"]].map(unit_pseudonyms(records, spec["group"]))
        unit_truth = unit_truth.merge(units, on=spec["id"])
    return true_pairs(person_episodes, episode_truth, unit_truth, spec["unit"])


def link_matches(links: pd.DataFrame, unit_column: str) -> pd.DataFrame:
    """The (person, unit) matches of a link table (one row per matched unit, not per record) as the
    pairs :func:`quality_table` scores: left_id, right_id, match_weight, match_probability."""
    matches = links[["person_id", unit_column, "match_weight", "match_probability"]].drop_duplicates()
    matches.columns = ["left_id", "right_id", "match_weight", "match_probability"]
    return matches


def _pair_scores(n_predicted: int, n_true: int, n_correct: int) -> dict:
    """The counts with precision, recall and F1 (NaN where undefined)."""
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
    predicted = set(zip(pred["left_id"], pred["right_id"], strict=True))
    true = set(zip(truth["left_id"], truth["right_id"], strict=True))
    return _pair_scores(len(predicted), len(true), len(predicted & true))


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
    matches = flag_true_pairs(matches[[*key, "match_probability"]], truth)
    exact = flag_true_pairs(exact[key], truth)
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

        scope_truth, scope_matches, scope_exact = in_scope(truth), in_scope(matches), in_scope(exact)
        probability = scope_matches["match_probability"].to_numpy()
        correct = scope_matches["_true"].to_numpy()
        for threshold in thresholds:
            above = probability >= threshold
            rows.append(
                {"register": register_name, "method": "probabilistic", "threshold": threshold, "scope": scope}
                | _pair_scores(int(above.sum()), len(scope_truth), int((above & correct).sum()))
            )
        rows.append(
            {"register": register_name, "method": "exact_key", "threshold": np.nan, "scope": scope}
            | _pair_scores(len(scope_exact), len(scope_truth), int(scope_exact["_true"].sum()))
        )
    return pd.DataFrame(rows)


def flag_true_pairs(pairs: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` (one row per left_id, right_id: the first kept) with ``_true``: the pair is in ``truth``."""
    key = ["left_id", "right_id"]
    out = pairs.drop_duplicates(key).merge(
        truth[key].drop_duplicates().assign(_true=True), on=key, how="left"
    )
    return out.assign(_true=out["_true"].astype("boolean").fillna(False).astype(bool))


# ---------------------------------------------------------------------------------------------
# Calibration of the match probabilities against the truth (synthetic data only)
# ---------------------------------------------------------------------------------------------

#: Equal-width bins of the match probability over [0, 1], as scikit-learn's ``calibration_curve``
#: (strategy "uniform"; a probability on an inner edge falls in the lower bin).
CALIBRATION_BINS = 10
#: The columns :func:`calibration_table` gives each bin.
CALIBRATION_RATES = ("pairs", "mean_probability", "share_true")
#: The calibration table's columns (the rule assess_linkage's ``calibration.parquet``).
CALIBRATION_COLUMNS = ("register", "scope", "bin_low", "bin_high", *CALIBRATION_RATES)


def calibration_table(
    pairs: pd.DataFrame,
    truth: pd.DataFrame,
    register_name: str,
    person_scope: pd.DataFrame | None = None,
    bins: int = CALIBRATION_BINS,
) -> pd.DataFrame:
    """The reliability of the match probabilities: per scope ('all' and each of ``person_scope``'s
    labels) and probability bin, the candidate pairs, their mean match probability and the share
    truly matched (the truth's (person, unit) pairs). ``pairs``: left_id, right_id,
    match_probability, one row per (person, unit), e.g. the scored candidate pairs.

    Hand-written rather than scikit-learn's ``calibration_curve`` (which gives the two rates of the
    non-empty bins, for one set of pairs, and is not a run-time dependency): the same bins and
    rates, with the counts that weigh the calibration error and a row per scope; the tests
    compare the two."""
    flagged = flag_true_pairs(pairs[["left_id", "right_id", "match_probability"]], truth)
    edges = np.linspace(0.0, 1.0, bins + 1)
    flagged["bin"] = np.searchsorted(edges[1:-1], flagged["match_probability"].to_numpy())
    scopes = [("all", flagged)]
    if person_scope is not None:
        scope_of = flagged["left_id"].map(person_scope.set_index("person_id")["scope"])
        scopes += [(str(label), part) for label, part in flagged.groupby(scope_of, sort=True)]
    rows = []
    for scope, part in scopes:
        cells = part.groupby("bin").agg(
            pairs=("_true", "size"),
            mean_probability=("match_probability", "mean"),
            share_true=("_true", "mean"),
        )
        for b, cell in cells.iterrows():
            rows.append(
                {"register": register_name, "scope": scope, "bin_low": edges[b], "bin_high": edges[b + 1]}
                | cell.to_dict()
            )
    return pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS)).astype({"pairs": "int64"})


def calibration_error(table: pd.DataFrame) -> pd.DataFrame:
    """Per register and scope of a :func:`calibration_table`: the pairs, the expected calibration
    error (the pair-weighted mean of |mean probability - share truly matched| over the bins) and
    the largest gap of a bin."""
    gap = (table["mean_probability"] - table["share_true"]).abs()
    t = table.assign(_gap=gap, _weighted=gap * table["pairs"])
    out = t.groupby(["register", "scope"], sort=False).agg(
        pairs=("pairs", "sum"), _weighted=("_weighted", "sum"), max_gap=("_gap", "max")
    )
    out.insert(1, "ece", out.pop("_weighted") / out["pairs"])
    return out.reset_index()


def person_scopes(journeys: pd.DataFrame) -> pd.DataFrame:
    """Each person's first study journey's cohort / group / period, as a 'scope' label for quality tables."""
    study = journeys[journeys["exclusion"].isna()].sort_values(
        ["person_id", "start_date", "journey_id"], kind="mergesort"
    )
    first = study.drop_duplicates("person_id")
    return pd.DataFrame(
        {
            "person_id": first["person_id"],
            "scope": first["cohort"] + "/" + first["group"] + "/" + first["period"],
        }
    )


#: The columns of the linkage quality table (results/link/quality.parquet).
QUALITY_COLUMNS = [
    "register",
    "method",
    "threshold",
    "scope",
    "n_predicted",
    "n_true",
    "n_correct",
    "precision",
    "recall",
    "f1",
]


def linkage_quality(
    scopes: pd.DataFrame,
    links: dict[str, pd.DataFrame],
    exact: dict[str, pd.DataFrame],
    truths: dict[str, pd.DataFrame],
    registers: dict[str, dict],
    thresholds: list[float],
    threshold: float,
) -> pd.DataFrame:
    """The quality table of every register (:data:`QUALITY_COLUMNS`), as the rule assess_linkage
    writes it: :func:`quality_table` of its links and exact-key pairs against its true pairs
    (``truths``: :func:`register_truths`), overall and per ``scopes`` (:func:`person_scopes`:
    journey cohort / group / period). Logs the scores at ``threshold``."""
    parts = []
    for name, spec in registers.items():
        table = quality_table(
            link_matches(links[name], spec["unit"]), exact[name], truths[name], thresholds, name, scopes
        )
        parts.append(table)
        _log_scores(table, name, threshold)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=QUALITY_COLUMNS)


def linkage_calibration(
    scopes: pd.DataFrame, pairs: dict[str, pd.DataFrame], truths: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """The calibration table of every register (:data:`CALIBRATION_COLUMNS`), as the rule
    assess_linkage writes it: :func:`calibration_table` of its scored candidate pairs (``pairs``:
    the link stage's ``pairs_<register>``, every (person, unit) pair at or above
    ``linkage.min_probability``) against its true pairs (``truths``: :func:`register_truths`),
    overall and per ``scopes``. Logs each register's expected calibration error."""
    parts = [calibration_table(pairs[name], truths[name], name, scopes) for name in pairs]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CALIBRATION_COLUMNS)
    for row in calibration_error(out[out["scope"] == "all"]).itertuples():
        log.info(
            "%s: expected calibration error %.4f over %d candidate pairs (largest bin gap %.4f)",
            row.register, row.ece, row.pairs, row.max_gap,
        )  # fmt: skip
    return out


def register_truths(
    episodes: pd.DataFrame,
    episode_truth: pd.DataFrame,
    unit_truth: dict[str, pd.DataFrame],
    registers: dict[str, dict],
    register_units: dict[str, pd.DataFrame] | None = None,
    records: dict[str, pd.DataFrame] | None = None,
) -> dict[str, pd.DataFrame]:
    """Each register's true (person, unit) pairs (:func:`register_true_pairs`), assembled once for
    :func:`linkage_quality` and :func:`linkage_calibration`. A register whose unit is not its
    record (offences: the offender) needs ``register_units`` (its id and unit columns) and
    ``records`` (its linkage records' group and pseudonym)."""
    out = {}
    for name, spec in registers.items():
        grouped = spec["unit"] != spec["id"]
        out[name] = register_true_pairs(
            episodes,
            episode_truth,
            unit_truth[name],
            spec,
            register_units[name] if grouped and register_units else None,
            records[name] if grouped and records else None,
        )
    return out


def _log_scores(table: pd.DataFrame, register: str, threshold: float) -> None:
    main = table[(table.scope == "all") & (table.method == "probabilistic") & (table.threshold == threshold)]
    if len(main):
        m = main.iloc[0]
        log.info(
            "%s at p >= %s: precision %.4f recall %.4f F1 %.4f",
            register,
            threshold,
            m.precision,
            m.recall,
            m.f1,
        )


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
    to_register = f" to {register_size}" if register_size else ""
    linked = pd.Series(np.asarray(linked, dtype=bool), index=units.index)
    cells = [("all", pd.Series(True, index=units.index))]
    if {"group", "period"} <= set(units.columns):
        for group in ("pilot", "other"):
            for period in ("pre", "post"):
                cells.append((f"{group}/{period}", (units["group"] == group) & (units["period"] == period)))
    everyone = cells[0][1]
    notes = []
    for cell, in_cell in cells:
        n_units, n_linked = int(in_cell.sum()), int(linked[in_cell].sum())
        notes += _floor_notes(register, cell, n_units, n_linked, min_rate, unit, to_register)
        if cell != "all":
            others = ~in_cell & everyone
            rate = linked[others].sum() / others.sum() if others.sum() else 0.0
            notes += _relative_notes(register, cell, n_units, n_linked, rate, unit)
        if "died" in units.columns:
            died = in_cell & units["died"].astype(bool)
            notes += _deaths_notes(register, cell, int(died.sum()), int(linked[died].sum()), unit)
    return notes


def _floor_notes(
    register: str, cell: str, n_units: int, n_linked: int, min_rate: float, unit: str, to_register: str
) -> list[dict]:
    """The floor rule's note for one cell, if it fires: fewer links than ``min_rate`` of the units."""
    expected = n_units * min_rate
    if not (expected >= LINK_RATE_MIN_EXPECTED and n_linked < expected):
        return []
    return [
        {
            "cell": cell,
            "n": n_linked,
            "text": f"{register} {cell}: {n_linked:,} of {n_units:,} NDTMS {unit} linked{to_register} "
            f"({n_linked / n_units:.1%}), below the "
            f"lowest plausible rate {min_rate:.1%} (linkage.min_link_rate: about {expected:.0f} links or "
            "more): does the register cover these people and years?",
        }
    ]


def _relative_notes(
    register: str, cell: str, n_units: int, n_linked: int, others_rate: float, unit: str
) -> list[dict]:
    """The relative rule's note for one group x period cell, if it fires: under a third of the links
    that the other cells' rate (``others_rate``) implies."""
    expected = n_units * others_rate
    if not (expected >= 2 * LINK_RATE_MIN_EXPECTED and n_linked < LINK_RATE_RELATIVE * expected):
        return []
    return [
        {
            "cell": cell,
            "n": n_linked,
            "text": f"{register} {cell}: {n_linked:,} of {n_units:,} NDTMS {unit} linked "
            f"({n_linked / n_units:.1%}), under a third "
            f"of the {expected:.0f} the other groups and periods' rate ({others_rate:.1%}) implies: does the "
            "register cover this group and period?",
        }
    ]


def _deaths_notes(register: str, cell: str, n_died: int, n_died_linked: int, unit: str) -> list[dict]:
    """The deaths rule's note for one cell, if it fires: under half of the units NDTMS discharged as
    'client died' (``n_died``) link to a death."""
    if not (n_died >= DIED_MIN and n_died_linked < DIED_SHARE * n_died):
        return []
    return [
        {
            "cell": cell,
            "n": n_died - n_died_linked,
            "text": f"{register} {cell}: only {n_died_linked:,} of the {n_died:,} NDTMS {unit} discharged as "
            "'client died' link to a death (at least half expected): does the register cover these deaths?",
        }
    ]


def _warn_link_rate_notes(notes: list[dict]) -> None:
    """Each note logged as a warning (the run goes on)."""
    for note in notes:
        log.warning(
            "link rate far below what is expected: %s (docs/input-contract.md, 'Linkage: is the link rate "
            "plausible?'; the run goes on)",
            note["text"],
        )


def person_link_notes(
    left: pd.DataFrame, right: pd.DataFrame, links: pd.DataFrame, cfg: dict, name: str
) -> list[dict]:
    """:func:`link_rate_notes` over all NDTMS persons (no group or period here), logged as warnings.

    ``left`` and ``right`` are the two sides' linkage records, ``links`` the link table, ``cfg``
    the linkage settings and ``name`` the register. A person counts as 'client died' when NDTMS
    discharged them so within the register's event dates (a death after the register's last date
    cannot be in it). A register too small for the cohort is noted too: it cannot cover the clients."""
    min_rate = float((cfg.get("min_link_rate") or MIN_LINK_RATE).get(name, MIN_LINK_RATE.get(name, 0.0)))
    persons = pd.DataFrame({"person_id": left["unique_id"].to_numpy()})
    events = right["event_date"].dropna()
    died = left["died_on"]
    if len(events):
        died = died.where((died >= events.min()) & (died <= events.max()))
    persons["died"] = died.notna().to_numpy() if len(events) else False
    linked_ids = links.loc[links["match_probability"] >= cfg["threshold"], "person_id"].unique()
    linked = pd.Series(member_of(persons["person_id"], linked_ids), index=persons.index)
    size = f"a register of {len(right):,} {'deaths' if name == 'deaths' else 'offender identities'}"
    notes = link_rate_notes(persons, linked, name, min_rate, register_size=size) if len(persons) else []
    _warn_link_rate_notes(notes)
    return notes


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
    study = journeys[journeys["exclusion"].isna()]
    rows = []
    for name, register_links in sorted(links.items()):
        linked = set(register_links.loc[register_links["match_probability"] >= threshold, "person_id"])
        flag = study["person_id"].isin(linked)
        counts = flag.groupby([study["cohort"], study["group"], study["period"]]).agg(["size", "sum"])
        counts = counts.reset_index()
        counts.columns = ["cohort", "group", "period", "journeys", "linked"]
        counts.insert(0, "register", name)
        units = study[["group", "period"]].assign(
            died=(study["discharge_reason"] == CLIENT_DIED).fillna(False).to_numpy(dtype=bool)
            if name == "deaths" and "discharge_reason" in study
            else False
        )
        notes = link_rate_notes(units, flag, name, float(min_link_rate.get(name, 0.0)), unit="study journeys")
        _warn_link_rate_notes(notes)
        cell = counts["group"] + "/" + counts["period"]
        counts["note"] = ["; ".join(n["text"] for n in notes if n["cell"] in (c, "all")) for c in cell]
        rows.append(counts)
    out = pd.concat(rows, ignore_index=True)
    out["rate"] = out["linked"] / out["journeys"]
    out["note"] = out.pop("note").astype("string")
    return out
