"""Multiplicity adjustments: Holm against statsmodels, Romano-Wolf against a loop from its definition."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from unit.test_inference import COVS, simulate

from pbr.fit import inference, multiplicity
from pbr.fit.spec import RESULT_COLUMNS, FitSpec


def romano_wolf_loop(t, draws):
    """Romano-Wolf step-down written from the definition, one hypothesis and one draw at a time."""
    order = sorted(range(len(t)), key=lambda j: -abs(t[j]))
    p, running = np.empty(len(t)), 0.0
    for k, j in enumerate(order):
        rest = order[k:]
        hits = sum(max(abs(row[m]) for m in rest) >= abs(t[j]) for row in draws)
        running = max(running, hits / len(draws))
        p[j] = running
    return p


def test_holm_equals_statsmodels_and_keeps_nan():
    p = np.array([0.01, np.nan, 0.04, 0.03, 0.2, np.nan])
    out = multiplicity.holm(p)
    ok = ~np.isnan(p)
    np.testing.assert_array_equal(out[ok], multipletests(p[ok], method="holm")[1])
    assert np.isnan(out[~ok]).all()
    assert np.isnan(multiplicity.holm([np.nan])).all()


@pytest.mark.parametrize("seed", range(5))
def test_romano_wolf_equals_a_loop_from_the_definition(seed):
    rng = np.random.default_rng(seed)
    h, b = 6, 300
    cov = 0.5 + 0.5 * np.eye(h)  # correlated hypotheses
    draws = rng.multivariate_normal(np.zeros(h), cov, size=b)
    t = rng.normal(0, 2, h)
    got = multiplicity.romano_wolf(t, draws, on="t")
    np.testing.assert_allclose(got, romano_wolf_loop(t, draws), rtol=0, atol=1e-15)
    raw = np.mean(np.abs(draws) >= np.abs(t), axis=0)
    assert (got >= raw).all()  # never below the unadjusted bootstrap p
    order = np.argsort(-np.abs(t))
    assert (np.diff(got[order]) >= 0).all()  # monotone along the step-down order


def romano_wolf_p_loop(t, draws):
    """The balanced (min-p) step-down from its definition: each draw's p* per hypothesis, then
    the share of draws whose smallest p* among the hypotheses left reaches the k-th p."""
    b, h = draws.shape
    a = np.abs(draws)
    p_obs = [np.mean(a[:, j] >= abs(t[j])) for j in range(h)]
    p_star = [[np.mean(a[:, j] >= a[r, j]) for j in range(h)] for r in range(b)]
    order = sorted(range(h), key=lambda j: p_obs[j])
    p, running = np.empty(h), 0.0
    for k, j in enumerate(order):
        hits = sum(min(row[m] for m in order[k:]) <= p_obs[j] for row in p_star)
        running = max(running, hits / b)
        p[j] = running
    return p


@pytest.mark.parametrize("seed", range(3))
def test_balanced_romano_wolf_equals_a_loop_and_never_exceeds_holm(seed):
    rng = np.random.default_rng(seed)
    h, b = 5, 200
    scale = np.array([1.0, 1.0, 3.0, 1.0, 0.5])  # bootstrap laws that differ in spread
    draws = rng.multivariate_normal(np.zeros(h), 0.4 + 0.6 * np.eye(h), size=b) * scale
    t = rng.normal(0, 2.5, h) * scale
    got = multiplicity.romano_wolf(t, draws, on="p")
    np.testing.assert_allclose(got, romano_wolf_p_loop(t, draws), rtol=0, atol=1e-15)
    raw = np.mean(np.abs(draws) >= np.abs(t), axis=0)
    assert (got >= raw).all()
    assert (got <= multiplicity.holm(raw) + 1e-12).all()
    assert multiplicity.romano_wolf(t[:1], draws[:, :1], on="p")[0] == raw[0]


def test_romano_wolf_limits():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(500, 1))
    t = np.array([2.5, 1.0, -1.9])
    # perfectly dependent hypotheses: no penalty, the raw bootstrap p-values
    same = np.repeat(z, 3, axis=1)
    np.testing.assert_allclose(
        multiplicity.romano_wolf(t, same, on="t"), np.mean(np.abs(z) >= np.abs(t), axis=0)
    )
    # one hypothesis: its bootstrap p
    assert multiplicity.romano_wolf([1.7], z, on="t")[0] == np.mean(np.abs(z[:, 0]) >= 1.7)


def test_single_hypothesis_romano_wolf_is_the_headline_rows_p():
    """headline_draws gives the statistic and draws of the logit_score_wcb row (same p)."""
    df = simulate(n=2000, log_or=np.log(0.9), seed=9)
    fs = FitSpec("drug", "y", COVS)
    row = inference.few_cluster_rows(df, fs, reps=399, seed=4, logit_ci=False, methods=("logit_score_wcb",))
    d = inference.headline_draws(df, fs, reps=399, seed=4)
    assert list(d.columns) == inference.DRAW_COLUMNS and len(d) == 400
    assert list(d["draw"]) == list(range(400))
    stats = d["statistic"].to_numpy()
    p = row["p_value"].iloc[0]
    assert 0.01 < p < 0.99  # an interior p: another draw of the weights would move it
    assert multiplicity.romano_wolf(stats[:1], stats[1:, None], on="t")[0] == p


def test_headline_draws_of_a_not_estimable_model_is_empty_with_the_columns():
    df = simulate(n=1500, seed=6)
    df.loc[df["pilot"].astype(bool), "y"] = 0
    d = inference.headline_draws(df, FitSpec("drug", "y", COVS), reps=99, seed=1)
    assert d.empty and list(d.columns) == inference.DRAW_COLUMNS


def _results(headline="logit_score_wcb"):
    rows = []
    for cohort, outcome, spec_, method, p, status in [
        ("drug", "a", "main", headline, 0.01, "ok"),
        ("drug", "b", "main", headline, 0.04, "caveat"),
        ("alcohol", "a", "main", headline, 0.30, "ok"),
        ("alcohol", "b", "main", headline, np.nan, "not_estimable"),
        ("drug", "a", "placebo", headline, 0.02, "ok"),
        ("drug", "a", "main", "lpm_crv1", 0.001, "ok"),
    ]:
        rows.append({"cohort": cohort, "outcome": outcome, "specification": spec_, "method": method})
        rows[-1] |= {"p_value": p, "status": status}
    return pd.DataFrame(rows).reindex(columns=RESULT_COLUMNS)


def _draws(keys, b=200, seed=0):
    rng = np.random.default_rng(seed)
    parts = []
    for i, (c, o) in enumerate(keys):
        stats = np.concatenate([[2.0 - i], rng.normal(size=b)])
        parts.append(pd.DataFrame({"cohort": c, "outcome": o, "draw": np.arange(b + 1), "statistic": stats}))
    return pd.concat(parts, ignore_index=True)


def test_adjusted_p_values_fill_only_the_headline_family():
    res = _results()
    keys = [("drug", "a"), ("drug", "b"), ("alcohol", "a")]
    draws = _draws(keys)
    out = multiplicity.adjusted_p_values(res, draws, "logit_score_wcb", on="t")
    family = [0, 1, 2]
    np.testing.assert_allclose(out.loc[family, "p_holm"], multipletests([0.01, 0.04, 0.30], method="holm")[1])
    stats = np.column_stack(
        [draws.loc[(draws["cohort"] == c) & (draws["outcome"] == o), "statistic"] for c, o in keys]
    )
    np.testing.assert_allclose(out.loc[family, "p_romano_wolf"], romano_wolf_loop(stats[0], stats[1:]))
    assert out.loc[[3, 4, 5], ["p_holm", "p_romano_wolf"]].isna().all().all()
    # the default (what collect_results fills) is the balanced step-down on bootstrap p-values
    balanced = multiplicity.adjusted_p_values(res, draws, "logit_score_wcb")
    np.testing.assert_allclose(
        balanced.loc[family, "p_romano_wolf"], multiplicity.romano_wolf(stats[0], stats[1:], on="p")
    )
    # CRV1 headline: Holm only; missing draws: no Romano-Wolf
    crv1 = multiplicity.adjusted_p_values(_results("logit_crv1"), draws, "logit_crv1")
    assert crv1.loc[family, "p_holm"].notna().all() and crv1["p_romano_wolf"].isna().all()
    partial = multiplicity.adjusted_p_values(res, _draws(keys[:2]), "logit_score_wcb")
    assert partial["p_romano_wolf"].isna().all() and partial.loc[family, "p_holm"].notna().all()
