"""Rule fit_imputed_links: one imputed link set per register (pbr.link.imputation), the linked
outcomes derived from it, and their logit DiD (CRV1) for every cohort."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.derive.outcomes import linked_outcome_columns
from pbr.fit.frame import analysis_columns
from pbr.fit.models import fit_did
from pbr.fit.spec import RESULT_COLUMNS, FitSpec
from pbr.link.imputation import imputation_seed, imputed_links
from pbr.link.matching import candidate_links
from pbr.logs import logged


def main(smk) -> None:
    m = int(smk.wildcards.imputation)
    with logged(smk.log[0], f"fit_imputed_links[{m}]") as log:
        registers, outcomes = smk.params.registers, tuple(smk.params.outcomes)
        rng = imputation_seed(int(smk.params.seed), m)
        links = {}
        for register in sorted(registers):
            drawn = imputed_links(io.read_table(smk.input[f"pairs_{register}"]), rng)
            candidates = io.read_table(smk.input[f"candidates_{register}"])
            links[register] = candidate_links(candidates, drawn, registers[register]["unit"])
            log.info("imputation %d: %d %s links drawn", m, len(drawn), register)
        parts = []
        for cohort, path in zip(smk.params.cohorts, smk.input.analyses, strict=True):
            specs = [
                FitSpec.from_config(cohort, o, smk.params.models, smk.params.period_unit) for o in outcomes
            ]
            columns = ["journey_id", "person_id", *analysis_columns([], specs[0])]
            analysis = io.read_present_columns(path, list(dict.fromkeys(columns)))
            derived = linked_outcome_columns(analysis, links, smk.params.definitions, outcomes)
            for spec in specs:
                frame = analysis.assign(**{spec.outcome: derived[spec.outcome].to_numpy()})
                parts.append(fit_did(frame, spec, methods=("logit_crv1",)))
        out = pd.concat(parts, ignore_index=True)[RESULT_COLUMNS].assign(imputation=m)
        io.write_table(out, smk.output.result)


if __name__ == "__main__":
    main(snakemake)
