"""Rule fit_pilots: a DiD per pilot area, the Ibragimov-Mueller and Canay-Romano-Shaikh tests on
them, each pilot's share of the identifying variation, and the same tests on the pilots' linear
pre-trends (pbr.fit.pilot_trends), for one outcome x cohort."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.fit import pilot_trends, pilots
from pbr.fit.frame import analysis_columns
from pbr.fit.spec import FitSpec
from pbr.logs import logged
from pbr.registry import outcomes


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_pilots[{cohort}/{outcome}]"):
        spec = FitSpec.from_config(cohort, outcome, smk.params.models, smk.params.period_unit)
        bin_col = smk.params.event_study_bin
        columns = [*analysis_columns([outcome], spec), bin_col, "start_date"]
        df = io.read_present_columns(smk.input.analysis, list(dict.fromkeys(columns)))
        rows, areas = pilots.pilot_rows(df, spec)
        trends = pilot_trends.pilot_trend_rows(
            df,
            spec,
            bin_col=bin_col,
            origin=smk.params.pre_start,
            window_days=outcomes.window_days(outcome, smk.params.outcome_settings),
            post_from=smk.params.post_start,
        )
        io.write_table(pd.concat([rows, trends], ignore_index=True), smk.output.result)
        io.write_table(areas, smk.output.areas, sort_by=["area_code"])


if __name__ == "__main__":
    main(snakemake)
