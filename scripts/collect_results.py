"""Rule collect_results: the tidy results table (Parquet and CSV) and the event-study table.

The headline rows get their multiplicity-adjusted p-values here (Holm; Romano-Wolf from the
headline bootstrap draws of every outcome x cohort): :mod:`pbr.fit.multiplicity`."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.fit import multiplicity, pilots, power, spec
from pbr.logs import logged


def stack_pilot_areas(paths) -> pd.DataFrame:
    """The pilot-area tables of every outcome x cohort, stacked (pbr.fit.pilots.PILOT_AREA_COLUMNS)."""
    parts = [io.read_table(p) for p in paths]
    if not parts:
        return pd.DataFrame(columns=pilots.PILOT_AREA_COLUMNS)
    return pd.concat(parts, ignore_index=True)[pilots.PILOT_AREA_COLUMNS]


def with_mde(res: pd.DataFrame, paths) -> pd.DataFrame:
    """The tidy table with the minimum detectable odds ratios of the power tables on its main rows."""
    tables = [io.read_table(p) for p in paths]
    if not tables:
        return res
    return power.attach_mde(res, pd.concat(tables, ignore_index=True))


def main(smk) -> None:
    with logged(smk.log[0], "collect_results"):
        res = spec.combine_results([io.read_table(p) for p in smk.input.parts])
        draws = [d for d in (io.read_table(p) for p in smk.input.draws) if len(d)]  # empty: not estimable
        draws_all = (
            pd.concat(draws, ignore_index=True) if draws else pd.DataFrame(columns=["cohort", "outcome"])
        )
        res = multiplicity.adjusted_p_values(res, draws_all, smk.params.headline_method)
        res = with_mde(res, smk.input.power)
        io.write_table(res, smk.output.parquet)
        res.to_csv(smk.output.csv, index=False, float_format="%.10g", lineterminator="\n")
        es = [t for t in (io.read_table(p) for p in smk.input.event_studies) if len(t)]  # empty: Mason only
        es_all = (
            pd.concat(es, ignore_index=True)
            if es
            else pd.DataFrame(columns=["cohort", "outcome", "specification", "method", "bin"])
        )
        io.write_table(
            es_all, smk.output.event_study, sort_by=["cohort", "outcome", "specification", "method", "bin"]
        )
        areas = stack_pilot_areas(smk.input.pilot_areas)
        io.write_table(areas, smk.output.pilot_areas, sort_by=["cohort", "outcome", "area_code"])


if __name__ == "__main__":
    main(snakemake)
