"""Episodes: journeys cut into episodes (transfers), with agencies and dates, and their output order."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pbr.synthetic.areas import Areas
from pbr.synthetic.columns import id_array
from pbr.synthetic.dates import NA
from pbr.synthetic.draws import choice, date_order, uniform_int
from pbr.synthetic.journeys import Journeys
from pbr.synthetic.params import ProcessParams

log = logging.getLogger(__name__)


@dataclass
class Episodes:
    """Episodes in (journey, episode) order; dates are day numbers (NA: none)."""

    #: the journey (row of Journeys) and the episode's number within it (0, 1, 2)
    journey: np.ndarray
    index: np.ndarray
    person: np.ndarray
    unit: np.ndarray
    agency: np.ndarray
    referral: np.ndarray
    triage: np.ndarray
    offer: np.ndarray
    intervention: np.ndarray
    discharge: np.ndarray
    #: discharge reason code (-1: open)
    reason: np.ndarray
    #: episodes per journey (per journey, not per episode)
    per_journey: np.ndarray


@dataclass
class EpisodeOrder:
    """The output order of the episodes (by referral date, ties at random) and their ids."""

    #: episode rows in output order
    order: np.ndarray
    #: output position of each episode row
    rank: np.ndarray
    #: episode ids by output position
    ids: pa.Array


def cut_episodes(
    process: ProcessParams, journeys: Journeys, areas: Areas, extract_end: int, rng: np.random.Generator
) -> Episodes:
    """Cut journeys into episodes (transfers) and give them agencies and dates."""
    n = len(journeys.person)
    n_ep, t1, t2, g1, g2 = _transfers(process, journeys, extract_end, rng)
    ej = np.repeat(np.arange(n), n_ep)
    first = np.concatenate([[0], np.cumsum(n_ep)[:-1]])
    ek = np.arange(len(ej)) - first[ej]
    ne = len(ej)
    last = ek == n_ep[ej] - 1
    s = journeys.start[ej]
    ref = s + np.select([ek == 0, ek == 1], [0, t1[ej] + g1[ej]], t2[ej] + g2[ej])
    dis = np.where(last, journeys.end[ej], s + np.where(ek == 0, t1[ej], t2[ej]))
    u = rng.random(ne)
    reason = np.where(last, journeys.reason[ej], np.where(u < 0.85, 83, 84))
    unit, agency = _units_and_agencies(journeys, areas, ej, ek, reason, rng)
    tri, offer, iv = _dates(journeys, ej, ek, ref, rng)
    log.info("%d episodes (%d journeys with transfers)", ne, int((n_ep > 1).sum()))
    return Episodes(
        journey=ej, index=ek, person=journeys.person[ej], unit=unit, agency=agency, referral=ref, triage=tri,
        offer=offer, intervention=iv, discharge=dis, reason=reason, per_journey=n_ep,
    )  # fmt: skip


def _transfers(
    process: ProcessParams, journeys: Journeys, extract_end: int, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Episodes per journey (about ``multi_episode_share`` with transfers, some with two), the
    days from the start of the first and second transfers, and the gaps before re-referral."""
    n = len(journeys.person)
    start, end, init = journeys.start, journeys.end, journeys.initiated
    ended = end != NA
    span = np.where(ended, end, extract_end) - start
    intervention_lag = np.where(init, journeys.intervention_lag, 0)
    lo = intervention_lag + 14
    hi = np.minimum(span, 400) - 28
    elig = init & (hi >= lo + 7)
    p_t = min(1.0, process.multi_episode_share * n / max(int(elig.sum()), 1))
    two = elig & (rng.random(n) < p_t)
    three = two & (rng.random(n) < 0.2) & (hi - lo >= 90)
    n_ep = 1 + two.astype(np.int64) + three.astype(np.int64)
    mid = lo + (hi - lo) // 2
    t1 = np.where(three, uniform_int(rng, lo, np.maximum(mid, lo)), uniform_int(rng, lo, np.maximum(hi, lo)))
    t2 = uniform_int(rng, np.minimum(t1 + 35, hi), np.maximum(hi, t1 + 35))
    g1 = rng.integers(0, 21, n)
    g2 = rng.integers(0, 21, n)
    return n_ep, t1, t2, g1, g2


def _units_and_agencies(
    journeys: Journeys,
    areas: Areas,
    ej: np.ndarray,
    ek: np.ndarray,
    reason: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Unit and agency of each episode: transfers (83) move area now and then, custody transfers
    (84) stay; usually the person's usual agency in the area, a transfer goes elsewhere."""
    n, ne = len(journeys.person), len(ej)
    unit = journeys.unit[ej].copy()
    moved = (ek >= 1) & (rng.random(ne) < 0.10)
    prev_reason = np.concatenate([[0], reason[:-1]])
    moved &= prev_reason == 83
    moved_j = np.zeros(n, dtype=bool)
    moved_j[ej[moved & (ek == 1)]] = True
    new_unit = choice(rng, areas.unit_weight[0], n)
    unit = np.where((ek >= 1) & moved_j[ej], new_unit[ej], unit)
    nag = areas.unit_agencies[unit]
    pid = journeys.person[ej]
    pref = (pid * 2654435761 + unit * 40503) % nag
    loc = np.where(rng.random(ne) < 0.75, pref, rng.integers(0, 1 << 30, ne) % nag)
    for k in (1, 2):
        sel = np.flatnonzero(ek == k)
        prev = loc[sel - 1]
        same = unit[sel] == unit[sel - 1]
        step = 1 + rng.integers(0, 1 << 30, len(sel)) % np.maximum(nag[sel] - 1, 1)
        loc[sel] = np.where(same, (prev + step) % nag[sel], loc[sel])
    return unit, areas.unit_first_agency[unit] + loc


def _dates(
    journeys: Journeys, ej: np.ndarray, ek: np.ndarray, ref: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triage, first offered and first intervention dates of each episode."""
    ne = len(ej)
    s = journeys.start[ej]
    init = journeys.initiated
    intervention_lag = np.where(init, journeys.intervention_lag, 0)
    tri = np.where(ek == 0, s + journeys.triage_lag[ej], ref + rng.integers(0, 6, ne))
    tri = np.where(journeys.triaged[ej] & ((ek == 0) | (rng.random(ne) < 0.8)), tri, NA)
    iv_lag = rng.integers(0, 8, ne)
    iv = np.where(ek == 0, np.where(init[ej], s + intervention_lag[ej], NA), ref + iv_lag)
    off0 = np.where(journeys.offer_lag[ej] == NA, NA, s + journeys.offer_lag[ej])
    offk = np.where(rng.random(ne) < 0.9, ref + np.floor(rng.random(ne) * (iv_lag + 1)).astype(np.int64), NA)
    return tri, np.where(ek == 0, off0, offk), iv


def order_episodes(episodes: Episodes, rng: np.random.Generator) -> EpisodeOrder:
    """Output order of the episodes (by referral date) and their ids."""
    ne = len(episodes.journey)
    order = date_order(rng, episodes.referral)
    rank = np.empty(ne, dtype=np.int64)
    rank[order] = np.arange(ne)
    return EpisodeOrder(order=order, rank=rank, ids=id_array("EP", np.arange(1, ne + 1), 8))
