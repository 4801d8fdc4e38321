"""Rule sim_truth: a scenario's targets by large runs of its own mechanism (pbr.simstudy.truth)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.logs import logged
from pbr.simstudy import mechanism, scenarios, truth


def main(smk) -> None:
    name = smk.wildcards.scenario
    with logged(smk.log[0], f"sim_truth[{name}]"):
        s = smk.params.settings
        sc = scenarios.scenario(name, s["journeys"])
        geometry = mechanism.build_geometry(sc, s["seed"])
        table = truth.targets(geometry, sc, s["seed"], s["truth_runs"], s["truth_scale"])
        io.write_table(table, smk.output.truth)


if __name__ == "__main__":
    main(snakemake)
