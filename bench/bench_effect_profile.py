"""For candidate first / second post year ORs, the raw DiD ORs of the Mason 2015 and Jones 2018 windows.

Usage::

    .venv/bin/python bench/bench_effect_profile.py                          # drug completion, 0.86/0.42 and 0.6/0.6
    .venv/bin/python bench/bench_effect_profile.py --pair 0.86,0.42 --pair 0.75,0.5 --scale 0.5
    .venv/bin/python bench/bench_effect_profile.py --cohort alcohol --outcome abstinence --pair 1,1.3

Each pair plants ``effects.<cohort>.<outcome>`` (first post year, FY2012-13) and
``effects_second_year.<cohort>.<outcome>`` (FY2013-14) and generates the extract (default
settings otherwise, same seed for every pair). From the truth journeys (study journeys, the
outcome's denominator, as the study's default definitions find it on the true persons) it prints
the raw DiD OR with a binomial 95% interval over:

- Mason 2015's window: FY2011-12 against FY2012-13 (the year before ``post_start`` against the
  first post year; published, adjusted and multilevel: completion 0.859, declined 2.934);
- Jones 2018's window: the two pre years against the two post years (completion 0.60);
- the second post year against the two pre years;

and the raw rates per group and window (press release, drug completion: pilot 34% -> 24%, other
27% -> 29% over the Jones window). Raw ORs of a planted conditional OR are near it, not equal
(covariate mix, area effects): they guide the choice of the defaults, they do not calibrate it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library


def window_did(
    journeys: pd.DataFrame,
    cohort: str,
    outcome: str,
    pre: tuple[pd.Timestamp, pd.Timestamp],
    post: tuple[pd.Timestamp, pd.Timestamp],
) -> dict:
    """Raw DiD OR of ``outcome`` among ``cohort``'s study journeys (truth table ``journeys``) starting
    in ``pre`` against ``post`` (half-open date ranges), with its binomial 95% interval and the
    four cells' rates and counts."""
    j = journeys[
        journeys["in_study"].astype(bool) & journeys["cohort"].eq(cohort) & journeys[outcome].notna()
    ]
    out: dict = {}
    logits, variances = {}, {}
    for group, is_pilot in (("pilot", True), ("other", False)):
        for name, (lo, hi) in (("pre", pre), ("post", post)):
            y = j.loc[
                j["pilot"].astype(bool).eq(is_pilot) & (j["start_date"] >= lo) & (j["start_date"] < hi),
                outcome,
            ]
            n, p = len(y), float(y.astype(float).mean()) if len(y) else float("nan")
            out[f"{group}_{name}"] = {"n": n, "rate": p}
            logits[f"{group}_{name}"] = np.log(p / (1 - p)) if 0 < p < 1 else float("nan")
            variances[f"{group}_{name}"] = 1 / (n * p * (1 - p)) if 0 < p < 1 else float("nan")
    log_or = logits["pilot_post"] - logits["pilot_pre"] - logits["other_post"] + logits["other_pre"]
    se = float(np.sqrt(sum(variances.values())))
    out["raw_did_or"] = float(np.exp(log_or))
    out["ci"] = (float(np.exp(log_or - 1.96 * se)), float(np.exp(log_or + 1.96 * se)))
    return out


def windows(
    post_start: str,
) -> dict[str, tuple[tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]]]:
    """The windows compared, from the post start (ISO): Mason's, Jones's and the second year's."""
    start = pd.Timestamp(post_start)
    year = pd.DateOffset(years=1)
    jones_pre = (start - 2 * year, start)
    return {
        "Mason (FY11-12 vs FY12-13)": ((start - year, start), (start, start + year)),
        "Jones (2 pre vs 2 post years)": (jones_pre, (start, start + 2 * year)),
        "second post year vs 2 pre years": (jones_pre, (start + year, start + 2 * year)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohort", default="drug", choices=("drug", "alcohol"))
    ap.add_argument("--outcome", default="successful_completion")
    ap.add_argument(
        "--pair",
        action="append",
        default=None,
        help="FIRST,SECOND post year ORs (repeatable; default 0.86,0.42 and 0.6,0.6)",
    )
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()

    from pbr.synthetic import generator, params

    pairs = [tuple(float(x) for x in p.split(",")) for p in (args.pair or ["0.86,0.42", "0.6,0.6"])]
    for first, second in pairs:
        cfg = {
            "scale": args.scale,
            "effects": {args.cohort: {args.outcome: first}},
            "effects_second_year": {args.cohort: {args.outcome: second}},
        } | ({"seed": args.seed} if args.seed is not None else {})
        settings = params.SyntheticParams.from_config(cfg)
        t0 = time.perf_counter()
        ex = generator.generate(settings)
        print(
            f"\n{args.cohort} {args.outcome}: planted OR {first} (first post year), {second} (second); "
            f"scale {settings.scale}, seed {settings.seed} ({time.perf_counter() - t0:.1f} s)"
        )
        for name, (pre, post) in windows(settings.dates.post_start).items():
            d = window_did(ex.truth["journeys"], args.cohort, args.outcome, pre, post)
            rates = ", ".join(
                f"{g} {d[f'{g}_pre']['rate']:.3f} -> {d[f'{g}_post']['rate']:.3f}" for g in ("pilot", "other")
            )
            print(
                f"  {name:33s} raw DiD OR {d['raw_did_or']:.3f} [{d['ci'][0]:.3f}, {d['ci'][1]:.3f}]  "
                f"{rates}  (pilot n {d['pilot_pre']['n']} / {d['pilot_post']['n']})"
            )


if __name__ == "__main__":
    main()
