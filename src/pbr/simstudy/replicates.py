"""One chunk of a scenario's replicates through a per-replicate function: the loop the simulation
study's chunk rules share (``sim_chunk``, ``sim_checks``, ``sim_trends``).

Replicate ``r`` of a scenario is :func:`pbr.simstudy.mechanism.replicate` on the scenario's geometry
(built once per chunk from the seed), so every rule sees the same data for the same ``r`` (common
random numbers across methods and rules). Separation warnings of sparse replicates are silenced:
each rule's rows count what they mean (a not-estimable row has no p-value).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable

import pandas as pd

from pbr.simstudy import mechanism
from pbr.simstudy.scenarios import Scenario

log = logging.getLogger("pbr.simstudy")


def chunk_table(
    sc: Scenario,
    seed: int,
    replicates: Iterable[int],
    table_of: Callable[[pd.DataFrame, int], pd.DataFrame],
    columns: list[str],
    label: str,
) -> pd.DataFrame:
    """``table_of(data of replicate r, r)`` for each of ``replicates``, stacked (an empty table with
    ``columns`` without any); progress every 10 replicates as '<label>: i of n replicates, s each'."""
    geometry = mechanism.build_geometry(sc, seed)
    todo = list(replicates)
    parts, start = [], time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation warnings of sparse replicates: counted in the rows
        for i, r in enumerate(todo):
            parts.append(table_of(mechanism.replicate(geometry, sc, seed, r), r))
            if (i + 1) % 10 == 0 or i + 1 == len(todo):
                rate = (time.perf_counter() - start) / (i + 1)
                log.info("%s: %d of %d replicates, %.1f s each", label, i + 1, len(todo), rate)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
