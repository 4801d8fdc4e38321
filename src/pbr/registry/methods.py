"""The inference methods of the tidy results table, each named once, and their measured sizes.

An entry gives a method's ``name`` (the results' ``method`` column), its ``label`` and
``short`` label in the report, its ``family`` (logit or linear), the ``scale`` of its
estimate and its ``role`` in the report:

- ``verdict``: may decide a verdict (the logit score bootstrap, the restricted LPM wild
  bootstrap, the Ibragimov-Müller and Canay-Romano-Shaikh tests over the pilots, the
  studentised randomisation inference as a secondary check);
- ``reference``: shown beside, never decides (CRV1, which over-rejects with eight treated
  areas; point estimates without a test, such as the per-pilot DiDs and the ATT; Mason
  2015's random-intercept logit, :mod:`pbr.fit.mixed`, whose size is not measured);
- ``exchangeable_only``: raw-coefficient randomisation inference, shown labelled "valid only
  if the pilots were exchangeable with other areas", never in a verdict nor in the check
  of the planted effects (it is invalid when the pilots differ in size from the others).

:func:`measured_sizes` reads the null rejection rates measured for these methods
(``data/method_sizes.csv``: method, check, scenario, replicates, rejection_rate, mc_se,
command), written from the benchmarks, never by hand; the report prints them beside every
verdict and says "size not measured" where the file has no entry.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pbr.errors import PipelineError

log = logging.getLogger(__name__)

ROLES = ("verdict", "reference", "exchangeable_only")
#: The note every raw-coefficient RI result carries in the report.
EXCHANGEABLE_NOTE = "valid only if the pilots were exchangeable with other areas"


@dataclass(frozen=True)
class Method:
    """One inference method (see the module docstring)."""

    name: str
    label: str
    short: str
    role: str
    scale: str = ""  # '' = by family: odds_ratio (logit), risk_difference (linear)

    @property
    def family(self) -> str:
        """'logit' for logit_* methods, else 'linear'."""
        return "logit" if self.name.startswith("logit") else "linear"

    @property
    def reporting_scale(self) -> str:
        """The scale of the method's estimate: odds_ratio, risk_difference (or as given)."""
        return self.scale or ("odds_ratio" if self.family == "logit" else "risk_difference")


