"""Rule collect_results: the tidy results table (Parquet and CSV) and the event-study table."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.fit import spec
from pbr.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], "collect_results"):
        res = spec.combine_results([io.read_table(p) for p in smk.input.parts])
        io.write_table(res, smk.output.parquet)
        res.to_csv(smk.output.csv, index=False, float_format="%.10g", lineterminator="\n")
        es = [io.read_table(p) for p in smk.input.event_studies]
        es_all = (
            pd.concat(es, ignore_index=True)
            if es
            else pd.DataFrame(columns=["cohort", "outcome", "specification", "method", "bin"])
        )
        io.write_table(
            es_all, smk.output.event_study, sort_by=["cohort", "outcome", "specification", "method", "bin"]
        )


if __name__ == "__main__":
    main(snakemake)
