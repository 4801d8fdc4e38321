"""Realised identifier errors by group x period (evaluation only): what ``noise.differential``
planted, measured on an extract.

NDTMS attributor errors are measured per (agency, client) record against the extract's
error-free twin (:func:`without_ndtms_errors`: the same settings with the four NDTMS error
rates at 0). The twin's tables are the extract's except the NDTMS attributors and client ids,
because those errors draw from a random stream of their own and episode ids do not. Register
area moves are measured on the clients' register copies against the area of their last true
journey. Each row is a cell, with the rules of :class:`~pbr.synthetic.params.DifferentialNoise`.
"""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pandas as pd

from pbr.synthetic.generator import SyntheticExtract
from pbr.synthetic.params import DIFFERENTIAL_CELLS, NDTMS_ERROR_RATES, SyntheticParams


def without_ndtms_errors(p: SyntheticParams) -> SyntheticParams:
    """``p`` with the four NDTMS attributor error rates at 0 (the error-free twin's settings)."""
    zero: dict[str, typing.Any] = dict.fromkeys(NDTMS_ERROR_RATES, 0.0)
    return dataclasses.replace(p, noise=dataclasses.replace(p.noise, **zero))


def _cell(pilot: pd.Series, post: pd.Series) -> pd.Series:
    """Cell name of each row (``pilot_post``, ...)."""
    index = 2 * pilot.astype(int).to_numpy() + post.astype(int).to_numpy()
    return pd.Series(np.asarray(DIFFERENTIAL_CELLS)[index], index=pilot.index)


def _post_start(extract: SyntheticExtract) -> pd.Timestamp:
    return pd.Timestamp(extract.effects["params"]["dates"]["post_start"])


def episode_pilot(extract: SyntheticExtract) -> pd.Series:
    """Per episode: its unit carries the planted effect (East Kent only under ``whole_area_pilot``)."""
    ep = extract.tables["ndtms_episodes"]
    pilot = ep["area_code"].map(extract.tables["areas"].set_index("area_code")["pilot"]).astype(bool)
    east = ep["sub_area"].eq("east_kent").fillna(False).astype(bool)
    return pilot & ~(east & (extract.effects["params"]["pilot_rule"] != "whole_area_pilot"))


def ndtms_error_shares(extract: SyntheticExtract, clean: SyntheticExtract) -> pd.DataFrame:
    """Per cell: NDTMS records and the share with each attributor error, against ``clean``.

    A record is an (agency, client) pair; its cell is its agency's (pilot or not) and its first
    referral's (before or from ``post_start``). Columns: ``records``, ``dob_wrong``,
    ``initial_wrong`` (recorded initials differ, neither missing), ``initials_missing``,
    ``sex_missing``, ``any_error``.
    """
    ep = extract.tables["ndtms_episodes"]
    true = clean.tables["ndtms_episodes"].set_index("episode_id").loc[ep["episode_id"]].reset_index()
    cols = ["initial_first", "initial_surname"]
    rec = pd.DataFrame(
        {
            "agency_id": ep["agency_id"],
            "client_id": ep["client_id"],
            "referral": ep["referral_date"],
            "pilot": episode_pilot(extract),
            "dob_wrong": (ep["date_of_birth"] != true["date_of_birth"]).to_numpy(dtype=bool),
            "initial_wrong": ep[cols].ne(true[cols]).any(axis=1).fillna(False).to_numpy(dtype=bool)
            & ep["initial_first"].notna().to_numpy(),
            "initials_missing": ep["initial_first"].isna().to_numpy(),
            "sex_missing": ep["sex"].isna().to_numpy(),
        }
    )
    errors = ["dob_wrong", "initial_wrong", "initials_missing", "sex_missing"]
    g = rec.groupby(["agency_id", "client_id"], sort=False)
    per_record = g[[*errors, "pilot"]].first().assign(post=g["referral"].min() >= _post_start(extract))
    per_record["any_error"] = per_record[errors].any(axis=1)
    per_record["cell"] = _cell(per_record["pilot"], per_record["post"])
    out = per_record.groupby("cell")[[*errors, "any_error"]].mean()
    return out.assign(records=per_record.groupby("cell").size())[["records", *errors, "any_error"]]


def register_move_shares(extract: SyntheticExtract) -> pd.DataFrame:
    """Per cell: clients' register copies with an area (ONS deaths, PNC identities) and the share
    recorded outside the area of the client's last true journey, whose cell is the copy's."""
    j = extract.truth["journeys"].sort_values(["start_date", "true_journey_id"], kind="mergesort")
    last = j.groupby("true_person_id").last()
    last = last.assign(cell=_cell(last["pilot"].astype(bool), last["start_date"] >= _post_start(extract)))
    deaths = extract.tables["ons_deaths"].merge(extract.truth["death_person"], on="death_id")
    offences = extract.tables["pnc_offences"].merge(extract.truth["offence_person"], on="offence_id")
    copies = pd.concat(
        [
            deaths[["true_person_id", "area_code"]],
            offences.drop_duplicates("pnc_id")[["true_person_id", "area_code"]],
        ]
    ).dropna()
    copies = copies.merge(
        last[["area_code", "cell"]], left_on="true_person_id", right_index=True, suffixes=("", "_home")
    )
    copies["moved"] = (copies["area_code"] != copies["area_code_home"]).to_numpy(dtype=bool)
    g = copies.groupby("cell")["moved"]
    return pd.DataFrame({"copies": g.size(), "moved": g.mean()})
