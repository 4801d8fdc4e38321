"""Areas, the units episodes are recorded in (Kent split into West and East), and their agencies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from pbr.synthetic.columns import bool_col, code_col, id_array, string_col
from pbr.synthetic.params import SyntheticParams
from pbr.synthetic.reference import AREAS, PILOT_AREAS, REGION_NEED


@dataclass
class Areas:
    """The 149 areas (by name) and the units: every area, plus East Kent as a unit of its own.

    Unit ``k`` < 149 is area ``k`` (Kent's unit is West Kent, the pilot sub-area); the last
    unit is East Kent. Agencies are numbered unit by unit.
    """

    name: list[str]
    region: list[str]
    #: area codes E0001...
    code: list[str]
    #: pilot area (Kent included)
    pilot: np.ndarray
    #: index of Kent
    kent: int
    #: area of each unit
    unit_area: np.ndarray
    #: sub-area of each unit: 0 none, 1 West Kent, 2 East Kent
    unit_sub: np.ndarray
    #: relative size of each unit, [cohort (drug, alcohol), unit]
    unit_weight: np.ndarray
    #: group of a unit for counts and for the planted effect: 1 pilot, 0 other, 2 excluded
    unit_group: np.ndarray
    #: the unit carries the planted effect (group 1)
    unit_treated: np.ndarray
    #: number of agencies of each unit (2-8)
    unit_agencies: np.ndarray
    #: number of each unit's first agency
    unit_first_agency: np.ndarray
    #: agency codes, by agency number
    agency_codes: pa.Array

    @property
    def n_agencies(self) -> int:
        """Number of agencies."""
        return int(self.unit_agencies.sum())

    def register_weights(self) -> np.ndarray:
        """Population-like weight of each area: where unrelated register records live and clients move."""
        return np.bincount(self.unit_area, weights=self.unit_weight[1], minlength=len(self.code))


def build_areas(params: SyntheticParams, rng: np.random.Generator) -> Areas:
    """The areas and units, with sizes (population x need, with noise) and agencies."""
    rows = sorted(AREAS, key=lambda r: r.name)
    if len(rows) != 149:  # pragma: no cover - guards the table (data/areas.csv)
        raise AssertionError(f"expected 149 areas, got {len(rows)}")
    names = [r.name for r in rows]
    pop = np.array([r.population for r in rows])
    need = np.array([r.need * REGION_NEED[r.region] for r in rows])
    pilot = np.array([n in PILOT_AREAS for n in names])
    w_drug = pop * need * np.exp(rng.normal(0, 0.2, len(rows)))
    w_alc = pop * np.sqrt(need) * np.exp(rng.normal(0, 0.2, len(rows)))
    kent = names.index("Kent")
    # units: every area, Kent split into West (sub 1) and East (sub 2)
    kw = params.counts.kent_west_share
    unit_area = np.append(np.arange(len(rows)), kent)
    unit_sub = np.append(np.zeros(len(rows), dtype=np.int64), 2)
    unit_sub[kent] = 1
    wd = np.append(w_drug, w_drug[kent] * (1 - kw))
    wa = np.append(w_alc, w_alc[kent] * (1 - kw))
    wd[kent] *= kw
    wa[kent] *= kw
    grp = pilot[unit_area].astype(np.int64)
    east = len(rows)
    if params.pilot_rule == "sub_area_pilot_rest_other":
        grp[east] = 0
    elif params.pilot_rule == "sub_area_pilot_rest_excluded":
        grp[east] = 2
    # agencies: 2-8 per unit, more in bigger units
    share = wd / wd.sum()
    n_ag = np.clip(np.round(2 + share * 400), 2, 8).astype(np.int64)
    return Areas(
        name=names,
        region=[r.region for r in rows],
        code=[f"E{i + 1:04d}" for i in range(len(rows))],
        pilot=pilot,
        kent=kent,
        unit_area=unit_area,
        unit_sub=unit_sub,
        unit_weight=np.vstack([wd, wa]),
        unit_group=grp,
        unit_treated=grp == 1,
        unit_agencies=n_ag,
        unit_first_agency=np.concatenate([[0], np.cumsum(n_ag)[:-1]]),
        agency_codes=id_array("AG", 1000 + rng.permutation(int(n_ag.sum())) + 1, 4),
    )


def sub_area_codes(areas: Areas, units: np.ndarray) -> np.ndarray:
    """Sub-area code of each unit for :func:`~pbr.synthetic.columns.code_col` with
    ``("", "west_kent", "east_kent")``: -1 (none), 1 or 2."""
    return np.where(areas.unit_sub[units] == 0, -1, areas.unit_sub[units])


def areas_table(areas: Areas) -> pd.DataFrame:
    """The contract table ``areas``."""
    n = len(areas.code)
    sub = np.full(n, -1)
    sub[areas.kent] = 0
    return pd.DataFrame(
        {
            "area_code": string_col(np.array(areas.code)),
            "area_name": string_col(np.array(areas.name)),
            "region": string_col(np.array(areas.region)),
            "pilot": bool_col(areas.pilot),
            "pilot_sub_area": code_col(("west_kent",), sub),
        }
    )
