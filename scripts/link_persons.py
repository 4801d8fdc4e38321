"""Rule link_persons: group episodes into pseudonymous persons; identifiers end here."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io, source
from pbr.link import persons, pseudonyms
from pbr.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], "link_persons"):
        secret = pseudonyms.pseudonymisation_key(smk.params.source)
        source.check_key_id(smk.params.source, smk.params.key_id)
        episodes, flow = persons.link_persons(io.read_table(smk.input.episodes), secret, smk.params.transfers)
        io.write_table(episodes, smk.output.episodes, sort_by=["person_id", "referral_date", "episode_id"])
        io.write_table(flow, smk.output.flow)


if __name__ == "__main__":
    main(snakemake)
