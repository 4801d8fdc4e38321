"""The generator's random streams, vectorised random draws and small numeric helpers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Streams:
    """Independent random streams, one per part of the generator (spawned from the seed).

    A part drawing more or fewer numbers leaves the other parts' draws unchanged.
    """

    #: area sizes, agencies, area random effects
    area: np.random.Generator
    #: the first calibration sample
    calibration: np.random.Generator
    #: soft monthly targets and the month-by-month journey simulation
    loop: np.random.Generator
    #: deaths after the last journey, late outcomes
    post: np.random.Generator
    #: TOP schedule and TOP answers
    top: np.random.Generator
    #: ONS and PNC registers
    registers: np.random.Generator
    #: NDTMS attributor errors
    noise: np.random.Generator
    #: episode order, names, episode table nulls
    ids: np.random.Generator
    #: episodes (transfers, agencies, dates)
    episodes: np.random.Generator
    #: retention and unplanned discharges (pbr.synthetic.discharges); spawned last, so adding it
    #: left the nine others' draws as they were
    discharges: np.random.Generator
    #: the pilot-post case mix shift (``case_mix``); spawned after ``discharges``, so the ten
    #: others' draws are as they were, and unused when the shift is null
    case_mix: np.random.Generator

    @classmethod
    def from_seed(cls, seed: int) -> Streams:
        """The eleven streams of ``seed``, in a fixed order (a child's draws depend only on its position)."""
        seeds = np.random.SeedSequence(seed).spawn(11)
        return cls(*(np.random.Generator(np.random.PCG64(s)) for s in seeds))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def choice(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws from the categorical distribution ``p`` (fast, via the cumulative sum)."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(p) - 1)


def choice_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per element from ``probs[rows[i]]`` (a table of categorical distributions)."""
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(len(rows))
    return np.minimum((u[:, None] >= cdf[rows]).sum(axis=1), probs.shape[1] - 1)


def uniform_int(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Integers uniform on [lo, hi] (elementwise; hi >= lo)."""
    return lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total``."""
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    raw = total * weights / weights.sum()
    base = np.floor(raw).astype(np.int64)
    short = total - base.sum()
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:short]] += 1
    return base


def solve_intercept(lp: np.ndarray, target: float, weights: np.ndarray | None = None) -> float:
    """The intercept a with mean(sigmoid(a + lp)) == target (weighted), by bisection."""
    w = np.ones_like(lp) if weights is None else weights
    lo, hi = -30.0, 30.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if np.sum(w * sigmoid(mid + lp)) / np.sum(w) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def date_order(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """Row order by date, ties in random order (so ids carry no other information)."""
    perm = rng.permutation(len(days))
    return perm[np.argsort(days[perm], kind="stable")]
