"""Rule infer_few_cluster: wild cluster bootstraps and randomisation inference for one outcome x cohort,
and the headline statistic's bootstrap draws (for the Romano-Wolf adjustment of collect_results)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.fit import inference
from pbr.fit.frame import analysis_columns
from pbr.fit.spec import FitSpec
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"infer_few_cluster[{cohort}/{outcome}]"):
        spec = FitSpec.from_config(cohort, outcome, smk.params.models, smk.params.period_unit)
        inf = smk.params.inference
        df = io.read_present_columns(smk.input.analysis, analysis_columns([outcome], spec))
        rows, draws = inference.few_cluster_results(
            df, spec, reps=inf["bootstrap_reps"], seed=inf["seed"], ri_reps=inf["ri_reps"]
        )
        io.write_table(rows, smk.output.result)
        io.write_table(draws, smk.output.draws)


if __name__ == "__main__":
    main(snakemake)
