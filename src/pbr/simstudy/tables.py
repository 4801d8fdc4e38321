"""The simulation study's results as compact markdown tables for docs/inference.md: one row per
scenario, one column per method, each cell a rate with its Monte Carlo SE.

    python -m pbr.simstudy.tables results/simulation/performance.csv > tables.md
"""

from __future__ import annotations

import argparse
import math

import pandas as pd

#: The robustness checks' columns: the headline method on each (CRV1 in the second table).
_ROBUSTNESS = ("placebo", "leave_one_out", "mason_2015", "donut")

#: (check or checks, measure column, methods, title) of each table docs/inference.md shows.
TABLES = (
    (
        "main",
        "reject_truth",
        (
            "logit_score_wcb",
            "lpm_wcb_webb",
            "logit_ri_t",
            "logit_ri_t_size",
            "lpm_ri_t",
            "logit_ri",
            "logit_crv1",
            "lpm_crv1",
        ),
        "Main model: rejection at each scenario's target at nominal 5% (1 - coverage; the size in a null scenario)",
    ),
    (
        "main",
        "reject_zero",
        ("logit_score_wcb", "lpm_wcb_webb", "logit_ri_t", "logit_crv1"),
        "Main model: rejection of no effect (power where there is an effect)",
    ),
    (
        "pretrend",
        "reject_zero",
        ("logit_score_wcb", "lpm_wcb_webb", "logit_ri_t", "lpm_ri_t", "logit_crv1", "lpm_crv1"),
        "Joint pre-trend tests: rejection of no pre-trend (size; power in `pretrend`)",
    ),
    (
        "pretrend",
        "reject_zero",
        (
            "logit_ibragimov_mueller",
            "logit_canay_romano_shaikh",
            "lpm_ibragimov_mueller",
            "lpm_canay_romano_shaikh",
        ),
        "Tests over the pilots' linear pre-trends: rejection of no pre-trend (size; power in `pretrend`)",
    ),
    (
        "per_pilot",
        "reject_zero",
        (
            "logit_ibragimov_mueller",
            "logit_canay_romano_shaikh",
            "lpm_ibragimov_mueller",
            "lpm_canay_romano_shaikh",
        ),
        "Per-pilot tests: rejection of no effect (size in the null scenarios)",
    ),
    (
        _ROBUSTNESS,
        "reject_zero",
        ("logit_score_wcb",),
        "Robustness checks with the headline method (`logit_score_wcb`): rejection of no effect (size; the "
        "placebo's null holds wherever there is no pre-trend, the others' in the null scenarios)",
    ),
    (
        _ROBUSTNESS,
        "reject_zero",
        ("logit_crv1",),
        "Robustness checks with CRV1 (`logit_crv1`, reference only): rejection of no effect",
    ),
    (
        "interval",
        "median_width",
        ("logit_score_wcb", "logit_crv1", "lpm_wcb_webb", "lpm_crv1"),
        "Median width of the main model's 95% interval (log OR for the logit, risk difference for the LPM)",
    ),
)


def pivot_markdown(
    perf: pd.DataFrame, check: str | tuple[str, ...], column: str, methods: tuple[str, ...], title: str
) -> str:
    """One table: scenarios (the table's order) x ``methods`` (x each check of a tuple ``check``),
    cells ``value (MC SE)`` of ``column``, with the replicates per column and scenario's target log OR."""
    checks = (check,) if isinstance(check, str) else check
    t = perf[perf["check"].isin(checks) & perf["method"].isin(methods)]
    scenarios = list(dict.fromkeys(perf["scenario"]))
    present = [(c, m) for c in checks for m in methods if ((t["check"] == c) & (t["method"] == m)).any()]
    reps = t.groupby(["check", "method"])["replicates"].max()

    def name(c: str, m: str) -> str:
        return f"{c}: `{m}`" if len(checks) > 1 else f"`{m}`"

    head = "| scenario | target log OR | " + " | ".join(f"{name(*k)} ({reps[k]:,})" for k in present) + " |"
    lines = [
        f"**{title}** (in brackets: the most replicates of any scenario)",
        "",
        head,
        "|---" * (len(present) + 2) + "|",
    ]
    by = t.set_index(["scenario", "check", "method"])
    target = perf.drop_duplicates("scenario").set_index("scenario").get("target_log_or")
    for s in scenarios:
        cells = []
        for c, m in present:
            if (s, c, m) not in by.index or math.isnan(by.loc[(s, c, m), column]):
                cells.append("")
                continue
            r = by.loc[(s, c, m)]
            cells.append(f"{r[column]:.3f} ({r[column + '_mc_se']:.3f})")
        tl = "" if target is None or math.isnan(target[s]) else f"{target[s]:.3f}"
        lines.append(f"| {s} | {tl} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("performance", help="results/simulation/performance.csv")
    args = ap.parse_args(argv)
    perf = pd.read_csv(args.performance)
    print("\n\n".join(pivot_markdown(perf, *spec) for spec in TABLES))


if __name__ == "__main__":
    main()
