"""Rule train_linkage: estimate the linkage model for one register and save it as JSON."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.link import model
from pbr.logs import logged


def main(smk) -> None:
    name = smk.wildcards.register
    with logged(smk.log[0], f"train_linkage[{name}]") as log:
        cfg = smk.params.linkage
        if cfg["method"] != "probabilistic":
            io.write_json({"method": cfg["method"]}, smk.output.model)
            return
        left, right = io.read_table(smk.input.left), io.read_table(smk.input.right)
        log.info("training on %d NDTMS persons x %d %s records", len(left), len(right), name)
        trained = model.train_link_model(
            left,
            right,
            cfg["recall"],
            cfg["seed"],
            cfg["u_max_pairs"],
            smk.threads,
            cfg["em_max_pairs"],
            memory_mb=model.duckdb_memory_mb(smk.resources.get("mem_mb")),
        )
        io.write_json(trained, smk.output.model)


if __name__ == "__main__":
    main(snakemake)
