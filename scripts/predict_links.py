"""Rule predict_links: score pairs, match one-to-one, write the de-identified link table."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io, link
from pbr.logs import logged


def main(smk) -> None:
    name = smk.wildcards.register
    with logged(smk.log[0], f"predict_links[{name}]"):
        cfg, spec = smk.params.linkage, smk.params.spec
        secret = link.pseudonymisation_key(smk.params.source)
        register = io.read_table(smk.input.register)
        left, right = io.read_table(smk.input.left), io.read_table(smk.input.right)
        out = link.link_register_probabilistic(
            left, right, register, spec, io.read_json(smk.input.model), cfg, name, smk.threads, secret
        )
        io.write_table(out["links"], smk.output.links, sort_by=["person_id", spec["id"]])
        io.write_table(out["pairs"], smk.output.pairs, sort_by=["left_id", "right_id"])
        io.write_table(out["exact"], smk.output.exact, sort_by=["left_id", "right_id"])
        io.write_table(out["flow"], smk.output.flow)


if __name__ == "__main__":
    main(snakemake)
