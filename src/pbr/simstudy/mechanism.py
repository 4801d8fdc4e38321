"""The simulation study's data-generating mechanism: a fixed study geometry per scenario, and
replicates that redraw the shocks, the effects and the outcome on it.

A replicate is an analysis table the fit stage reads (``area_code``, ``pilot``, ``post``,
``did``, ``quarter``, ``half_year``, ``start_date``, the covariate ``sex`` and the outcome
``y``), so every method runs through the pipeline's own functions. Its journeys come
collapsed: one row per area x quarter x sex x outcome with their number in the frequency
weight column (:data:`pbr.fit.counts.FREQ`), which every fitting function weights by, so the
results are those of the journeys one by one (tests/unit/test_frequency_weights.py) at a
cost that does not grow with the number of journeys: 150,000 journeys are about 9,000 rows.
Hand-written rather than the synthetic generator (:mod:`pbr.synthetic`): the generator makes
registers, identifiers and linkage for one world, minutes per run, while a replicate here is
one outcome column on a fixed design, milliseconds. The area sizes and the pilot set are the
generator's (:func:`pbr.synthetic.areas.build_areas`), so both describe the same study.

The geometry (areas, sizes, treated set, journeys per cell, covariates, area effects,
intercept) is drawn once per scenario from ``seed``; a replicate ``r`` draws from
``[seed, r]`` only, so replicates are independent of how they are split into chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from pbr.fit.counts import FREQ
from pbr.simstudy.scenarios import Scenario
from pbr.synthetic.areas import build_areas
from pbr.synthetic.params import SyntheticParams

#: The study's quarters: 16 from April 2010, post from quarter 8 (April 2012).
QUARTERS, POST_FROM, ORIGIN = 16, 8, pd.Timestamp("2010-04-01")
#: Covariates of the outcome model (and of every fit): levels and their log-odds effects. One,
#: so that a replicate has few distinct rows (the covariates are not what the study is about).
COVARIATES = {"sex": ["F", "M"]}
_COVARIATE_EFFECTS = {"sex": np.array([0.0, -0.2])}
AREA_SD, TREND_PER_QUARTER, N_TREATED = 0.4, 0.02, 8


@dataclass(frozen=True)
class Geometry:
    """The fixed part of a scenario: areas, sizes, treated set, the journeys' cells and the linear
    predictor without shocks and effects."""

    area_codes: np.ndarray  # (G,) str
    weights: np.ndarray  # (G,) relative area sizes (journeys)
    treated: np.ndarray | None  # (G,) bool; None: drawn in every replicate (exchangeable)
    frame: pd.DataFrame  # one row per cell: area, quarter, half_year, start_date, post, covariates
    area: np.ndarray  # (C,) area index of each cell
    journeys: np.ndarray  # (C,) journeys in each cell
    lp0: np.ndarray  # (C,) intercept + area effect + trend + covariates


def area_sizes(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(area codes, drug-cohort sizes, published pilots, Kent's index) from the synthetic generator."""
    areas = build_areas(SyntheticParams(), np.random.default_rng(seed))
    sizes = np.bincount(areas.unit_area, weights=areas.unit_weight[0], minlength=len(areas.code))
    return np.array(areas.code), sizes, np.asarray(areas.pilot, dtype=bool), int(areas.kent)


def treated_areas(
    geometry: str, sizes: np.ndarray, pilots: np.ndarray, kent: int
) -> tuple[np.ndarray | None, np.ndarray]:
    """(treated areas (G,) bool or None when drawn per replicate, sizes) of a geometry
    (:data:`pbr.simstudy.scenarios.GEOMETRIES`); ``dominant`` rescales Kent to 40% of treated journeys."""
    order = np.argsort(sizes, kind="stable")
    pick = np.zeros(len(sizes), dtype=bool)
    if geometry == "published":
        return pilots.copy(), sizes
    if geometry == "exchangeable":
        return None, sizes
    if geometry == "largest":
        pick[order[-N_TREATED:]] = True
    elif geometry == "smallest":
        pick[order[:N_TREATED]] = True
    elif geometry == "dominant":
        sizes = sizes.copy()
        others = sizes[pilots].sum() - sizes[kent]
        sizes[kent] = others * 0.4 / 0.6
        return pilots.copy(), sizes
    elif geometry == "seven":
        pick = pilots.copy()
        pick[np.flatnonzero(pilots)[np.argmax(sizes[pilots])]] = False
    elif geometry == "four":
        idx = np.flatnonzero(pilots)
        pick[idx[np.argsort(sizes[idx])[-4:]]] = True
    else:  # pragma: no cover - Scenario checks the name
        raise ValueError(geometry)
    return pick, sizes


