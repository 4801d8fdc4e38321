"""Multiplicity: p-values adjusted over the headline findings (every outcome x cohort).

The report reads eleven outcomes in two cohorts; at 5% one planted null in twenty "finds"
an effect by chance. :func:`adjusted_p_values` fills two columns of the tidy table on the
headline rows (specification ``main``, method ``models.headline_method``) of every outcome
x cohort with an estimate:

- ``p_holm``: Holm's step-down Bonferroni adjustment of their p-values (statsmodels
  ``multipletests``; valid under any dependence, conservative when outcomes are correlated);
- ``p_romano_wolf``: the Romano-Wolf (2005) step-down adjustment (balanced: on bootstrap
  p-values) from the bootstrap draws of the headline method
  (:func:`pbr.fit.inference.headline_draws`). Its draws are keyed by area code
  (:mod:`pbr.fit.draws`), so draw b perturbs an area alike in every outcome and cohort: the
  joint law of the statistics, dependence included, which makes it less conservative than
  Holm when outcomes move together. Only for ``logit_score_wcb``.

Romano-Wolf is written here because statsmodels has no bootstrap step-down: with the
hypotheses ordered by |t| (largest first), the k-th p-value is the share of draws whose
largest |t*| among the hypotheses not yet rejected (k-th onwards) reaches the k-th |t|,
then made monotone along the order (a later one never below an earlier one). With one
hypothesis it is the bootstrap p of that hypothesis (share of |t*| >= |t|, as
:func:`pbr.fit.wild_bootstrap.score_pvalue` computes it). The tests check it against a loop
written from the definition and these properties.

On |t|, a hypothesis whose bootstrap law has heavier tails (a rare outcome's score) takes
over the maximum, and the adjusted p of another can exceed Holm's: on the scale-0.02 run
(``adjusted_p_values(..., on="t")`` vs ``on="p"`` on results/s002), drug
declined_to_continue had raw p 0.0060, Holm 0.102, Romano-Wolf on |t| 0.136, on p 0.091.
``on="p"`` (the "balanced" step-down on each draw's per-hypothesis bootstrap p) never
exceeds Holm on the same draws (tested), so it is the default and what ``collect_results``
fills: each hypothesis weighs alike whatever the tails of its statistic's law (the min-p
form of the step-down; Romano & Wolf 2005, section 4, on balance; Westfall & Young 1993).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

log = logging.getLogger(__name__)

#: Relative tolerance under which |t*| counts as reaching |t| (floating-point ties; as in
#: :mod:`pbr.fit.inference`).
TIE_TOLERANCE = 1e-10


def holm(p) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels ``multipletests``); NaN stays NaN and is not counted."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def romano_wolf(stats_obs, stats_draws, on: str = "p") -> np.ndarray:
    """Romano-Wolf step-down p-values of H hypotheses (two-sided).

    ``stats_obs``: (H,) observed statistics; ``stats_draws``: (B, H) their bootstrap draws
    under the null, draw b of every hypothesis from the same resample. ``on="t"``: the
    step-down on |t| (largest |t*| among the hypotheses left), as in the module docstring.
    ``on="p"``: the same on each draw's per-hypothesis bootstrap p-value (smallest p* among
    those left; "balanced"), which weighs hypotheses whose bootstrap laws differ (a rare
    outcome's heavier tails) alike; it never exceeds Holm on the same draws.
    """
    t = np.abs(np.asarray(stats_obs, dtype=float))
    draws = np.abs(np.asarray(stats_draws, dtype=float)).reshape(-1, len(t))
    if on == "t":
        return _step_down(t, draws)
    if on != "p":
        raise ValueError(f"on must be 't' or 'p', not {on!r}")
    p_obs = np.mean(_reaches(draws, t), axis=0)
    ranked = np.sort(draws, axis=0)
    p_draws = np.column_stack(
        [1 - np.searchsorted(ranked[:, j], draws[:, j], side="left") / len(draws) for j in range(len(t))]
    )  # share of draws with |t*| >= this draw's, per hypothesis
    return _step_down(-p_obs, -p_draws)


def _reaches(values: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """values >= threshold, with a relative tolerance for floating-point ties."""
    return values >= threshold - TIE_TOLERANCE * np.maximum(np.abs(threshold), 1e-300)


def _step_down(obs: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """The step-down on statistics where larger is more extreme: (H,) observed, (B, H) draws."""
    order = np.argsort(-obs, kind="stable")
    # column k: the largest draw among the hypotheses from the k-th in the order onwards
    tail_max = np.maximum.accumulate(draws[:, order][:, ::-1], axis=1)[:, ::-1]
    p_sorted = np.maximum.accumulate(_reaches(tail_max, obs[order][None, :]).mean(axis=0))
    out = np.empty(len(obs))
    out[order] = p_sorted
    return out


def adjusted_p_values(
    results: pd.DataFrame, draws: pd.DataFrame, headline_method: str, on: str = "p"
) -> pd.DataFrame:
    """``results`` with ``p_holm`` and ``p_romano_wolf`` on the headline rows (see the module docstring).

    The family: rows of specification ``main`` and method ``headline_method`` with an estimate
    (not ``not_estimable``, p-value present), over all outcomes x cohorts. ``draws``: the
    stacked :func:`pbr.fit.inference.headline_draws` frames (cohort, outcome, draw,
    statistic; draw 0 observed); Romano-Wolf needs draws for every row of the family (else
    it is left NaN, with a warning) and ``headline_method == "logit_score_wcb"``; ``on``: the
    step-down's scale (:func:`romano_wolf`).
    """
    out = results.copy()
    out["p_holm"] = out["p_holm"].astype(float)
    out["p_romano_wolf"] = out["p_romano_wolf"].astype(float)
    family = (
        (out["specification"] == "main")
        & (out["method"] == headline_method)
        & (out["status"] != "not_estimable")
        & out["p_value"].notna()
    )
    if not family.any():
        return out
    out.loc[family, "p_holm"] = holm(out.loc[family, "p_value"].to_numpy())
    if headline_method != "logit_score_wcb" or draws.empty:
        return out
    keys = list(zip(out.loc[family, "cohort"], out.loc[family, "outcome"], strict=True))
    table = draws.pivot_table(
        index="draw", columns=["cohort", "outcome"], values="statistic", aggfunc="first"
    )
    missing = [k for k in keys if k not in table.columns]
    if missing:
        log.warning("Romano-Wolf p-values left out: no bootstrap draws for %s", missing)
        return out
    table = table[keys]
    if table.isna().any().any() or 0 not in table.index:
        log.warning("Romano-Wolf p-values left out: the outcomes' draws differ in number")
        return out
    stats = table.to_numpy()
    out.loc[family, "p_romano_wolf"] = romano_wolf(stats[0], stats[1:], on=on)
    return out
