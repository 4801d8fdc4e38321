"""Rule tabulate_rates: raw outcome rates by cohort x group x period."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io, outcomes
from pbr.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], "tabulate_rates"):
        analysis = pd.concat([io.read_table(p) for p in smk.input.analysis], ignore_index=True)
        rates = outcomes.outcome_rates(analysis, list(smk.params.outcomes))
        io.write_table(rates, smk.output.rates, sort_by=["cohort", "outcome", "group", "period"])


if __name__ == "__main__":
    main(snakemake)