def _m(name: str, label: str, short: str, role: str, scale: str = "") -> Method:
    return Method(name, label, short, role, scale)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        _m("logit_crv1", "Logit, CRV1 cluster-robust", "CRV1 cluster-robust", "reference"),
        _m(
            "logit_score_wcb",
            "Logit, wild cluster score bootstrap",
            "wild cluster score bootstrap",
            "verdict",
        ),
        _m(
            "logit_att_score_wcb",
            "Logit ATT (probability scale), score bootstrap interval",
            "ATT, score bootstrap",
            "reference",
            "risk_difference",
        ),
        _m(
            "logit_ri",
            f"Logit, randomisation inference (coefficient; {EXCHANGEABLE_NOTE})",
            "RI (coefficient)",
            "exchangeable_only",
        ),
        _m(
            "logit_ri_t",
            "Logit, randomisation inference (studentised)",
            "RI (studentised)",
            "verdict",
        ),
        _m(
            "logit_ri_t_size",
            "Logit, randomisation inference (studentised, within size strata)",
            "RI (studentised, size strata)",
            "verdict",
        ),
        _m(
            "logit_re",
            "Logit with a random area intercept (Mason 2015's model), maximum likelihood, model-based Wald interval",
            "random-intercept logit",
            "reference",
        ),
        _m("lpm_crv1", "LPM, CRV1 cluster-robust", "CRV1 cluster-robust (LPM)", "reference"),
        _m(
            "lpm_wcb_webb",
            "LPM, wild cluster restricted bootstrap",
            "wild cluster restricted bootstrap (LPM)",
            "verdict",
        ),
        _m(
            "lpm_ri",
            f"LPM, randomisation inference (coefficient; {EXCHANGEABLE_NOTE})",
            "RI (coefficient, LPM)",
            "exchangeable_only",
        ),
        _m("lpm_ri_t", "LPM, randomisation inference (studentised)", "RI (studentised, LPM)", "verdict"),
        _m(
            "lpm_ri_t_size",
            "LPM, randomisation inference (studentised, within size strata)",
            "RI (studentised, size strata, LPM)",
            "verdict",
        ),
        _m("logit_per_pilot", "Logit, one pilot area against all others", "per-pilot DiD", "reference"),
        _m("lpm_per_pilot", "LPM, one pilot area against all others", "per-pilot DiD (LPM)", "reference"),
        _m(
            "logit_ibragimov_mueller",
            "Logit, Ibragimov-Müller t over the pilots",
            "Ibragimov-Müller t",
            "verdict",
        ),
        _m(
            "lpm_ibragimov_mueller",
            "LPM, Ibragimov-Müller t over the pilots",
            "Ibragimov-Müller t (LPM)",
            "verdict",
        ),
        _m(
            "logit_canay_romano_shaikh",
            "Logit, Canay-Romano-Shaikh sign-change test",
            "Canay-Romano-Shaikh",
            "verdict",
        ),
        _m(
            "lpm_canay_romano_shaikh",
            "LPM, Canay-Romano-Shaikh sign-change test",
            "Canay-Romano-Shaikh (LPM)",
            "verdict",
        ),
    )
}
#: The order of the methods in the report's inference tables, the headline's family first, and
#: what each shows there (issue 19: raw-coefficient RI is invalid when the pilots differ in
#: size from the other areas; the studentised RI is a secondary check; CRV1 over-rejects).
INFERENCE_ROLES = {
    "logit_score_wcb": "headline family: few-cluster interval and p",
    "logit_att_score_wcb": "absolute effect: ATT among pilot post-period journeys, headline interval",
    "lpm_wcb_webb": "few-cluster interval and p (LPM)",
    "logit_ri_t": "secondary check (studentised randomisation inference)",
    "lpm_ri_t": "secondary check (studentised randomisation inference)",
    "logit_ri_t_size": "sensitivity: re-assignments among areas of similar size",
    "lpm_ri_t_size": "sensitivity: re-assignments among areas of similar size",
    "logit_ri": "valid only if the pilots were exchangeable with other areas",
    "lpm_ri": "valid only if the pilots were exchangeable with other areas",
    "logit_crv1": "for reference only: over-rejects with few treated areas",
    "lpm_crv1": "for reference only: over-rejects with few treated areas",
}
METHOD_LABELS: dict[str, str] = {k: m.label for k, m in METHODS.items()}
SHORT_LABELS: dict[str, str] = {k: m.short for k, m in METHODS.items()}


def method_label(name: str) -> str:
    """The report's label of a method (its name when unknown)."""
    return METHOD_LABELS.get(name, name)


def role_of(name: str) -> str:
    """The role of a method: verdict, reference or exchangeable_only (an unknown method is a
    reference: it never decides a verdict)."""
    m = METHODS.get(name)
    return m.role if m else "reference"


def may_decide(name: str) -> bool:
    """Whether a method may decide a verdict (role ``verdict``)."""
    return role_of(name) == "verdict"


#: Tests whose p-value has a floor set by the number of pilot areas (sign changes of q per-pilot
#: estimates, statistic |t|: 2 of the 2^q sign vectors, the observed and its mirror, are as extreme).
SIGN_CHANGE_TESTS = ("logit_canay_romano_shaikh", "lpm_canay_romano_shaikh")
#: Randomisation inference over every placing of the pilots among all areas (no strata).
REASSIGNMENT_TESTS = ("logit_ri", "logit_ri_t", "lpm_ri", "lpm_ri_t")


def p_floor(name: str, n_clusters: int | None, n_treated: int) -> float:
    """The smallest p-value ``name`` can give with ``n_treated`` pilot areas (of ``n_clusters``
    areas; None where unknown, as for the sign-change tests, which do not need it): 2 / 2^q for
    the sign-change tests, 1 / C(G, q) for randomisation inference over all placings (its
    size-strata variant has more constraints: the fit stage checks it), 0 for the others. A test
    whose floor is above the level cannot reject, so it cannot decide a verdict."""
    q = int(n_treated)
    if name in SIGN_CHANGE_TESTS:
        return 2.0 / 2**q if q > 0 else 1.0
    if name in REASSIGNMENT_TESTS and n_clusters is not None and 0 < q < int(n_clusters):
        return 1.0 / math.comb(int(n_clusters), q)
    return 0.0


# ---------------------------------------------------------------------------------------
# Measured sizes

SIZES_CSV = Path(__file__).resolve().parent / "data" / "method_sizes.csv"
SIZE_COLUMNS = ("method", "check", "scenario", "replicates", "rejection_rate", "mc_se", "command")


