"""Rule build_journeys: episodes -> journeys -> study fields and exclusions."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.derive import journeys
from pbr.flow import concat_flows
from pbr.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], "build_journeys"):
        study, jcfg = smk.params.study, smk.params.journeys
        ep = journeys.assign_journeys(
            io.read_table(smk.input.episodes),
            jcfg["transfer_codes"],
            jcfg["transfer_gap_days"],
            jcfg["overlap_rule"],
        )
        j = journeys.assign_study_fields(
            journeys.summarise_journeys(ep),
            io.read_table(smk.input.areas),
            study["pre_start"],
            study["post_start"],
            study["post_end"],
            study["partial_pilot_rule"],
        )
        j, flow = journeys.flag_exclusions(j, study["cohorts"], study["min_age"])
        io.write_table(j, smk.output.journeys, sort_by=["journey_id"])
        in_journey = ep.loc[ep["journey_id"].notna(), ["episode_id", "journey_id"]]
        io.write_table(in_journey, smk.output.episode_journey, sort_by=["episode_id"])
        flows = (journeys.transfer_flow(ep), journeys.overlap_flow(ep, jcfg["overlap_rule"]), flow)
        io.write_table(concat_flows(*flows), smk.output.flow)


if __name__ == "__main__":
    main(snakemake)
