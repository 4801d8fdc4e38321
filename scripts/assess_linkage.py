"""Rule assess_linkage: match rates, the quality indicators without truth and the registration delay of
the linked deaths by group and period; precision, recall, F1 and calibration against the synthetic truth."""

from pathlib import Path

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.derive.registration import registration_lag_table
from pbr.link import indicators, quality
from pbr.logs import logged
from pbr.registry.registers import TRUTH_TABLES


def main(smk) -> None:
    with logged(smk.log[0], "assess_linkage"):
        cfg, registers = smk.params.linkage, smk.params.registers
        journeys = io.read_table(smk.input.journeys)
        links = {r: io.read_table(smk.input[f"links_{r}"]) for r in registers}
        io.write_table(
            quality.match_rates(journeys, links, cfg["threshold"], cfg["min_link_rate"]),
            smk.output.match_rates,
            sort_by=["register", "cohort", "group", "period"],
        )
        pairs = {r: io.read_table(smk.input[f"pairs_{r}"]) for r in registers}
        io.write_table(
            indicators.cell_indicators(
                journeys, links, pairs, {r: spec["unit"] for r, spec in registers.items()}, cfg["threshold"]
            ),
            smk.output.indicators,
            sort_by=["register", "cohort", "group", "period"],
        )
        deaths = smk.params.deaths
        io.write_table(
            registration_lag_table(
                journeys,
                links["deaths"],
                io.read_table(smk.input.deaths_extract, columns=["date_of_death", "date_of_registration"]),
                cfg["threshold"],
                smk.params.post_end,
                deaths["window_days"],
                deaths["icd10_prefixes"],
            ),
            smk.output.registration_lag,
        )
        # real data: no truth to score against
        scores = pd.DataFrame(columns=quality.QUALITY_COLUMNS)
        calibration = pd.DataFrame(columns=list(quality.CALIBRATION_COLUMNS))
        if hasattr(smk.input, "truth"):  # synthetic data: score against the truth
            truth = Path(smk.input.truth)
            grouped = [r for r, spec in registers.items() if spec["unit"] != spec["id"]]
            truths = quality.register_truths(
                io.read_table(smk.input.episodes, columns=["person_id", "episode_id"]),
                io.read_table(truth / "episode_person.parquet"),
                {r: io.read_table(truth / f"{TRUTH_TABLES[r]}.parquet") for r in registers},
                registers,
                register_units={
                    r: io.read_table(
                        smk.input.offences_extract, columns=[registers[r]["id"], registers[r]["unit"]]
                    )
                    for r in grouped
                },
                records={
                    r: io.read_table(smk.input[f"records_{r}"], columns=[registers[r]["group"], "group"])
                    for r in grouped
                },
            )
            scopes = quality.person_scopes(journeys)
            exact = {r: io.read_table(smk.input[f"exact_{r}"]) for r in registers}
            thresholds = list(cfg["quality_thresholds"])
            scores = quality.linkage_quality(
                scopes, links, exact, truths, registers, thresholds, cfg["threshold"]
            )
            calibration = quality.linkage_calibration(scopes, pairs, truths)
        io.write_table(scores, smk.output.quality)
        io.write_table(calibration, smk.output.calibration, sort_by=["register", "scope", "bin_low"])


if __name__ == "__main__":
    main(snakemake)
