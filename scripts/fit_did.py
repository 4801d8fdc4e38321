"""Rule fit_did: the main DiD models for one outcome x cohort (and linkage-threshold sensitivity)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io, models, outcomes
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_did[{cohort}/{outcome}]"):
        m = smk.params.models
        thresholds = (
            smk.params.linkage["sensitivity_thresholds"] if outcome in outcomes.LINKED_OUTCOMES else []
        )
        wanted = [outcome, *(outcome + outcomes.threshold_suffix(t) for t in thresholds)]
        analysis = io.read_present_columns(
            smk.input.analysis, models.analysis_columns(wanted, m["covariates"], smk.params.period_unit)
        )
        kw = {"period_col": smk.params.period_unit, "confidence_level": m["confidence_level"]}
        parts = [models.fit_did(analysis, cohort, outcome, list(m["covariates"]), **kw)]
        for t in thresholds:  # death and crime: the main model at the sensitivity linkage thresholds
            column = outcome + outcomes.threshold_suffix(t)
            res = models.fit_did(
                analysis.assign(**{outcome: analysis[column]}), cohort, outcome, list(m["covariates"]), **kw
            )
            res["specification"] = f"linkage_threshold_{t:g}"
            parts.append(res)
        io.write_table(pd.concat(parts, ignore_index=True), smk.output.result)


if __name__ == "__main__":
    main(snakemake)
