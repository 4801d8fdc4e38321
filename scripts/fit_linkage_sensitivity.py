"""Rule fit_linkage_sensitivity: the main DiD models of a linked outcome at the sensitivity linkage thresholds
(CRV1 logit and LPM, reference only, and the wild cluster score bootstrap)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.derive import outcomes
from pbr.fit import draws, robustness
from pbr.fit.frame import analysis_columns
from pbr.fit.spec import RESULT_COLUMNS, FitSpec
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_linkage_sensitivity[{cohort}/{outcome}]"):
        spec = FitSpec.from_config(cohort, outcome, smk.params.models, smk.params.period_unit)
        thresholds = smk.params.linkage["sensitivity_thresholds"]
        columns = [outcome + outcomes.threshold_suffix(t) for t in thresholds]
        analysis = io.read_present_columns(smk.input.analysis, analysis_columns(columns, spec))
        inf = smk.params.inference
        bootstrap = draws.Bootstrap(
            reps=int(inf["bootstrap_reps"]), seed=int(inf["seed"]), ri_reps=int(inf["ri_reps"])
        )
        parts = [
            robustness.variant_rows(
                analysis.rename(columns={column: outcome}),
                spec,
                f"linkage_threshold_{t:g}",
                f"linkage threshold {t:g}",
                bootstrap=bootstrap,
            )
            for t, column in zip(thresholds, columns, strict=True)
        ]
        io.write_table(pd.concat(parts, ignore_index=True)[RESULT_COLUMNS], smk.output.result)


if __name__ == "__main__":
    main(snakemake)
