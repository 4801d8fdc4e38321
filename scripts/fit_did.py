"""Rule fit_did: the main DiD models (logit and its linear companion) for one outcome x cohort."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.fit import models
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_did[{cohort}/{outcome}]"):
        m = smk.params.models
        columns = models.analysis_columns([outcome], m["covariates"], smk.params.period_unit)
        analysis = io.read_present_columns(smk.input.analysis, columns)
        kw = {
            "period_col": smk.params.period_unit,
            "confidence_level": m["confidence_level"],
            "engine": m["engine"],
        }
        io.write_table(
            models.fit_did(analysis, cohort, outcome, list(m["covariates"]), **kw), smk.output.result
        )


if __name__ == "__main__":
    main(snakemake)
