"""Performance measures of every method in every scenario, each with its Monte Carlo standard error.

Per scenario x check x method (:data:`PERFORMANCE_COLUMNS`):
- ``reject_truth``: the share of replicates whose test of the scenario's target rejects at
  ``alpha`` (main model only): 1 - coverage of the interval the test inverts into;
- ``reject_zero``: the share rejecting no effect: the size in a null scenario, the power
  otherwise (``measure`` says which);
- ``bias``: mean estimate minus the target (logit methods: log OR; LPM: risk difference);
- ``median_width``: the median width of the 95% intervals (check ``interval`` only,
  :mod:`pbr.simstudy.checks`: log-OR scale for the logit, risk difference for the LPM);
each with ``*_mc_se``: sqrt(r (1 - r) / R) for a rate, sd / sqrt(R) for the bias
(Morris, White and Crowther 2019, table 6), and for the median the half-width of its
distribution-free 95% interval (order statistics R/2 -+ 1.96 sqrt(R)/2) over 2 x 1.96.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pbr.simstudy.scenarios import Scenario


def test_targets(scenario: Scenario, truth: pd.Series) -> tuple[float, float]:
    """(logit log OR, LPM risk difference) a replicate is tested at: 0 in a null scenario (exactly,
    by symmetry; the large runs' mean is a check of the mechanism), else the large runs' mean."""
    if scenario.null:
        return 0.0, 0.0
    return float(truth["target_log_or"]), float(truth["target_rd"])


PERFORMANCE_COLUMNS = [
    "scenario",
    "check",
    "method",
    "measure",
    "replicates",
    "reject_truth",
    "reject_truth_mc_se",
    "reject_zero",
    "reject_zero_mc_se",
    "bias",
    "bias_mc_se",
    "median_width",
    "median_width_mc_se",
]


def rate(p: pd.Series, alpha: float) -> tuple[float, float, int]:
    """(share of p <= alpha, its MC SE, replicates with a p-value)."""
    p = p.dropna()
    if not len(p):
        return math.nan, math.nan, 0
    r = float((p <= alpha).mean())
    return r, math.sqrt(r * (1 - r) / len(p)), len(p)


def median_width(w: pd.Series) -> tuple[float, float, int]:
    """(median of the widths, its MC SE, widths): the SE is the half-width of the distribution-free
    95% interval of a median (order statistics n/2 -+ 1.96 sqrt(n)/2, 1-based) over 2 x 1.96."""
    x = np.sort(w.dropna().to_numpy(dtype=float))
    n = len(x)
    if not n:
        return math.nan, math.nan, 0
    half = 1.959964 * math.sqrt(n) / 2
    lo, hi = max(math.floor(n / 2 - half), 1), min(math.ceil(n / 2 + half + 1), n)
    se = (x[hi - 1] - x[lo - 1]) / (2 * 1.959964) if n > 1 else math.nan
    return float(np.median(x)), float(se), n


def measure(scenario: Scenario, check: str) -> str:
    """What rejecting no effect measures: ``size`` where the check's null holds in the scenario
    (no pre-trend for the pre-trend tests and the placebo, which sees the pre-period only; no effect
    and no pre-trend for the others), else ``power``; ``width`` for the interval widths."""
    if check == "interval":
        return "width"
    if check in ("pretrend", "placebo"):
        return "size" if scenario.pretrend == 0 else "power"
    return "size" if scenario.null else "power"


def performance(
    pvalues: pd.DataFrame, truth: pd.DataFrame, scenarios: dict[str, Scenario], alpha: float = 0.05
) -> pd.DataFrame:
    """The measures of :data:`PERFORMANCE_COLUMNS` from every replicate's p-values
    (:data:`pbr.simstudy.methods.PVALUE_COLUMNS`, with ``width`` for the checks' rows,
    :data:`pbr.simstudy.checks.CHECK_COLUMNS`), the targets (:data:`pbr.simstudy.truth.TRUTH_COLUMNS`;
    :func:`test_targets`) and the scenarios (name -> :class:`~pbr.simstudy.scenarios.Scenario`)."""
    target = truth.set_index("scenario")
    rows = []
    for (scenario, check, method), g in pvalues.groupby(["scenario", "check", "method"], sort=True):
        r_truth, se_truth, _ = rate(g["p_truth"], alpha)
        r_zero, se_zero, n = rate(g["p_zero"], alpha)
        width, width_se, n_width = median_width(g["width"]) if "width" in g else (math.nan, math.nan, 0)
        bias = bias_se = math.nan
        if check == "main":
            t = test_targets(scenarios[scenario], target.loc[scenario])[
                0 if method.startswith("logit") else 1
            ]
            est = g["estimate"].dropna().to_numpy(dtype=float)
            if len(est):
                bias = float(est.mean() - t)
                bias_se = float(est.std(ddof=1) / math.sqrt(len(est))) if len(est) > 1 else math.nan
        rows.append(
            {
                "scenario": scenario,
                "check": check,
                "method": method,
                "measure": measure(scenarios[scenario], check),
                "replicates": max(n, n_width),
                "reject_truth": r_truth,
                "reject_truth_mc_se": se_truth,
                "reject_zero": r_zero,
                "reject_zero_mc_se": se_zero,
                "bias": bias,
                "bias_mc_se": bias_se,
                "median_width": width,
                "median_width_mc_se": width_se,
            }
        )
    return pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)


def markdown(table: pd.DataFrame, check: str = "main") -> str:
    """One check's measures as a markdown table: scenario x method, rejection at the truth and
    of no effect with MC SEs (check ``interval``: the median width with its MC SE)."""
    t = table[table["check"] == check]

    def cell(x: float, se: float) -> str:
        return "" if np.isnan(x) else f"{x:.3f} ({se:.3f})"

    if check == "interval":
        lines = [
            "| scenario | method | replicates | median width of the 95% interval (MC SE) |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r.scenario} | `{r.method}` | {r.replicates} | {cell(r.median_width, r.median_width_mc_se)} |"
            for r in t.itertuples()
        ]
        return "\n".join(lines)
    lines = [
        "| scenario | method | replicates | rejection at the truth (MC SE) | rejection of no effect (MC SE) "
        "| bias (MC SE) |",
        "|---|---|---|---|---|---|",
    ]
    for r in t.itertuples():
        lines.append(
            f"| {r.scenario} | `{r.method}` | {r.replicates} | {cell(r.reject_truth, r.reject_truth_mc_se)} | "
            f"{cell(r.reject_zero, r.reject_zero_mc_se)} ({r.measure}) | {cell(r.bias, r.bias_mc_se)} |"
        )
    return "\n".join(lines)
