"""Simulated journeys for the fit tests that need a DiD with a known effect (pilots, power)."""

import numpy as np
import pandas as pd
from scipy import special


def did_frame(area, quarter, pilot, post, age, sex, y, **extra) -> pd.DataFrame:
    """The model frame of simulated journeys: area codes, pilot, post and DiD indicators, quarter,
    any ``extra`` columns (e.g. ``half_year``, ``start_date``), the two covariates and the outcome
    ``y`` (as the fit functions read them)."""
    return pd.DataFrame(
        {
            "area_code": [f"E{a:03d}" for a in area],
            "pilot": pd.array(pilot, dtype="boolean"),
            "post": post.astype("int64"),
            "did": (pilot & post).astype("int64"),
            "quarter": quarter,
            **extra,
            "age_group": age,
            "sex": sex,
            "y": pd.array(y, dtype="Int64"),
        }
    )


def simulate_journeys(n=3000, n_areas=30, n_pilot=8, log_or=0.0, seed=1, pretrend=0.0):
    """Journeys by area x quarter (post from quarter 8): unequal areas, area x half-year shocks,
    two covariates (age_group, sex), a planted DiD odds ratio exp(log_or) and a differential
    linear trend of the pilots, ``pretrend`` log odds per year (every quarter); outcome ``y``."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, 0.6, n_areas)
    area = rng.choice(n_areas, n, p=size / size.sum())
    quarter = rng.integers(0, 16, n)
    pilot = area < n_pilot
    post = quarter >= 8
    age = rng.choice(["18-29", "30-39", "40+"], n)
    sex = rng.choice(["F", "M"], n, p=[0.3, 0.7])
    lp = (
        -0.8
        + rng.normal(0, 0.4, n_areas)[area]
        + 0.03 * quarter
        + 0.3 * (age == "40+")
        + rng.normal(0, 0.1, (n_areas, 8))[area, quarter // 2]
        + log_or * (pilot & post)
        + pretrend * pilot * quarter / 4
    )
    y = (rng.random(n) < special.expit(lp)).astype(int)
    return did_frame(area, quarter, pilot, post, age, sex, y)
