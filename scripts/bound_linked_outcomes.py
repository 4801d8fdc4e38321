"""Rule bound_linked_outcomes: per cohort x death/crime outcome x group x period, the events and the
expected false and missed events the match probabilities imply (pbr.fit.link_bounds)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.fit.link_bounds import cell_event_errors
from pbr.logs import logged
from pbr.registry.outcomes import by_name


def main(smk) -> None:
    with logged(smk.log[0], "bound_linked_outcomes"):
        registers, threshold = smk.params.registers, float(smk.params.threshold)
        outcomes = {o: str(by_name()[o].register) for o in smk.params.outcomes}
        tables = {
            r: (io.read_table(smk.input[f"links_{r}"]), io.read_table(smk.input[f"candidates_{r}"]))
            for r in set(outcomes.values())
        }
        parts = []
        for cohort, path in zip(smk.params.cohorts, smk.input.analyses, strict=True):
            columns = ["journey_id", "person_id", "start_date", "group", "period", *outcomes]
            journeys = io.read_present_columns(path, columns)
            for outcome, register in outcomes.items():
                cells = cell_event_errors(
                    journeys,
                    outcome,
                    register,
                    *tables[register],
                    registers[register]["unit"],
                    threshold,
                    smk.params.definitions,
                )
                parts.append(cells.assign(cohort=cohort, outcome=outcome))
        out = pd.concat(parts, ignore_index=True)
        io.write_table(out, smk.output.result, sort_by=["cohort", "outcome", "group", "period"])


if __name__ == "__main__":
    main(snakemake)
