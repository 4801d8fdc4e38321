"""Rule combine_imputations: the DiDs of the imputed link sets combined by Rubin's rules, and the
headline interval widened by their variance ratio (pbr.fit.imputed)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.fit.imputed import combined_rows
from pbr.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], "combine_imputations") as log:
        imputed = pd.concat([io.read_table(p) for p in smk.input.imputations], ignore_index=True)
        headline = pd.concat([io.read_table(p) for p in smk.input.headline], ignore_index=True)
        headline = headline[headline["specification"] == "main"]
        models = smk.params.models
        rows = combined_rows(imputed, headline, models["headline_method"], float(models["confidence_level"]))
        log.info("%d imputations combined into %d rows", imputed["imputation"].nunique(), len(rows))
        io.write_table(rows, smk.output.result, sort_by=["cohort", "outcome", "method"])


if __name__ == "__main__":
    main(snakemake)
