"""Rule collect_results: the tidy results table, Parquet and CSV."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io, models
from pbr.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], "collect_results"):
        res = models.combine_results([io.read_table(p) for p in smk.input.parts])
        io.write_table(res, smk.output.parquet)
        res.to_csv(smk.output.csv, index=False, float_format="%.10g", lineterminator="\n")


if __name__ == "__main__":
    main(snakemake)
