"""Rule fit_robustness: event study, placebo, leave one pilot area out, Mason 2015 window
(one library call: pbr.fit.robustness.robustness_rows)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

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
        rows, es_table = robustness.robustness_rows(
            df,
            cohort,
            outcome,
            covs,
            period_col=smk.params.period_unit,
            confidence_level=m["confidence_level"],
            engine=m["engine"],
            event_bin_col=rb["event_study_bin"],
            origin=smk.params.pre_start,
            placebo_start=rb["placebo_start"],
            mason_pre_start=rb["mason_pre_start"],
            mason_post_end=rb["mason_post_end"],
        )
        io.write_table(rows, smk.output.result)
        io.write_table(es_table, smk.output.event_study)


if __name__ == "__main__":
    main(snakemake)
