"""Derive stage, part 1: treatment journeys and study cohorts from linked episodes.

A journey is a person's run of episodes: an episode continues the journey when it is
referred within ``transfer_gap_days`` after a discharge whose reason is a transfer
(``transfer_codes``; :func:`transfer_links` says which episode when several could);
otherwise it starts a new journey. Episodes of one person that overlap in time (one referred
while another is still open) follow ``overlap_rule`` (:data:`OVERLAP_RULES`,
:func:`overlap_links`): in the same area they are concurrent treatment of one client at two
agencies, merged into one journey (``merge``, the default) or reduced to the earliest
(``keep_earliest``); in different areas they are more likely two clients who share an
attributor, and stay separate journeys, counted. The journey starts at its first referral,
ends at its last discharge (open while any episode is open), takes its area, agency and client
profile from its first episode and its discharge reason from the episode that ends last.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from pbr.contract import normal_sub_area
from pbr.errors import PipelineError
from pbr.flow import flow_frame, flow_row
from pbr.link.matching import best_matches

log = logging.getLogger(__name__)


class JourneyError(PipelineError):
    """The journeys cannot support the study design (a period, or pilot or comparison areas, missing;
    a pilot sub-area that no journey records); the message names the settings and what was found."""


OPIATES = {"heroin", "methadone", "other_opiate"}
SUBSTANCE_GROUPS = {
    "heroin": "opiate",
    "methadone": "opiate",
    "other_opiate": "opiate",
    "crack": "crack_cocaine",
    "cocaine": "crack_cocaine",
    "amphetamine": "other_drug",
    "cannabis": "cannabis",
    "benzodiazepine": "other_drug",
    "other": "other_drug",
    "alcohol": "alcohol",
}
AGE_BANDS = [(18, 24), (25, 29), (30, 34), (35, 39), (40, 44), (45, 49), (50, 200)]

#: What happens to a person's episodes that overlap in time in the same area (config
#: ``journeys.overlap_rule``): one journey (``merge``), only the earliest kept (``keep_earliest``,
#: the others dropped and counted), or each in its own journey (``separate``).
OVERLAP_RULES = ("merge", "keep_earliest", "separate")
#: The ``overlap`` state of a same-area concurrent episode under each rule.
RULE_STATE = {"merge": "merged", "keep_earliest": "dropped", "separate": "kept_apart"}


def transfer_links(episodes: pd.DataFrame, transfer_codes: list[int], transfer_gap_days: int) -> pd.DataFrame:
    """The continuation of each transfer: (from, to) episode ids of one person, one-to-one.

    An episode discharged with a transfer reason continues in an episode of the same person
    referred 0..``transfer_gap_days`` days after that discharge, preferring one in the same
    area (a custody transfer stays in it), then the shortest gap, then the lower episode id.
    An episode that was already open at the discharge (referred before it) never continues it,
    so another client's episode inside a merged person (two clients sharing an attributor)
    no longer breaks a transfer, as taking the next episode by referral date did. Each episode
    continues at most one transfer (greedy by preference, :func:`pbr.link.matching.best_matches`).
    Columns: from, to, candidates (how many episodes could have continued the transfer).
    """
    ends = episodes.loc[
        episodes["discharge_reason"].isin(transfer_codes).fillna(False).astype(bool)
        & episodes["discharge_date"].notna(),
        ["episode_id", "person_id", "discharge_date", "area_code"],
    ]
    starts = episodes[["episode_id", "person_id", "referral_date", "area_code"]]
    pairs = ends.merge(starts, on="person_id", suffixes=("_from", "_to"))
    gap = (pairs["referral_date"] - pairs["discharge_date"]).dt.days
    pairs = pairs[gap.between(0, transfer_gap_days) & (pairs["episode_id_from"] != pairs["episode_id_to"])]
    gap = gap[pairs.index]
    same_area = (pairs["area_code_from"] == pairs["area_code_to"]).fillna(False).astype(int)
    pairs = pairs.assign(
        match_weight=same_area * (transfer_gap_days + 1) + (transfer_gap_days - gap),
        candidates=pairs.groupby("episode_id_from")["episode_id_to"].transform("size"),
    ).rename(columns={"episode_id_from": "from", "episode_id_to": "to"})
    links = best_matches(pairs[["from", "to", "match_weight", "candidates"]], "from", "to")
    return links[["from", "to", "candidates"]]


def open_ended(dates: pd.Series) -> pd.Series:
    """Dates as days since 1970 (float), a missing date (an open episode) as +inf."""
    days = dates.to_numpy(dtype="datetime64[D]").astype("int64").astype(float)
    return pd.Series(np.where(dates.isna().to_numpy(), np.inf, days), index=dates.index)


def overlap_links(episodes: pd.DataFrame) -> pd.DataFrame:
    """The overlaps of a person's episodes in one area: (from, to) episode ids where ``to`` was
    referred while ``from``, or an episode overlapping it, was still open (an episode with no
    discharge date is open). Within a person and area, in order of referral, an episode joins the
    cluster of the one before it when referred before the latest discharge so far (the classic
    merge of overlapping intervals), so each cluster is a chain of links. An episode referred on
    the day another is discharged does not overlap it. Missing areas count as one area."""
    keys = ["person_id", "area_code"]
    e = episodes[["episode_id", *keys, "referral_date", "discharge_date"]].sort_values(
        [*keys, "referral_date", "episode_id"], kind="mergesort"
    )
    end = open_ended(e["discharge_date"])
    grouped = end.groupby([e[k] for k in keys], dropna=False, sort=False)
    latest_before = grouped.cummax().groupby([e[k] for k in keys], dropna=False, sort=False).shift()
    before = e["episode_id"].groupby([e[k] for k in keys], dropna=False, sort=False).shift()
    overlap = (open_ended(e["referral_date"]) < latest_before).fillna(False).astype(bool)
    return pd.DataFrame({"from": before[overlap].to_numpy(), "to": e.loc[overlap, "episode_id"].to_numpy()})


def other_area_overlaps(episodes: pd.DataFrame, overlaps: pd.DataFrame) -> pd.Series:
    """Per episode (aligned with ``episodes``): referred while an earlier-referred episode of the
    same person in another area was still open, and not itself the ``to`` of a same-area overlap
    (``overlaps``: :func:`overlap_links` of ``episodes``): two clients sharing an attributor, or one
    client treated in two areas."""
    e = episodes.sort_values(["person_id", "referral_date", "episode_id"], kind="mergesort")
    end = open_ended(e["discharge_date"])
    latest_before = (
        end.groupby(e["person_id"], sort=False).cummax().groupby(e["person_id"], sort=False).shift()
    )
    overlap = (open_ended(e["referral_date"]) < latest_before).fillna(False).astype(bool)
    same_area = e["episode_id"].isin(overlaps["to"])
    return (overlap & ~same_area).reindex(episodes.index)


def assign_journeys(
    episodes: pd.DataFrame,
    transfer_codes: list[int],
    transfer_gap_days: int,
    overlap_rule: str = "merge",
) -> pd.DataFrame:
    """Episodes with ``journey_seq``, ``journey_id`` (person id + sequence) and ``overlap`` added.

    A journey is a connected set of :func:`transfer_links` and, under ``overlap_rule`` ``merge``,
    :func:`overlap_links` (concurrent episodes in the same area); any other episode starts a new
    one. Under ``keep_earliest`` only the first-referred episode of each overlapping cluster is
    kept: the others have no journey (``journey_id`` <NA>, ``overlap`` 'dropped'). A person's
    journeys are numbered in the order of their first referral. ``overlap``: 'merged' (joined a
    concurrent episode's journey), 'dropped', 'kept_apart' (overlaps in the same area under
    ``separate``), 'other_area' (:func:`other_area_overlaps`) or 'none'. ``transfer_candidates``:
    on a continued transfer, how many episodes could have continued it (:func:`transfer_flow`
    counts those with a choice).
    """
    if overlap_rule not in OVERLAP_RULES:
        raise ValueError(f"journeys.overlap_rule must be one of {OVERLAP_RULES}, not {overlap_rule!r}")
    ordered = episodes.sort_values(
        ["person_id", "referral_date", "episode_id"], kind="mergesort"
    ).reset_index(drop=True)
    overlaps = overlap_links(ordered)
    state = pd.Series("none", index=ordered.index, dtype=object)
    state[other_area_overlaps(ordered, overlaps).to_numpy()] = "other_area"
    concurrent = ordered["episode_id"].isin(overlaps["to"]).to_numpy()
    state[concurrent] = RULE_STATE[overlap_rule]
    kept = ordered[state != "dropped"]
    links = transfer_links(kept, transfer_codes, transfer_gap_days)
    ordered["transfer_candidates"] = (
        ordered["episode_id"].map(pd.Series(links["candidates"].to_numpy(), index=links["from"].to_numpy()))
    ).astype("Int64")
    edges = pd.concat([links[["from", "to"]], overlaps if overlap_rule == "merge" else None])
    first = _first_episode(ordered, edges)
    first_ids = ordered.loc[(first == np.arange(len(ordered))) & (state != "dropped").to_numpy(), "person_id"]
    seq = first_ids.groupby(first_ids, sort=False).cumcount() + 1  # in the sorted order: by first referral
    journey_seq = pd.Series(first, index=ordered.index).map(seq).astype("Int64")
    ordered["journey_seq"] = journey_seq.mask(state == "dropped")
    ordered["journey_id"] = (
        ordered["person_id"] + "-" + ordered["journey_seq"].astype("string").str.zfill(3)
    ).astype("string")
    ordered["overlap"] = state.astype("string").to_numpy()
    return ordered


def _first_episode(ordered: pd.DataFrame, edges: pd.DataFrame) -> np.ndarray:
    """Per row of ``ordered`` (sorted by person and referral): the row position of the first episode
    of its connected set of ``edges`` (from, to episode ids), by scipy's connected components."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(ordered)
    position = pd.Series(np.arange(n), index=ordered["episode_id"].to_numpy())
    rows, cols = position[edges["from"].to_numpy()].to_numpy(), position[edges["to"].to_numpy()].to_numpy()
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    return pd.Series(np.arange(n)).groupby(component).transform("min").to_numpy()