def build_geometry(scenario: Scenario, seed: int) -> Geometry:
    """The scenario's geometry, drawn from ``seed`` (the same for every replicate): each journey's
    area (by size), quarter and covariates, counted by cell."""
    codes, sizes, pilots, kent = area_sizes(seed)
    treated, sizes = treated_areas(scenario.geometry, sizes, pilots, kent)
    rng = np.random.default_rng([seed, 1])
    n = scenario.journeys
    keys = [rng.choice(len(codes), size=n, p=sizes / sizes.sum()), rng.integers(0, QUARTERS, n)]
    keys += [rng.integers(0, len(levels), n) for levels in COVARIATES.values()]
    cells, counts = np.unique(np.column_stack(keys), axis=0, return_counts=True)
    area, quarter = cells[:, 0], cells[:, 1]
    lp = AREA_SD * rng.normal(size=len(codes))[area] + TREND_PER_QUARTER * quarter
    cols = {}
    for j, (name, levels) in enumerate(COVARIATES.items()):
        cols[name] = np.asarray(levels)[cells[:, 2 + j]]
        lp = lp + _COVARIATE_EFFECTS[name][cells[:, 2 + j]]
    lp = lp + _intercept(lp, counts, scenario.prevalence)
    frame = pd.DataFrame(
        {
            "area_code": codes[area],
            "quarter": quarter.astype("int64"),
            "half_year": (quarter // 2).astype("int64"),
            "start_date": ORIGIN + pd.to_timedelta(quarter * 91, unit="D"),
            "post": (quarter >= POST_FROM).astype("int64"),
            **cols,
        }
    )
    return Geometry(codes, sizes, treated, frame, area, counts.astype("int64"), lp)


def _intercept(lp: np.ndarray, counts: np.ndarray, prevalence: float) -> float:
    """The shift of ``lp`` whose mean expit over the journeys (``counts`` per cell) is ``prevalence``."""
    return float(
        optimize.brentq(lambda c: np.average(special.expit(lp + c), weights=counts) - prevalence, -30.0, 30.0)
    )


def area_effects(
    scenario: Scenario, treated: np.ndarray, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(G,) log OR of each area after the start: the scenario's effect in the treated areas
    (``log_or``, pilot-to-pilot sd ``effect_sd``, and ``opposite``: alternate signs in size
    order, the negative side scaled so the journey-weighted mean is ``log_or``), 0 elsewhere."""
    effect = np.zeros(len(treated))
    idx = np.flatnonzero(treated)
    effect[idx] = scenario.log_or + scenario.effect_sd * rng.normal(size=len(idx))
    if scenario.opposite:
        ranked = idx[np.argsort(weights[idx])]
        plus, minus = ranked[0::2], ranked[1::2]
        effect[plus] += scenario.opposite
        effect[minus] -= scenario.opposite * weights[plus].sum() / weights[minus].sum()
    return effect


def shocks(scenario: Scenario, n_areas: int, treated: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(G, 8) area x half-year shocks: normal sd ``shock_sd``, AR(1) over half-years with
    ``ar_rho`` (stationary), times ``pilot_post_sd_ratio`` in treated areas after the start."""
    n_half = QUARTERS // 2
    e = rng.normal(size=(n_areas, n_half))
    u = np.empty_like(e)
    u[:, 0] = e[:, 0]
    rho = scenario.ar_rho
    for h in range(1, n_half):
        u[:, h] = rho * u[:, h - 1] + np.sqrt(1 - rho**2) * e[:, h]
    u *= scenario.shock_sd
    u[np.ix_(treated, np.arange(POST_FROM // 2, n_half))] *= scenario.pilot_post_sd_ratio
    return u


def replicate(geometry: Geometry, scenario: Scenario, seed: int, r: int, scale: int = 1) -> pd.DataFrame:
    """Replicate ``r``: the geometry's cells (each with ``scale`` times its journeys, for the large
    runs of :mod:`pbr.simstudy.truth`) with ``pilot``, ``did``, the outcome ``y``, its probability
    ``p_true`` and the journeys of each cell x outcome row in :data:`~pbr.fit.counts.FREQ`."""
    rng = np.random.default_rng([seed, 2, r])
    g = len(geometry.area_codes)
    treated = geometry.treated
    if treated is None:
        treated = np.zeros(g, dtype=bool)
        treated[rng.choice(g, N_TREATED, replace=False)] = True
    effect = area_effects(scenario, treated, geometry.weights, rng)
    u = shocks(scenario, g, treated, rng)
    frame, area = geometry.frame, geometry.area
    quarter = frame["quarter"].to_numpy()
    post = quarter >= POST_FROM
    pilot = treated[area]
    lp = (
        geometry.lp0
        + u[area, quarter // 2]
        + post * effect[area]
        + scenario.pretrend * pilot * (quarter - POST_FROM + 0.5) / 4
    )
    p = special.expit(lp)
    n = geometry.journeys * scale
    events = rng.binomial(n, p)
    cells = frame.assign(pilot=pilot, did=(pilot & post).astype("int64"), p_true=p)
    out = pd.concat(
        [cells.assign(y=1, **{FREQ: events}), cells.assign(y=0, **{FREQ: n - events})], ignore_index=True
    )
    out = out.loc[out[FREQ].to_numpy() > 0].reset_index(drop=True)
    return out.assign(y=pd.array(out["y"].to_numpy(), dtype="Int64"))
