"""Rule sim_checks: the robustness checks (placebo, leave-one-out, Mason 2015 window, donut) and the
main model's interval widths on replicates chunk, chunk + chunks, ... of one scenario
(pbr.simstudy.checks)."""

import logging
import time
import warnings

import _bootstrap  # noqa: F401  (puts src/ on sys.path)
import pandas as pd

from pbr import io
from pbr.logs import logged
from pbr.simstudy import checks, mechanism, scenarios

log = logging.getLogger("pbr.simstudy")


def main(smk) -> None:
    name, chunk = smk.wildcards.scenario, int(smk.wildcards.chunk)
    with logged(smk.log[0], f"sim_checks[{name}/{chunk}]"):
        s = smk.params.settings
        sc = scenarios.scenario(name, s["journeys"])
        geometry = mechanism.build_geometry(sc, s["seed"])
        todo = range(chunk, max(s["check_replicates"], s["interval_replicates"]), s["chunks"])
        parts, start = [], time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # separation warnings of sparse replicates: counted in the rows
            for i, r in enumerate(todo):
                df = mechanism.replicate(geometry, sc, s["seed"], r)
                parts.append(
                    checks.replicate_checks(
                        df,
                        scenario=name,
                        r=r,
                        robust=r < s["check_replicates"],
                        interval=r < s["interval_replicates"],
                        reps=s["bootstrap_reps"],
                        seed=s["seed"],
                    )
                )
                if (i + 1) % 10 == 0 or i + 1 == len(todo):
                    rate = (time.perf_counter() - start) / (i + 1)
                    log.info(
                        "%s checks %d: %d of %d replicates, %.1f s each", name, chunk, i + 1, len(todo), rate
                    )
        empty = pd.DataFrame(columns=checks.CHECK_COLUMNS)
        io.write_table(pd.concat(parts, ignore_index=True) if parts else empty, smk.output.checks)


if __name__ == "__main__":
    main(snakemake)
