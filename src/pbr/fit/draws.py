"""Random draws keyed by area code: the same for every outcome, cohort and specification.

Every few-cluster method draws per area: a wild bootstrap weight per area and draw, and
in randomisation inference a re-assignment of "pilot" to areas. Drawn by row position
in each model's area list, the draws would differ between outcomes whenever an outcome
drops an area (no outcome variation), and a joint procedure over outcomes (Romano-Wolf,
:mod:`pbr.fit.multiplicity`) needs the *same* draw for an area in every model. So each
area gets its own random stream, seeded by ``(seed, stream, a stable hash of its code)``:

- :func:`area_webb_weights`: area ``a``'s B Webb weights depend only on the seed and
  ``a``'s code, whichever other areas a model holds;
- :func:`area_assignments`: re-assignment r treats, among the areas a model holds, the
  ``n_treated`` areas with the smallest priority ``u[a, r]`` (each area's priorities from
  its own stream). With every area present this is a uniform draw of ``n_treated`` areas
  without replacement; models holding the same areas get the same re-assignments. With
  ``strata``, the draw is within strata: each stratum gets as many treated areas as it
  holds in the data (the restricted RI of :mod:`pbr.fit.randomisation`).

:class:`Bootstrap` holds the draws' settings that the robustness checks and the event study
pass on (reps and seed, config ``models.inference``).

numpy's ``SeedSequence`` mixes the three integers, so streams of different areas, seeds or
purposes (``stream``) are independent for any practical purpose. Hand-written because no
library draws per-key streams; the test suite checks the weights' law (six values, equal
frequencies) and that an area's draws do not change when other areas are dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

#: Webb's six-point weights: +-sqrt(1/2), +-1, +-sqrt(3/2), each with probability 1/6.
WEBB_WEIGHTS = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])

#: The purposes draws are made for; each has its own stream so that they are independent.
STREAMS = {"bootstrap": 1, "assignment": 2, "power": 3}


@dataclass(frozen=True)
class Bootstrap:
    """The few-cluster draws' settings (config ``models.inference``): wild bootstrap draws,
    randomisation-inference re-assignments and seed."""

    reps: int = 999
    seed: int = 20120401
    ri_reps: int = 999


def area_key(code: object) -> int:
    """A stable 64-bit integer of an area code (the same in every process and Python version)."""
    return int.from_bytes(hashlib.sha256(str(code).encode("utf-8")).digest()[:8], "little")


def area_generator(code: object, seed: int, stream: str) -> np.random.Generator:
    """The random stream of one area for one purpose (:data:`STREAMS`)."""
    return np.random.default_rng([int(seed), STREAMS[stream], area_key(code)])


def area_webb_weights(area_codes, reps: int, seed: int, stream: str = "bootstrap") -> np.ndarray:
    """G x B Webb weights; row g holds area ``area_codes[g]``'s B weights (:data:`WEBB_WEIGHTS`)."""
    rows = [WEBB_WEIGHTS[area_generator(c, seed, stream).integers(0, 6, size=reps)] for c in area_codes]
    return np.vstack(rows) if rows else np.zeros((0, reps))


def area_priorities(area_codes, reps: int, seed: int, stream: str = "assignment") -> np.ndarray:
    """G x R uniform priorities; row g holds area ``area_codes[g]``'s R priorities."""
    rows = [area_generator(c, seed, stream).random(reps) for c in area_codes]
    return np.vstack(rows) if rows else np.zeros((0, reps))


def area_assignments(
    area_codes, treated: np.ndarray, reps: int, seed: int, strata: np.ndarray | None = None
) -> np.ndarray:
    """R x G 0/1 re-assignments: in each stratum (all areas one stratum by default), the areas
    with the smallest priorities, as many as that stratum has treated areas (``treated``, G bools)."""
    treated = np.asarray(treated, dtype=bool)
    strata = np.zeros(len(treated), dtype=np.int64) if strata is None else np.asarray(strata)
    priorities = area_priorities(area_codes, reps, seed)  # G x R
    out = np.zeros((reps, len(treated)))
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum)
        k = int(treated[members].sum())
        if k == 0:
            continue
        order = np.argsort(priorities[members], axis=0, kind="stable")[:k]  # k x R positions within members
        out[np.arange(reps)[None, :], members[order]] = 1.0
    return out


def size_strata(sizes: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Strata of areas of similar size, so that each pilot is exchanged only with areas of
    about its size: areas sorted by ``sizes`` (journeys) are cut into consecutive bins holding
    one treated area each and the untreated areas nearest to it in rank (a cut halfway between
    consecutive treated ranks). Returns an int stratum per area (G,); all 0 without treated areas.
    """
    sizes = np.asarray(sizes, dtype=float)
    treated = np.asarray(treated, dtype=bool)
    order = np.argsort(sizes, kind="stable")
    rank_treated = np.flatnonzero(treated[order])
    strata = np.zeros(len(sizes), dtype=np.int64)
    if len(rank_treated) == 0:
        return strata
    cuts = (rank_treated[:-1] + rank_treated[1:]) // 2 + 1  # bin boundaries between treated ranks
    bins = np.searchsorted(cuts, np.arange(len(sizes)), side="right")
    strata[order] = bins
    return strata
