"""Rule fit_did: the main DiD models for one outcome x cohort (and linkage-threshold sensitivity)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io, models, outcomes
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_did[{cohort}/{outcome}]"):
        m = smk.params.models
        analysis = io.read_table(smk.input.analysis)
        kw = {"period_col": smk.params.period_unit, "confidence_level": m["confidence_level"]}
        parts = [models.fit_did(analysis, cohort, outcome, list(m["covariates"]), **kw)]
        if outcome in outcomes.LINKED_OUTCOMES:
            for t in smk.params.linkage["sensitivity_thresholds"]:
                column = outcome + outcomes.threshold_suffix(t)
                res = models.fit_did(
                    analysis.assign(**{outcome: analysis[column]}),
                    cohort,
                    outcome,
                    list(m["covariates"]),
                    **kw,
                )
                res["specification"] = f"linkage_threshold_{t:g}"
                parts.append(res)
        io.write_table(pd.concat(parts, ignore_index=True), smk.output.result)


if __name__ == "__main__":
    main(snakemake)
