"""Rule fit_composition: covariate mix, denominator shares and adjustment sets for one cohort
(one library call: pbr.fit.composition.composition_table)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.fit import composition
from pbr.fit.draws import Bootstrap
from pbr.fit.frame import analysis_columns
from pbr.fit.spec import FitSpec
from pbr.logs import logged


def main(smk) -> None:
    cohort = smk.wildcards.cohort
    with logged(smk.log[0], f"fit_composition[{cohort}]"):
        models, rb = smk.params.models, smk.params.robustness
        spec = FitSpec.from_config(cohort, "", models, smk.params.period_unit)
        robust = cohort in rb["cohorts"]
        adjusted = composition.adjusted_outcomes(models["outcomes"], rb["outcomes"], models) if robust else []
        covariates = list(dict.fromkeys([*spec.covariates, *rb["demographic_covariates"]]))
        columns = analysis_columns(
            models["outcomes"], FitSpec(cohort, "", tuple(covariates), spec.period_col)
        )
        inf = smk.params.inference
        rows = composition.composition_table(
            io.read_present_columns(smk.input.analysis, columns),
            spec,
            share_outcomes=models["outcomes"],
            adjustments={
                o: composition.adjustment_sets(o, models, rb["demographic_covariates"]) for o in adjusted
            },
            post_start_covariates=rb["post_start_covariates"],
            bootstrap=Bootstrap(inf["bootstrap_reps"], inf["seed"], inf["ri_reps"]),
        )
        io.write_table(rows, smk.output.result)


if __name__ == "__main__":
    main(snakemake)
