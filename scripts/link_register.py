"""Rule link_register: link NDTMS persons to one register (ONS deaths or PNC offences)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io, link
from pbr.logs import logged


def main(smk) -> None:
    name = smk.wildcards.register
    with logged(smk.log[0], f"link_register[{name}]"):
        spec = smk.params.spec
        secret = link.pseudonymisation_key(smk.params.source)
        links, flow = link.link_register(
            io.read_table(smk.input.episodes),
            io.read_table(smk.input.register),
            spec["id"],
            list(spec["keep"]),
            secret,
            name,
        )
        io.write_table(links, smk.output.links, sort_by=["person_id", spec["id"]])
        io.write_table(flow, smk.output.flow)


if __name__ == "__main__":
    main(snakemake)
