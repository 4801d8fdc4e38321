"""Rule infer_few_cluster: wild cluster bootstraps and randomisation inference for one outcome x cohort."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.fit import inference, models
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"infer_few_cluster[{cohort}/{outcome}]"):
        m, inf = smk.params.models, smk.params.inference
        columns = models.analysis_columns([outcome], m["covariates"], smk.params.period_unit)
        rows = inference.few_cluster_rows(
            io.read_present_columns(smk.input.analysis, columns),
            cohort,
            outcome,
            list(m["covariates"]),
            reps=inf["bootstrap_reps"],
            seed=inf["seed"],
            ri_reps=inf["ri_reps"],
            period_col=smk.params.period_unit,
            confidence_level=m["confidence_level"],
        )
        io.write_table(rows, smk.output.result)


if __name__ == "__main__":
    main(snakemake)
