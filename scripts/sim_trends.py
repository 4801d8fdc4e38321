"""Rule sim_trends: the per-pilot linear pre-trend tests on replicates chunk, chunk + chunks, ... of
one scenario (pbr.simstudy.trends)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.logs import logged
from pbr.simstudy import methods, replicates, scenarios, trends


def main(smk) -> None:
    name, chunk = smk.wildcards.scenario, int(smk.wildcards.chunk)
    with logged(smk.log[0], f"sim_trends[{name}/{chunk}]"):
        s = smk.params.settings
        sc = scenarios.scenario(name, s["journeys"])
        todo = range(chunk, s["trend_replicates"], s["chunks"])
        table = replicates.chunk_table(
            sc,
            s["seed"],
            todo,
            lambda df, r: trends.replicate_trends(df, scenario=name, r=r),
            methods.PVALUE_COLUMNS,
            f"{name} trends {chunk}",
        )
        io.write_table(table, smk.output.trends)


if __name__ == "__main__":
    main(snakemake)
