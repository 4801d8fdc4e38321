"""Rule derive_outcomes: one cohort's analysis table, one column per outcome."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.derive import outcomes
from pbr.logs import logged
from pbr.registry.recall import recall_thresholds


def main(smk) -> None:
    cohort = smk.wildcards.cohort
    with logged(smk.log[0], f"derive_outcomes[{cohort}]") as log:
        all_journeys = io.read_table(smk.input.journeys)
        study = outcomes.study_journeys(all_journeys, cohort)
        log.info("%d study journeys in cohort %s", len(study), cohort)
        episode_journey = io.read_table(smk.input.episode_journey)
        ours = episode_journey.loc[episode_journey["journey_id"].isin(study["journey_id"]), "episode_id"]
        top = io.read_rows(smk.input.top, "episode_id", ours)  # only the TOPs of this cohort's journeys
        log.info("%d TOP interviews of the study journeys' episodes", len(top))
        analysis = outcomes.derive_outcomes(
            study,
            all_journeys,
            top,
            episode_journey,
            io.read_table(smk.input.deaths),
            io.read_table(smk.input.offences),
            smk.params.outcomes,
            threshold=smk.params.linkage["threshold"],
            sensitivity_thresholds=tuple(smk.params.linkage["sensitivity_thresholds"]),
            recall_thresholds=tuple(recall_thresholds(smk.params.linkage)),
        )
        io.write_table(analysis, smk.output.analysis, sort_by=["journey_id"])


if __name__ == "__main__":
    main(snakemake)
