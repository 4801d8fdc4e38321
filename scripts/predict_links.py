"""Rule predict_links: score pairs, match them (linkage.units_per_person), write the de-identified link table."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.link import matching, model
from pbr.logs import logged


def main(smk) -> None:
    name = smk.wildcards.register
    with logged(smk.log[0], f"predict_links[{name}]") as log:
        cfg, spec = smk.params.linkage, smk.params.spec
        left, right = io.read_table(smk.input.left), io.read_table(smk.input.right)
        memory_mb = model.duckdb_memory_mb(smk.resources.get("mem_mb"))
        log.info(
            "DuckDB memory limit: %s MB (%.0f%% of the job's mem_mb)",
            memory_mb,
            100 * model.DUCKDB_MEMORY_SHARE,
        )
        out = matching.link_register_probabilistic(
            left,
            right,
            smk.input.register,  # only the candidate units' rows are read (matching.register_rows)
            spec,
            io.read_json(smk.input.model),
            cfg,
            name,
            smk.threads,
            memory_mb,
        )
        io.write_table(out["links"], smk.output.links, sort_by=["person_id", spec["id"]])
        io.write_table(out["pairs"], smk.output.pairs, sort_by=["left_id", "right_id"])
        io.write_table(out["candidates"], smk.output.candidates, sort_by=["person_id", spec["id"]])
        io.write_table(out["exact"], smk.output.exact, sort_by=["left_id", "right_id"])
        io.write_table(out["flow"], smk.output.flow)


if __name__ == "__main__":
    main(snakemake)
