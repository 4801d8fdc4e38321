"""Rule sim_chunk: every method on replicates chunk, chunk + chunks, ... of one scenario
(pbr.simstudy.methods); the screening replicates also run the pre-trend and per-pilot tests."""

import logging
import time
import warnings

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.logs import logged
from pbr.simstudy import mechanism, methods, performance, scenarios

log = logging.getLogger("pbr.simstudy")


def main(smk) -> None:
    name, chunk = smk.wildcards.scenario, int(smk.wildcards.chunk)
    with logged(smk.log[0], f"sim_chunk[{name}/{chunk}]"):
        s = smk.params.settings
        sc = scenarios.scenario(name, s["journeys"])
        geometry = mechanism.build_geometry(sc, s["seed"])
        target = performance.test_targets(sc, io.read_table(smk.input.truth).iloc[0])
        todo = range(chunk, s["replicates"], s["chunks"])
        parts, start = [], time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # separation warnings of sparse replicates: counted in the p-values
            for i, r in enumerate(todo):
                df = mechanism.replicate(geometry, sc, s["seed"], r)
                parts.append(
                    methods.replicate_pvalues(
                        df,
                        scenario=name,
                        r=r,
                        target=target,
                        screening=r < s["screening_replicates"],
                        reps=s["bootstrap_reps"],
                        ri_reps=s["ri_reps"],
                        seed=s["seed"],
                    )
                )
                if (i + 1) % 10 == 0 or i + 1 == len(todo):
                    rate = (time.perf_counter() - start) / (i + 1)
                    log.info(
                        "%s chunk %d: %d of %d replicates, %.1f s each", name, chunk, i + 1, len(todo), rate
                    )
        empty = pd.DataFrame(columns=methods.PVALUE_COLUMNS)
        io.write_table(pd.concat(parts, ignore_index=True) if parts else empty, smk.output.pvalues)


if __name__ == "__main__":
    main(snakemake)
