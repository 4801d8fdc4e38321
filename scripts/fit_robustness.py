"""Rule fit_robustness: event study, placebo, leave one pilot area out, Mason 2015 window, timing
sensitivity, or the Mason 2015 window alone (one library call: pbr.fit.robustness.robustness_rows)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.fit import draws, robustness
from pbr.fit.frame import analysis_columns
from pbr.fit.spec import FitSpec
from pbr.logs import logged
from pbr.registry import outcomes


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_robustness[{cohort}/{outcome}]"):
        spec = FitSpec.from_config(cohort, outcome, smk.params.models, smk.params.period_unit)
        rb, inf = smk.params.robustness, smk.params.inference
        rows, es_table = robustness.robustness_rows(
            io.read_present_columns(smk.input.analysis, analysis_columns([outcome], spec)),
            spec,
            event_bin_col=rb["event_study_bin"],
            origin=smk.params.pre_start,
            placebo_start=rb["placebo_start"],
            mason_pre_start=rb["mason_pre_start"],
            mason_post_end=rb["mason_post_end"],
            mason_random_intercept=bool(rb["mason_random_intercept"]),
            bootstrap=draws.Bootstrap(
                reps=int(inf["bootstrap_reps"]), seed=int(inf["seed"]), ri_reps=int(inf["ri_reps"])
            ),
            window_days=outcomes.window_days(outcome, smk.params.outcome_settings),
            post_from=smk.params.post_start,
            variants=smk.params.variants,
        )
        io.write_table(rows, smk.output.result)
        io.write_table(es_table, smk.output.event_study)


if __name__ == "__main__":
    main(snakemake)