class SizesError(PipelineError):
    """The measured-sizes file is malformed (the message names the file and the problem)."""


def measured_sizes(path: str | Path | None = None) -> pd.DataFrame:
    """The measured null rejection rates (:data:`SIZE_COLUMNS`), one row per method x check x
    scenario, from ``path`` (default :data:`SIZES_CSV`).

    A missing file gives an empty table (every method then reads "size not measured"); a file
    with missing columns, an unknown method, a rate outside [0, 1], a negative MC SE, fewer
    than one replicate or an empty command raises :class:`SizesError`.
    """
    path = Path(path) if path is not None else SIZES_CSV
    if not path.exists():
        log.warning("no measured sizes at %s: every method reads 'size not measured'", path)
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SIZE_COLUMNS})
    df = pd.read_csv(path, dtype={"method": str, "check": str, "scenario": str, "command": str})
    check_sizes(df, path)
    return df[list(SIZE_COLUMNS)].reset_index(drop=True)


def check_sizes(df: pd.DataFrame, path: str | Path = "method_sizes.csv") -> None:
    """Raise :class:`SizesError` naming ``path`` and the rows at fault unless ``df`` holds
    :data:`SIZE_COLUMNS` with a known method, a rate in [0, 1], an MC SE >= 0, replicates >= 1
    and a command on every row."""
    _check_rows(df, path, SIZE_COLUMNS, "rejection_rate", "command")


def _check_rows(df: pd.DataFrame, path: str | Path, columns: tuple[str, ...], rate: str, text: str) -> None:
    """Raise :class:`SizesError` unless ``df`` has ``columns``, known methods, ``rate`` in [0, 1], an
    MC SE >= 0, replicates >= 1 and a non-empty ``text`` and ``check`` on every row."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SizesError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(columns)})")
    problems = {
        "unknown method": ~df["method"].isin(list(METHODS)),
        f"{rate} outside [0, 1]": ~pd.to_numeric(df[rate], errors="coerce").between(0, 1),
        "mc_se missing or negative": ~(pd.to_numeric(df["mc_se"], errors="coerce") >= 0),
        "replicates below 1": ~(pd.to_numeric(df["replicates"], errors="coerce") >= 1),
        f"no {text}": df[text].fillna("").astype(str).str.strip() == "",
        "no check": df["check"].fillna("").astype(str).str.strip() == "",
    }
    bad = [
        f"{what} (row {', '.join(str(i + 2) for i in df.index[sel][:5])})"
        for what, sel in problems.items()
        if sel.any()
    ]
    if bad:
        raise SizesError(f"{path}: {'; '.join(bad)} (the header is line 1)")


#: The simulation study's rejection rates of a true null per scenario (:mod:`pbr.simstudy.sizes`
#: writes them beside the pooled and worst rows of :data:`SIZES_CSV`): what the report's sentence
#: on the scenarios where no method holds its size is made from.
STUDY_RATES_CSV = SIZES_CSV.parent / "study_rates.csv"
STUDY_RATE_COLUMNS = ("scenario", "check", "method", "replicates", "rate", "mc_se")


def study_rates(path: str | Path | None = None) -> pd.DataFrame:
    """The simulation study's per-scenario rates (:data:`STUDY_RATE_COLUMNS`; ``check`` as in
    :data:`SIZE_COLUMNS`), from ``path`` (default :data:`STUDY_RATES_CSV`); empty when missing.
    Malformed rows raise :class:`SizesError` as :func:`measured_sizes` does."""
    path = Path(path) if path is not None else STUDY_RATES_CSV
    if not path.exists():
        log.warning("no simulation-study rates at %s: the report names no scenario", path)
        return pd.DataFrame({c: pd.Series(dtype=object) for c in STUDY_RATE_COLUMNS})
    df = pd.read_csv(path, dtype={"scenario": str, "check": str, "method": str})
    _check_rows(df, path, STUDY_RATE_COLUMNS, "rate", "scenario")
    return df[list(STUDY_RATE_COLUMNS)].reset_index(drop=True)


def sizes_of(sizes: pd.DataFrame, method: str) -> list[dict]:
    """The measured sizes of ``method`` (one dict per check x scenario; [] when not measured)."""
    return sizes[sizes["method"] == method].to_dict("records") if not sizes.empty else []
