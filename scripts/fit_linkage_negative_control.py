"""Rule fit_linkage_negative_control: the DiD of each linkage negative control of one cohort
(pbr.registry.registers.NEGATIVE_CONTROLS), fitted as an outcome's: the headline wild cluster score
bootstrap beside CRV1 logit and LPM (reference only)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.fit import draws, robustness
from pbr.fit.frame import analysis_columns
from pbr.fit.spec import RESULT_COLUMNS, FitSpec
from pbr.link import indicators
from pbr.logs import logged
from pbr.registry.outcomes import register_outcome
from pbr.registry.registers import NEGATIVE_CONTROLS, negative_control_spec


def main(smk) -> None:
    cohort = smk.wildcards.cohort
    with logged(smk.log[0], f"fit_linkage_negative_control[{cohort}]"):
        registers, threshold = smk.params.registers, float(smk.params.linkage["threshold"])
        inf = smk.params.inference
        bootstrap = draws.Bootstrap(
            reps=int(inf["bootstrap_reps"]), seed=int(inf["seed"]), ri_reps=int(inf["ri_reps"])
        )
        specs = {
            name: FitSpec.from_config(
                cohort, register_outcome(control["register"]), smk.params.models, smk.params.period_unit
            )
            for name, control in NEGATIVE_CONTROLS.items()
        }
        columns = ["person_id", *(c for spec in specs.values() for c in analysis_columns([], spec))]
        analysis = io.read_present_columns(smk.input.analysis, list(dict.fromkeys(columns)))
        tables = {
            r: (io.read_table(smk.input[f"links_{r}"]), io.read_table(smk.input[f"pairs_{r}"]))
            for r in {control["register"] for control in NEGATIVE_CONTROLS.values()}
        }
        parts = []
        for name, control in NEGATIVE_CONTROLS.items():
            register, spec = control["register"], specs[name]
            value = indicators.negative_control(
                name,
                analysis,
                *tables[register],
                registers[register]["unit"],
                threshold,
                event=control.get("date"),
            )
            frame = analysis.drop(columns="person_id").assign(**{spec.outcome: value})
            note = "linkage negative control"
            parts.append(
                robustness.variant_rows(frame, spec, negative_control_spec(name), note, bootstrap=bootstrap)
            )
        io.write_table(pd.concat(parts, ignore_index=True)[RESULT_COLUMNS], smk.output.result)


if __name__ == "__main__":
    main(snakemake)
