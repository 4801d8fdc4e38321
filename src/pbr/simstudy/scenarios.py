"""The simulation study's scenarios: a realistic base and one departure at a time (issue #20).

Every scenario is a :class:`Scenario`; :data:`SCENARIOS` is the vocabulary (name -> the
fields it changes from :data:`BASE`, and the aim in words), defined here once. The config
(``simulation.scenarios``) picks which to run; ``simulation.journeys`` sets the base size.

The base (Morris, White and Crowther 2019: aims, data-generating mechanisms, estimands,
methods, performance measures):
- areas: the generator's 149 areas with their drug-cohort sizes (population x need, with
  the generator's noise; :func:`pbr.synthetic.areas.build_areas`) and the published eight
  pilots (Kent the 3rd largest, Bracknell Forest among the smallest);
- journeys: ``journeys`` in all, spread over areas by size and uniformly over the 16
  quarters April 2010 - March 2014, post from April 2012 (quarter 8);
- outcome: logit of an area effect (normal, sd 0.4), a linear trend, one covariate
  (sex), an area x half-year shock (normal, sd ``shock_sd``) and the effect on
  pilot post-period journeys; the intercept set so that the mean outcome is ``prevalence``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

#: How the treated areas are chosen (:func:`pbr.simstudy.mechanism.treated_areas`).
GEOMETRIES = ("published", "exchangeable", "largest", "smallest", "dominant", "seven", "four")


@dataclass(frozen=True)
class Scenario:
    """One data-generating mechanism (the fields of the base unless a departure sets them)."""

    name: str = "base"
    aim: str = "realistic base: the published pilots, the generator's area sizes, shocks sd 0.1"
    geometry: str = "published"  # one of GEOMETRIES
    journeys: int = 150000  # journeys in the model (all areas, 16 quarters; about scale 0.5)
    prevalence: float = 0.4  # mean outcome
    shock_sd: float = 0.1  # area x half-year shock sd (logit scale)
    ar_rho: float = 0.0  # AR(1) correlation of an area's shocks over half-years
    pilot_post_sd_ratio: float = 1.0  # shock sd multiplier in pilot areas after the start
    log_or: float = 0.0  # planted DiD log odds ratio (mean over pilots)
    effect_sd: float = 0.0  # sd of the pilots' log ORs around log_or
    opposite: float = 0.0  # pilots alternate +d / -d (weighted to average 0) on top of log_or
    pretrend: float = 0.0  # differential linear trend in the pilots, log odds per year (all periods)

    def __post_init__(self) -> None:
        if self.geometry not in GEOMETRIES:
            raise ValueError(
                f"scenario {self.name!r}: geometry must be one of {GEOMETRIES}, not {self.geometry!r}"
            )
        if not 0 < self.prevalence < 1:
            raise ValueError(f"scenario {self.name!r}: prevalence must be in (0, 1), not {self.prevalence}")
        if self.journeys < 1000:
            raise ValueError(f"scenario {self.name!r}: journeys must be at least 1000, not {self.journeys}")

    @property
    def null(self) -> bool:
        """No effect anywhere and no pre-trend: every test of no effect should reject at its level."""
        return self.log_or == 0 and self.effect_sd == 0 and self.opposite == 0 and self.pretrend == 0


BASE = Scenario()

#: name -> (aim, the fields it changes from the base). One departure at a time.
SCENARIOS: dict[str, tuple[str, dict]] = {
    "base": (BASE.aim, {}),
    "exchangeable": (
        "8 pilots drawn at random in every replicate (RI's assumption holds)",
        {"geometry": "exchangeable"},
    ),
    "largest": ("the 8 largest areas treated", {"geometry": "largest"}),
    "smallest": ("the 8 smallest areas treated", {"geometry": "smallest"}),
    "dominant": ("one pilot (Kent) holds 40% of treated journeys", {"geometry": "dominant"}),
    "seven": ("7 pilots: the largest left out (the leave-one-out case)", {"geometry": "seven"}),
    "four": ("4 pilots: a rare outcome's areas without events dropped", {"geometry": "four"}),
    "shock_0": ("no area x half-year shocks", {"shock_sd": 0.0}),
    "shock_0.3": ("large area x half-year shocks (sd 0.3)", {"shock_sd": 0.3}),
    "ar1": ("shocks AR(1) within area over half-years (rho 0.5)", {"ar_rho": 0.5}),
    "pilot_post_var": ("shock sd doubled in the pilots after the start", {"pilot_post_sd_ratio": 2.0}),
    "prevalence_0.3": ("prevalence 30%", {"prevalence": 0.3}),
    "prevalence_0.005": ("a rare outcome (prevalence 0.5%)", {"prevalence": 0.005}),
    "or_0.85": ("homogeneous OR 0.85", {"log_or": -0.16251892949777494}),
    "or_0.6": ("homogeneous OR 0.6", {"log_or": -0.5108256237659907}),
    "heterogeneous": (
        "pilots' log ORs vary (sd 0.3) around OR 0.85",
        {"log_or": -0.16251892949777494, "effect_sd": 0.3},
    ),
    "weak_null": ("opposite effects (log OR +-0.3) that average zero", {"opposite": 0.3}),
    "pretrend": ("a differential linear trend in the pilots, 0.05 log odds per year", {"pretrend": 0.05}),
}


def scenario(name: str, journeys: int | None = None) -> Scenario:
    """The scenario ``name`` of :data:`SCENARIOS` (``journeys`` overriding the base size)."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown simulation scenario {name!r}; known: {', '.join(SCENARIOS)}")
    aim, changes = SCENARIOS[name]
    size = {} if journeys is None else {"journeys": int(journeys)}
    return dataclasses.replace(BASE, name=name, aim=aim, **(size | changes))
