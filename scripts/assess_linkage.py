"""Rule assess_linkage: match rates by group and period; precision, recall, F1 against the synthetic truth."""

from pathlib import Path

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.link import matching, quality
from pbr.logs import logged
from pbr.registry.registers import TRUTH_TABLES


def main(smk) -> None:
    with logged(smk.log[0], "assess_linkage") as log:
        cfg, registers = smk.params.linkage, smk.params.registers
        journeys = io.read_table(smk.input.journeys)
        links = {r: io.read_table(smk.input[f"links_{r}"]) for r in registers}
        io.write_table(
            quality.match_rates(journeys, links, cfg["threshold"], cfg["min_link_rate"]),
            smk.output.match_rates,
            sort_by=["register", "cohort", "group", "period"],
        )
        parts = []
        if hasattr(smk.input, "truth"):
            truth_dir = Path(smk.input.truth)
            episodes = io.read_table(smk.input.episodes, columns=["person_id", "episode_id"])
            episode_truth = io.read_table(truth_dir / "episode_person.parquet")
            scopes = matching.person_scopes(journeys)
            for r, spec in registers.items():
                unit_truth = io.read_table(truth_dir / f"{TRUTH_TABLES[r]}.parquet")
                register = records = None
                if spec["unit"] != spec["id"]:  # offences: the unit is the offender
                    register = io.read_table(smk.input.offences_extract, columns=[spec["id"], spec["unit"]])
                    records = io.read_table(smk.input[f"records_{r}"], columns=[spec["group"], "group"])
                truth = quality.register_true_pairs(
                    episodes, episode_truth, unit_truth, spec, register, records
                )
                matches = quality.link_matches(links[r], spec["unit"])
                exact = io.read_table(smk.input[f"exact_{r}"])
                q = quality.quality_table(matches, exact, truth, list(cfg["quality_thresholds"]), r, scopes)
                parts.append(q)
                main_row = q[
                    (q.scope == "all") & (q.method == "probabilistic") & (q.threshold == cfg["threshold"])
                ]
                if len(main_row):
                    m = main_row.iloc[0]
                    log.info(
                        "%s at p >= %s: precision %.4f recall %.4f F1 %.4f",
                        r,
                        cfg["threshold"],
                        m.precision,
                        m.recall,
                        m.f1,
                    )
        scores = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(
                columns=[
                    "register",
                    "method",
                    "threshold",
                    "scope",
                    "n_predicted",
                    "n_true",
                    "n_correct",
                    "precision",
                    "recall",
                    "f1",
                ]
            )
        )
        io.write_table(scores, smk.output.quality)


if __name__ == "__main__":
    main(snakemake)
