"""Rule derive_outcomes: one cohort's analysis table, one column per outcome."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.derive import outcomes
from pbr.frames import member_of
from pbr.logs import logged
from pbr.registry.recall import recall_thresholds


def main(smk) -> None:
    cohort = smk.wildcards.cohort
    with logged(smk.log[0], f"derive_outcomes[{cohort}]") as log:
        all_journeys = io.read_table(smk.input.journeys)
        study = outcomes.study_journeys(all_journeys, cohort)
        log.info("%d study journeys in cohort %s", len(study), cohort)
        episode_journey = io.read_table(smk.input.episode_journey)
        # the cohort's episodes, and only their TOPs read (journey_tops uses no other episode)
        episode_journey = episode_journey[member_of(episode_journey["journey_id"], study["journey_id"])]
        top = io.read_rows(smk.input.top, "episode_id", episode_journey["episode_id"])
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
