"""Rule derive_outcomes: one cohort's analysis table, one column per outcome."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io, outcomes
from pbr.logs import logged


def main(smk) -> None:
    cohort = smk.wildcards.cohort
    with logged(smk.log[0], f"derive_outcomes[{cohort}]"):
        j = io.read_table(smk.input.journeys)
        j = j[j["cohort"] == cohort].reset_index(drop=True)
        analysis = outcomes.derive_outcomes(j, io.read_table(smk.input.deaths), smk.params.outcomes)
        io.write_table(analysis, smk.output.analysis, sort_by=["journey_id"])


if __name__ == "__main__":
    main(snakemake)
