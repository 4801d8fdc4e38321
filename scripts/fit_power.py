"""Rule fit_power: the minimum detectable odds ratio of the headline method (logit_score_wcb) at
the target power, by a score-space simulation on the study's geometry, for one outcome x cohort."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.fit import power
from pbr.fit.frame import analysis_columns
from pbr.fit.spec import FitSpec
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_power[{cohort}/{outcome}]"):
        spec = FitSpec.from_config(cohort, outcome, smk.params.models, smk.params.period_unit)
        settings = smk.params.power
        table = power.power_table(
            io.read_present_columns(smk.input.analysis, analysis_columns([outcome], spec)),
            spec,
            target=settings["target"],
            replicates=settings["replicates"],
            bootstrap_reps=settings["bootstrap_reps"],
            seed=settings["seed"],
        )
        io.write_table(table, smk.output.result)


if __name__ == "__main__":
    main(snakemake)
