"""Rule fit_robustness: event study, placebo, leave one pilot area out, Mason 2015 window."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.fit import models, robustness
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_robustness[{cohort}/{outcome}]"):
        m, rb = smk.params.models, smk.params.robustness
        covs = list(m["covariates"])
        df = io.read_present_columns(
            smk.input.analysis, models.analysis_columns([outcome], covs, smk.params.period_unit)
        )
        kw = {
            "period_col": smk.params.period_unit,
            "confidence_level": m["confidence_level"],
            "engine": m["engine"],
        }
        es_table, es_rows = robustness.event_study(
            df, cohort, outcome, covs, bin_col=rb["event_study_bin"], origin=smk.params.pre_start, **kw
        )
        rows = pd.concat(
            [
                es_rows,
                robustness.placebo(df, cohort, outcome, covs, fake_start=rb["placebo_start"], **kw),
                robustness.leave_one_out(df, cohort, outcome, covs, **kw),
                robustness.mason_2015(
                    df,
                    cohort,
                    outcome,
                    covs,
                    pre_start=rb["mason_pre_start"],
                    post_end=rb["mason_post_end"],
                    **kw,
                ),
            ],
            ignore_index=True,
        )[models.RESULT_COLUMNS]
        io.write_table(rows, smk.output.result)
        io.write_table(es_table, smk.output.event_study)


if __name__ == "__main__":
    main(snakemake)
