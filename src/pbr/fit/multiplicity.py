"""Multiplicity: p-values adjusted over the headline findings (every outcome x cohort).

The report reads eleven outcomes in two cohorts; at 5% one planted null in twenty "finds"
an effect by chance. :func:`adjusted_p_values` fills two columns of the tidy table on the
headline rows (specification ``main``, method ``models.headline_method``) of every outcome
x cohort with an estimate:

- ``p_holm``: Holm's step-down Bonferroni adjustment of their p-values (statsmodels
  ``multipletests``; valid under any dependence, conservative when outcomes are correlated);
- ``p_romano_wolf``: the Romano-Wolf (2005) step-down adjustment from the bootstrap draws of
  the headline method (:func:`pbr.fit.inference.headline_draws`). Its draws are keyed by
  area code (:mod:`pbr.fit.draws`), so draw b perturbs an area alike in every outcome and
  cohort: the joint law of the statistics, dependence included, which makes it less
  conservative than Holm when outcomes move together. Only for ``logit_score_wcb``.

Romano-Wolf is written here because statsmodels has no bootstrap step-down: with the
hypotheses ordered by |t| (largest first), the k-th p-value is the share of draws whose
largest |t*| among the hypotheses not yet rejected (k-th onwards) reaches the k-th |t|,
then made monotone along the order (a later one never below an earlier one). With one
hypothesis it is the bootstrap p of that hypothesis (share of |t*| >= |t|, as
:func:`pbr.fit.inference.score_pvalue` computes it). The tests check it against a loop
written from the definition and these properties.
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


def romano_wolf(stats_obs, stats_draws) -> np.ndarray:
    """Romano-Wolf step-down p-values of H hypotheses (two-sided, on |t|).

    ``stats_obs``: (H,) observed statistics; ``stats_draws``: (B, H) their bootstrap draws
    under the null, draw b of every hypothesis from the same resample. See the module docstring.
    """
    t = np.abs(np.asarray(stats_obs, dtype=float))
    draws = np.abs(np.asarray(stats_draws, dtype=float)).reshape(-1, len(t))
    order = np.argsort(-t, kind="stable")
    # column k: the largest |t*| among the hypotheses from the k-th in the order onwards
    tail_max = np.maximum.accumulate(draws[:, order][:, ::-1], axis=1)[:, ::-1]
    reach = tail_max >= (t[order] - TIE_TOLERANCE * np.maximum(t[order], 1e-300))[None, :]
    p_sorted = np.maximum.accumulate(reach.mean(axis=0))
    out = np.empty(len(t))
    out[order] = p_sorted
    return out


def adjusted_p_values(results: pd.DataFrame, draws: pd.DataFrame, headline_method: str) -> pd.DataFrame:
    """``results`` with ``p_holm`` and ``p_romano_wolf`` on the headline rows (see the module docstring).

    The family: rows of specification ``main`` and method ``headline_method`` with an estimate
    (not ``not_estimable``, p-value present), over all outcomes x cohorts. ``draws``: the
    stacked :func:`pbr.fit.inference.headline_draws` frames (cohort, outcome, draw,
    statistic; draw 0 observed); Romano-Wolf needs draws for every row of the family (else
    it is left NaN, with a warning) and ``headline_method == "logit_score_wcb"``.
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
    out.loc[family, "p_romano_wolf"] = romano_wolf(stats[0], stats[1:])
    return out
