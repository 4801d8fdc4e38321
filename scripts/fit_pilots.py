"""Rule fit_pilots: a DiD per pilot area, the Ibragimov-Mueller and Canay-Romano-Shaikh tests on
them, and each pilot's share of the identifying variation, for one outcome x cohort."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.fit import pilots
from pbr.fit.frame import analysis_columns
from pbr.fit.spec import FitSpec
from pbr.logs import logged


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_pilots[{cohort}/{outcome}]"):
        spec = FitSpec.from_config(cohort, outcome, smk.params.models, smk.params.period_unit)
        rows, areas = pilots.pilot_rows(
            io.read_present_columns(smk.input.analysis, analysis_columns([outcome], spec)), spec
        )
        io.write_table(rows, smk.output.result)
        io.write_table(areas, smk.output.areas, sort_by=["area_code"])


if __name__ == "__main__":
    main(snakemake)
