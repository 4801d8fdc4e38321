"""Rule tabulate_rates: raw rates (2x2), quarterly trends and baseline characteristics."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.derive import outcomes
from pbr.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], "tabulate_rates"):
        analysis = pd.concat([io.read_table(p) for p in smk.input.analysis], ignore_index=True)
        names = list(smk.params.outcomes)
        rates = outcomes.outcome_rates(analysis, names)
        io.write_table(rates, smk.output.rates, sort_by=["cohort", "outcome", "group", "period"])
        trends = outcomes.quarterly_rates(analysis, names)
        io.write_table(trends, smk.output.trends, sort_by=["cohort", "outcome", "group", "quarter"])
        baseline = outcomes.baseline_table(analysis)
        io.write_table(
            baseline, smk.output.baseline, sort_by=["cohort", "variable", "level", "group", "period"]
        )


if __name__ == "__main__":
    main(snakemake)