def transfer_flow(episodes: pd.DataFrame) -> pd.DataFrame:
    """Flow row (flagged) of the journeys with a transfer that had a choice of continuation:
    ``episodes`` from :func:`assign_journeys`."""
    chosen = int(episodes.loc[episodes["transfer_candidates"].gt(1).fillna(False), "journey_id"].nunique())
    reason = (
        "a transfer with two or more episodes that could continue it (the same area first, then the soonest, "
        "continues it)"
    )
    return flow_frame([flow_row("derive", "cohorts", "journeys", "journeys", "flagged", reason, chosen)])


#: The flow rows of :func:`overlap_flow`: overlap state -> (table, action, reason).
OVERLAP_FLOW = {
    "merged": (
        "journeys",
        "flagged",
        "an episode referred while another episode of the person in the same area was open (concurrent "
        "treatment), merged into its journey (journeys.overlap_rule: merge)",
    ),
    "dropped": (
        "ndtms_episodes",
        "dropped",
        "an episode referred while another episode of the person in the same area was open; the earliest "
        "is kept (journeys.overlap_rule: keep_earliest)",
    ),
    "kept_apart": (
        "journeys",
        "flagged",
        "an episode referred while another episode of the person in the same area was open, kept as its "
        "own journey (journeys.overlap_rule: separate)",
    ),
    "other_area": (
        "journeys",
        "flagged",
        "an episode referred while another episode of the person in another area was open (two clients "
        "sharing an attributor, or one treated in two areas): its own journey",
    ),
}


