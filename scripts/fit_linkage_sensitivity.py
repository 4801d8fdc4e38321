"""Rule fit_linkage_sensitivity: the main DiD models of a linked outcome at the sensitivity linkage thresholds
and, where configured, counting only the records registered within the late-registration lag (CRV1 logit and
LPM, reference only, and the wild cluster score bootstrap)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.derive import outcomes
from pbr.fit import draws, robustness
from pbr.fit.frame import analysis_columns
from pbr.fit.spec import RESULT_COLUMNS, FitSpec
from pbr.logs import logged
from pbr.registry import outcomes as outcome_registry
from pbr.registry.recall import recall_spec, recall_suffix, recall_thresholds


def variants(outcome: str, linkage: dict, registered_within: int | None) -> list[tuple[str, str, str]]:
    """(analysis column, specification, note) of each sensitivity variant of ``outcome``."""
    out = [
        (outcome + outcomes.threshold_suffix(t), f"linkage_threshold_{t:g}", f"linkage threshold {t:g}")
        for t in linkage["sensitivity_thresholds"]
    ]
    out += [
        (
            outcome + recall_suffix(r),
            recall_spec(r),
            f"assumed recall {r:g} (main {linkage['recall']:g}): links at p >= {t:.3f} of the trained model",
        )
        for r, t in recall_thresholds(linkage)
    ]
    if registered_within is not None:
        out.append(
            (
                outcome + outcome_registry.registration_suffix(registered_within),
                outcome_registry.registration_spec(registered_within),
                f"only linked records registered within {registered_within} days of their event",
            )
        )
    return out


def main(smk) -> None:
    cohort, outcome = smk.wildcards.cohort, smk.wildcards.outcome
    with logged(smk.log[0], f"fit_linkage_sensitivity[{cohort}/{outcome}]"):
        spec = FitSpec.from_config(cohort, outcome, smk.params.models, smk.params.period_unit)
        fits = variants(outcome, smk.params.linkage, smk.params.registered_within)
        columns = [column for column, _, _ in fits]
        analysis = io.read_present_columns(smk.input.analysis, analysis_columns(columns, spec))
        inf = smk.params.inference
        bootstrap = draws.Bootstrap(
            reps=int(inf["bootstrap_reps"]), seed=int(inf["seed"]), ri_reps=int(inf["ri_reps"])
        )
        parts = [
            robustness.variant_rows(
                analysis.rename(columns={column: outcome}), spec, specification, note, bootstrap=bootstrap
            )
            for column, specification, note in fits
        ]
        io.write_table(pd.concat(parts, ignore_index=True)[RESULT_COLUMNS], smk.output.result)


if __name__ == "__main__":
    main(snakemake)
