"""Rule fit_did: the DiD models for one outcome x cohort."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io, models
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_did[{cohort}/{outcome}]"):
        m = smk.params.models
        result = models.fit_did(
            io.read_table(smk.input.analysis),
            cohort,
            outcome,
            list(m["covariates"]),
            period_col=smk.params.period_unit,
            confidence_level=m["confidence_level"],
        )
        io.write_table(result, smk.output.result)


if __name__ == "__main__":
    main(snakemake)
