"""Rule sim_summary: the performance table of the simulation study (pbr.simstudy.performance)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.logs import logged
from pbr.simstudy import checks, methods, performance, scenarios


def main(smk) -> None:
    with logged(smk.log[0], "sim_summary"):
        s = smk.params.settings
        truth = pd.concat([io.read_table(p) for p in smk.input.truth], ignore_index=True)
        pvalues = pd.concat(
            [io.read_table(p) for p in [*smk.input.pvalues, *smk.input.checks, *smk.input.trends]],
            ignore_index=True,
        )
        chosen = {name: scenarios.scenario(name, s["journeys"]) for name in s["scenarios"]}
        table = performance.performance(pvalues, truth, chosen)
        table = table.merge(truth, on="scenario", how="left")
        table.to_csv(smk.output.performance, index=False, float_format="%.6g")
        text = [
            f"# Simulation study: {len(s['scenarios'])} scenarios, {s['replicates']} replicates "
            f"({s['screening_replicates']} with the pre-trend and per-pilot tests, {s['check_replicates']} with "
            f"the robustness checks, {s['interval_replicates']} with interval widths, {s['trend_replicates']} with the "
            f"tests over the pilots' linear pre-trends), {s['journeys']} journeys",
            "",
        ]
        for check in (*methods.CHECKS, *checks.ROBUSTNESS_CHECKS, "interval"):
            text += [f"## {check}", "", performance.markdown(table, check), ""]
        with open(smk.output.markdown, "w") as f:
            f.write("\n".join(text))


if __name__ == "__main__":
    main(snakemake)