def overlap_flow(episodes: pd.DataFrame, overlap_rule: str) -> pd.DataFrame:
    """Flow rows of the overlapping episodes of :func:`assign_journeys` (column ``overlap``) under
    ``overlap_rule``: the journeys holding a merged (``merge``) or kept-apart (``separate``) episode
    are flagged, the episodes dropped by ``keep_earliest`` are dropped (beside the episodes kept in a
    journey), and the journeys starting while an episode in another area was open are flagged."""
    state = episodes["overlap"]
    rows = []
    for value in (RULE_STATE[overlap_rule], "other_area"):
        table, action, reason = OVERLAP_FLOW[value]
        hit = episodes[state == value]
        unit = "episodes" if table == "ndtms_episodes" else "journeys"
        n = len(hit) if unit == "episodes" else hit["journey_id"].nunique()
        rows.append(flow_row("derive", "cohorts", table, unit, action, reason, n))
    if overlap_rule == "keep_earliest":
        kept = int(episodes["journey_id"].notna().sum())
        rows.append(flow_row("derive", "cohorts", "ndtms_episodes", "episodes", "kept", "in a journey", kept))
    return flow_frame(rows)


def summarise_journeys(episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per journey from episodes carrying ``journey_id`` (see :func:`assign_journeys`; an
    episode without one, dropped by the overlap rule, is in no journey). The end and discharge
    reason are the episode's that ends last (an open episode: the journey is open); the profile
    the first-referred episode's.

    Columns: journey_id, person_id, journey_seq, n_episodes, start_date, end_date,
    discharge_reason, triage_date, first_intervention_date, area_code, sub_area,
    agency_id, the first episode's client profile, and age_at_start.
    """
    in_journey = episodes[episodes["journey_id"].notna()]
    g = in_journey.groupby("journey_id", sort=True)
    first = g.head(1).set_index("journey_id")
    ending = in_journey.assign(_end=open_ended(in_journey["discharge_date"]))
    last = ending.sort_values("_end", kind="mergesort").groupby("journey_id", sort=True).tail(1)
    last = last.set_index("journey_id").reindex(first.index)
    j = pd.DataFrame(index=first.index)
    j["person_id"] = first["person_id"]
    j["journey_seq"] = first["journey_seq"].astype("int64")
    j["n_episodes"] = g.size().astype("int64")
    j["start_date"] = first["referral_date"]
    j["end_date"] = last["discharge_date"]
    j["discharge_reason"] = last["discharge_reason"]
    j["triage_date"] = first["triage_date"]
    j["first_intervention_date"] = g["first_intervention_date"].min()
    for col in PROFILE_COLUMNS:
        j[col] = first[col]
    j["age_at_start"] = first["age_at_referral"]
    return j.reset_index()


def build_journeys(
    episodes: pd.DataFrame, transfer_codes: list[int], transfer_gap_days: int, overlap_rule: str = "merge"
) -> pd.DataFrame:
    """One row per journey from de-identified episodes (:func:`assign_journeys` then :func:`summarise_journeys`)."""
    return summarise_journeys(assign_journeys(episodes, transfer_codes, transfer_gap_days, overlap_rule))


PROFILE_COLUMNS = [
    "area_code",
    "sub_area",
    "agency_id",
    "sex",
    "substance_1",
    "substance_2",
    "substance_3",
    "route",
    "injecting_status",
    "referral_source",
    "previously_treated",
    "accommodation_need",
    "employment",
]


PARTIAL_PILOT_RULES = ("whole_area_pilot", "sub_area_pilot_rest_other", "sub_area_pilot_rest_excluded")


def assign_study_fields(
    journeys: pd.DataFrame,
    areas: pd.DataFrame,
    pre_start: str,
    post_start: str,
    post_end: str,
    partial_pilot_rule: str = "whole_area_pilot",
) -> pd.DataFrame:
    """Add cohort, pilot flag, group, analysis area, period (pre/post/outside) and covariate groupings.

    ``partial_pilot_rule`` says how an area that piloted only in part (``pilot_sub_area``
    in the lookup; Kent: West Kent) is treated: ``whole_area_pilot`` counts the whole area
    as pilot; ``sub_area_pilot_rest_other`` splits it into two analysis areas, the pilot
    sub-area and the rest as a comparison area; ``sub_area_pilot_rest_excluded`` splits
    it and marks the rest for exclusion (``partial_rest`` = True). Sub-area codes are compared
    in one spelling (:func:`pbr.contract.normal_sub_area`: 'West Kent' is 'west_kent'); a split
    area whose pilot sub-area no journey records raises :class:`JourneyError`.

    The design needs journeys in all four cells of group (pilot, other) x period (pre, post):
    if one is empty (an extract covering one period only, no journey in a pilot or in a
    comparison area) :class:`JourneyError` names it, with the study dates and the counts found.
    """
    if partial_pilot_rule not in PARTIAL_PILOT_RULES:
        raise ValueError(
            f"partial_pilot_rule must be one of {PARTIAL_PILOT_RULES}, got {partial_pilot_rule!r}"
        )
    j = journeys.copy()
    j["cohort"] = np.where(j["substance_1"].eq("alcohol").fillna(False), "alcohol", "drug")
    lookup = areas.set_index("area_code")
    pilot = j["area_code"].map(lookup["pilot"].astype("boolean")).fillna(False).astype(bool)
    pilot_sub = _sub_areas(lookup["pilot_sub_area"])
    sub = j["area_code"].map(pilot_sub).astype("string")
    split = sub.notna() & (partial_pilot_rule != "whole_area_pilot")
    in_sub = (_sub_areas(j["sub_area"]) == sub).fillna(False).astype(bool)
    if split.any():
        _check_pilot_sub_areas(j, split, in_sub, lookup, partial_pilot_rule)
    j["pilot"] = pilot & (~split | in_sub)
    # the rest of a split area is excluded only under the rule that says so; otherwise it is a comparison area
    j["partial_rest"] = split & ~in_sub & (partial_pilot_rule == "sub_area_pilot_rest_excluded")
    j["analysis_area"] = j["area_code"].astype("string")
    j.loc[split, "analysis_area"] = j.loc[split, "area_code"] + np.where(
        in_sub[split], ":" + sub[split], ":rest"
    )
    j["group"] = np.where(j["pilot"], "pilot", "other")
    pre, post, end = pd.Timestamp(pre_start), pd.Timestamp(post_start), pd.Timestamp(post_end)
    j["period"] = np.select(
        [
            (j["start_date"] >= pre) & (j["start_date"] < post),
            (j["start_date"] >= post) & (j["start_date"] <= end),
        ],
        ["pre", "post"],
        default="outside",
    )
    _check_design(j, pre_start, post_start, post_end)
    j["post"] = (j["period"] == "post").astype("int64")
    j["did"] = (j["pilot"] & (j["period"] == "post")).astype("int64")
    for unit in ("quarter", "half_year", "year"):
        j[unit] = _financial_period(j["start_date"], pre, unit)
    j["substance_group"] = j["substance_1"].map(SUBSTANCE_GROUPS).astype("string")
    j["injecting"] = j["injecting_status"].fillna("unknown").astype("string")
    j["age_group"] = _age_group(j["age_at_start"])
    return j


def _sub_areas(values: pd.Series) -> pd.Series:
    """Sub-area codes in their one spelling (<NA> for missing values and null tokens)."""
    codes, uniq = pd.factorize(values.astype("string"), use_na_sentinel=True)
    mapped = np.array([normal_sub_area(str(u)) for u in uniq] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype="string")


def _check_pilot_sub_areas(
    j: pd.DataFrame, split: pd.Series, in_sub: pd.Series, lookup: pd.DataFrame, rule: str
) -> None:
    """Every split area must have journeys in its pilot sub-area: else its pilot part would silently
    become comparison (or excluded) journeys, because the two tables spell the sub-area differently."""
    problems = []
    for area in pd.unique(j.loc[split, "area_code"]):
        here = j["area_code"] == area
        if in_sub[here].any():
            continue
        seen = j.loc[here, "sub_area"].astype("object").fillna("(empty)").value_counts()
        found = ", ".join(f"{v!r} ({n})" for v, n in seen.head(5).items())
        problems.append(
            f"for area {area!r} the area lookup names the pilot sub-area "
            f"{lookup.at[area, 'pilot_sub_area']!r} (areas, column pilot_sub_area), and none of the area's "
            f"{int(here.sum())} journeys has that sub_area (ndtms_episodes, column sub_area; found: {found})"
        )
    if problems:
        raise JourneyError(
            f"The partial-pilot rule study.partial_pilot_rule = {rule!r} splits an area into its pilot "
            "sub-area and the rest, but "
            + "; ".join(problems)
            + ". Sub-area codes are compared ignoring case, spaces, hyphens and underscores. Correct the "
            "sub-area codes so that the two tables agree (docs/input-contract.md), or set "
            "study.partial_pilot_rule to 'whole_area_pilot'."
        )


def _check_design(j: pd.DataFrame, pre_start: str, post_start: str, post_end: str) -> None:
    """Stop when a cell of group x period has no journey: the difference in differences needs all four."""
    inside = j[(j["period"] != "outside") & ~j["partial_rest"].astype(bool)]
    counts = inside.groupby(["group", "period"]).size()
    cells = [(g, p) for g in ("pilot", "other") for p in ("pre", "post")]
    found = {c: int(counts.get(c, 0)) for c in cells}
    missing = [c for c in cells if found[c] == 0]
    if not missing:
        return
    pre, post, end = (pd.Timestamp(day).date() for day in (pre_start, post_start, post_end))
    windows = {
        "pre": f"{pre} to {(pd.Timestamp(post_start) - pd.Timedelta(days=1)).date()}",
        "post": f"{post} to {end}",
    }
    empty_period = [p for p in ("pre", "post") if found[("pilot", p)] == found[("other", p)] == 0]
    empty_group = [g for g in ("pilot", "other") if found[(g, "pre")] == found[(g, "post")] == 0]
    label = {"pilot": "a pilot area", "other": "a comparison (non-pilot) area"}
    what = [f"no journey starts in the {p} period ({windows[p]})" for p in empty_period]
    what += [f"no journey in the study windows is in {label[g]}" for g in empty_group]
    what += [
        f"no journey in {label[g]} starts in the {p} period ({windows[p]})"
        for g, p in missing
        if p not in empty_period and g not in empty_group
    ]
    if j.empty:
        span = "the extract holds no journey"
    else:
        span = (
            f"journeys start from {j['start_date'].min().date()} to {j['start_date'].max().date()}; "
            + ", ".join(f"{g} {p} {found[(g, p)]:,}" for g, p in cells)
            + f", outside the windows {int((j['period'] == 'outside').sum()):,}"
        )
    raise JourneyError(
        "The study design (pilot vs comparison areas, before vs after the pilots started) cannot be "
        f"estimated: {'; '.join(what)}. Study windows (config): pre from {pre} (study.pre_start) to the day "
        f"before {post} (study.post_start), post from {post} to {end} (study.post_end). Found: {span}. "
        "Check that the extract "
        "covers both periods (episodes' referral_date) and pilot and comparison areas (areas.pilot, the "
        "episodes' area_code), or correct the study dates."
    )


def _financial_period(dates: pd.Series, origin: pd.Timestamp, unit: str) -> pd.Series:
    """Index of the quarter / half-year / year since ``origin`` (0-based; negative before)."""
    months = (dates.dt.year - origin.year) * 12 + (dates.dt.month - origin.month)
    size = {"quarter": 3, "half_year": 6, "year": 12}[unit]
    return np.floor_divide(months, size).astype("int64")


def _age_group(age: pd.Series) -> pd.Series:
    labels = pd.Series(pd.NA, index=age.index, dtype="string")
    for lo, hi in AGE_BANDS:
        label = f"{lo}+" if hi >= 200 else f"{lo}-{hi}"
        labels[(age >= lo) & (age <= hi)] = label
    return labels


def flag_exclusions(
    journeys: pd.DataFrame, cohorts: list[str], min_age: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mark each journey's first exclusion reason (``exclusion``; <NA> = in the study).

    Reasons, in order: starts outside the study windows; under ``min_age`` or age
    unknown; in the part of a partially piloted area that is excluded; cohort not
    analysed. Every journey is counted once in the flow table, by reason, cohort, group
    and period, so that kept + dropped = all journeys. All journeys are returned:
    outcomes such as re-presentation look at a person's later journeys, in study or not.
    """
    steps = [
        ("starts outside the study windows", journeys["period"] == "outside"),
        (
            f"aged under {min_age} at journey start or age unknown",
            ~(journeys["age_at_start"] >= min_age).fillna(False),
        ),
        ("in the excluded part of a partially piloted area", journeys["partial_rest"].astype(bool)),
        ("cohort not analysed", ~journeys["cohort"].isin(cohorts)),
    ]
    out = journeys.copy()
    out["exclusion"] = pd.Series(pd.NA, index=out.index, dtype="string")
    for reason, drop in steps:
        out.loc[out["exclusion"].isna() & drop.astype(bool), "exclusion"] = reason
    rows = []
    for reason, _ in steps:
        rows += _counted(out[out["exclusion"] == reason], "dropped", reason)
    rows += _counted(out[out["exclusion"].isna()], "kept", "in a study cohort")
    log.info("cohorts: %d of %d journeys in the study", out["exclusion"].isna().sum(), len(out))
    return out, flow_frame(rows)


def _counted(df: pd.DataFrame, action: str, reason: str) -> list[dict]:
    """Flow rows counting ``df`` by cohort x group x period (one zero row if empty)."""
    if df.empty:
        return [flow_row("derive", "cohorts", "journeys", "journeys", action, reason, 0)]
    counts = df.groupby(["cohort", "group", "period"], sort=True).size()
    return [
        flow_row("derive", "cohorts", "journeys", "journeys", action, reason, n, cohort=c, group=g, period=p)
        for (c, g, p), n in counts.items()
    ]
