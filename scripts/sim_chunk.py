"""Rule sim_chunk: every method on replicates chunk, chunk + chunks, ... of one scenario
(pbr.simstudy.methods); the screening replicates also run the pre-trend and per-pilot tests."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.logs import logged
from pbr.simstudy import methods, performance, replicates, scenarios


def main(smk) -> None:
    name, chunk = smk.wildcards.scenario, int(smk.wildcards.chunk)
    with logged(smk.log[0], f"sim_chunk[{name}/{chunk}]"):
        s = smk.params.settings
        sc = scenarios.scenario(name, s["journeys"])
        target = performance.test_targets(sc, io.read_table(smk.input.truth).iloc[0])

        def pvalues(df, r):
            return methods.replicate_pvalues(
                df,
                scenario=name,
                r=r,
                target=target,
                screening=r < s["screening_replicates"],
                reps=s["bootstrap_reps"],
                ri_reps=s["ri_reps"],
                seed=s["seed"],
            )

        todo = range(chunk, s["replicates"], s["chunks"])
        table = replicates.chunk_table(
            sc, s["seed"], todo, pvalues, methods.PVALUE_COLUMNS, f"{name} chunk {chunk}"
        )
        io.write_table(table, smk.output.pvalues)


if __name__ == "__main__":
    main(snakemake)
