"""Rule fit_did: the main DiD models (logit and its linear companion) for one outcome x cohort."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.fit import models
from pbr.fit.frame import analysis_columns
from pbr.fit.spec import FitSpec
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_did[{cohort}/{outcome}]"):
        spec = FitSpec.from_config(cohort, outcome, smk.params.models, smk.params.period_unit)
        analysis = io.read_present_columns(smk.input.analysis, analysis_columns([outcome], spec))
        io.write_table(models.fit_did(analysis, spec), smk.output.result)


if __name__ == "__main__":
    main(snakemake)
