"""Rule sim_checks: the robustness checks (placebo, leave-one-out, Mason 2015 window, donut) and the
main model's interval widths on replicates chunk, chunk + chunks, ... of one scenario
(pbr.simstudy.checks)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.logs import logged
from pbr.simstudy import checks, replicates, scenarios


def main(smk) -> None:
    name, chunk = smk.wildcards.scenario, int(smk.wildcards.chunk)
    with logged(smk.log[0], f"sim_checks[{name}/{chunk}]"):
        s = smk.params.settings
        sc = scenarios.scenario(name, s["journeys"])

        def check_rows(df, r):
            return checks.replicate_checks(
                df,
                scenario=name,
                r=r,
                robust=r < s["check_replicates"],
                interval=r < s["interval_replicates"],
                reps=s["bootstrap_reps"],
                seed=s["seed"],
            )

        todo = range(chunk, max(s["check_replicates"], s["interval_replicates"]), s["chunks"])
        table = replicates.chunk_table(
            sc, s["seed"], todo, check_rows, checks.CHECK_COLUMNS, f"{name} checks {chunk}"
        )
        io.write_table(table, smk.output.checks)


if __name__ == "__main__":
    main(snakemake)
