"""Multiple imputation of links: link sets drawn from the candidate pairs' probabilities.

A single link set (the greedy matching at p >= threshold) treats every decision as certain.
Goldstein, Harron and Wade (Stat Med 2012) carry the uncertainty through instead: draw
several link sets from the match probabilities, analyse each, and combine by Rubin's rules
(issue #21).

One draw (:func:`imputed_links`): a person who may take one unit (``capacity`` 1, see
:func:`pbr.link.matching.unit_capacity`) takes at most one of their candidate units, unit j
with probability o_j / (1 + sum_k o_k), where o = p / (1 - p) are the odds of the pairs'
match probabilities, and no unit with probability 1 / (1 + sum_k o_k). A person with one
candidate of probability p is so linked with probability p. The draw is made by the
Gumbel-max trick: each pair scores log o + G, the person's "no link" scores G_0 (G, G_0
standard Gumbel), and the person's best score wins. A person who may take several units
(several NDTMS clients share its attributor) draws each pair on its own, linked with its
probability p (the pair's own G_0), and keeps its best-scored drawn units up to its capacity.
A unit drawn by two persons goes to the higher score and the other person falls back to their
next best (or no link): the greedy assignment of :func:`pbr.link.matching.best_matches` on the
scores, which keeps every unit in at most one link and every person within its capacity. That
last step is an approximation where candidates compete for a unit (rare: most units have one
likely person).

Hand-written because no maintained library draws constrained link sets from splink's output;
the tests check the marginal link probabilities against the pairs' probabilities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pbr.link.matching import best_matches

#: probabilities are clipped to [EPS, 1 - EPS] before their log-odds are taken
EPS = 1e-12


def imputed_links(pairs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One imputed link set from ``pairs`` (left_id, right_id, match_probability and, optionally,
    capacity -- 1 when absent; one row per person x unit): the drawn (left_id, right_id,
    match_probability) rows."""
    if pairs.empty:
        return pairs[["left_id", "right_id", "match_probability"]].iloc[0:0].reset_index(drop=True)
    capacity = pairs["capacity"] if "capacity" in pairs else pd.Series(1, index=pairs.index)
    p = pairs["match_probability"].to_numpy(dtype=float).clip(EPS, 1 - EPS)
    score = np.log(p) - np.log1p(-p) + rng.gumbel(size=len(pairs))
    persons, person_index = np.unique(pairs["left_id"].to_numpy(), return_inverse=True)
    no_link = rng.gumbel(size=len(persons))[person_index]
    several = capacity.to_numpy() > 1
    if several.any():  # drawn only when needed: link sets with capacity 1 keep their streams
        no_link = np.where(several, rng.gumbel(size=len(pairs)), no_link)
    drawn = score > no_link
    scored = pairs.loc[drawn, ["left_id", "right_id", "match_probability"]]
    scored = scored.assign(match_weight=score[drawn], capacity=capacity.to_numpy()[drawn])
    chosen = best_matches(scored, capacity="capacity")
    return chosen[["left_id", "right_id", "match_probability"]]


def imputation_seed(seed: int, imputation: int) -> np.random.Generator:
    """The random stream of imputation ``imputation`` (1-based) under ``seed``: independent of the
    others, the same whichever job draws it (one Snakemake job per imputation)."""
    return np.random.default_rng([int(seed), int(imputation)])
