"""Rule fit_linkage_sensitivity: the main DiD models of a linked outcome at the sensitivity linkage thresholds."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.derive import outcomes
from pbr.fit import models
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_linkage_sensitivity[{cohort}/{outcome}]"):
        m, thresholds = smk.params.models, smk.params.linkage["sensitivity_thresholds"]
        columns = [outcome + outcomes.threshold_suffix(t) for t in thresholds]
        analysis = io.read_present_columns(
            smk.input.analysis, models.analysis_columns(columns, m["covariates"], smk.params.period_unit)
        )
        kw = {
            "period_col": smk.params.period_unit,
            "confidence_level": m["confidence_level"],
            "engine": m["engine"],
        }
        parts = []
        for t, column in zip(thresholds, columns, strict=True):
            res = models.fit_did(
                analysis.rename(columns={column: outcome}), cohort, outcome, list(m["covariates"]), **kw
            )
            res["specification"] = f"linkage_threshold_{t:g}"
            parts.append(res)
        io.write_table(pd.concat(parts, ignore_index=True)[models.RESULT_COLUMNS], smk.output.result)


if __name__ == "__main__":
    main(snakemake)
