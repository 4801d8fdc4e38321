"""Exact algebra of the fixed-effects designs every DiD model here shares.

The nuisance terms of each model are area dummies, period dummies (first period dropped)
and the covariate dummies (first level of each dropped): a sparse matrix ``W`` (N x k,
k ~ 200 at scale 1.0), reduced to full column rank once by a pivoted Cholesky of ``W'W``.
Because ``W`` holds only dummies, every weighted Gram matrix ``W'diag(w)W`` is a set of
cross-tabulations (``np.bincount``) and every projection on ``W`` is an exact Cholesky solve
of a k x k system (no iterative demeaning).

On it:

- :func:`fit_logit`: the logit MLE by IRLS (with an offset, which pyfixest 0.60 lacks);
- :func:`fit_terms`: the logit or linear model of ``y`` on a few terms of interest (the
  DiD term, or event-study terms) plus ``W``, with the terms' covariance clustered by area
  (CRV1) under pyfixest 0.60's default small-sample factors (:func:`crv1_factor`). The
  test suite checks it against pyfixest ``feglm``/``feols`` and statsmodels; it is faster
  than pyfixest because every projection is one exact solve of a small system, never an
  iterative demeaning (bench/bench_models.py measures both). Terms collinear with ``W``
  are left out (``kept``); when none is left (e.g. the DiD term collinear with the fixed
  effects), the result has no coefficients and a ``note`` saying so, never an error, so
  that the caller reports the model as not estimable (``pbr.fit.models``). The logit's linear
  predictor is returned for the caller's divergence checks (``pbr.fit.estimability.fit_check``).

``pbr.fit.wild_bootstrap`` and ``pbr.fit.randomisation`` build the few-cluster statistics on the
same design (their rows: ``pbr.fit.inference``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import linalg, special

from pbr.fit.counts import FREQ

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _GramPlan:
    """The cross-tabulations :meth:`Design.gram` counts, with their codes computed once.

    Factors 0 and 1 (area, period) vary over nearly every row; the covariates (factors from
    ``first_inner`` on) take few joint values. Rows are grouped by their joint covariate cell
    (``cell``, ``n_cells`` cells; at paper scale 19,331 cells for the 302,574 rows of drug successful
    completion, 15,289 for abstinence's 210,016), so a block of two covariates counts the cell weights
    over the cells, and only the blocks with the area or the period count over the rows. ``pairs``:
    (i, j, codes, n_i, n_j) per block i <= j, the codes i_code * n_j + j_code over rows, or over cells
    for two covariates (a factor with itself counts on the block's diagonal only).
    """

    starts: np.ndarray
    first_inner: int
    cell: np.ndarray
    n_cells: int
    pairs: tuple[tuple[int, int, np.ndarray, int, int], ...]

    @classmethod
    def of(cls, factors: tuple[tuple[np.ndarray, int], ...]) -> _GramPlan:
        sizes = [n for _, n in factors]
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        first_inner = min(2, len(factors))
        inner = factors[first_inner:]
        if inner:
            joint = np.zeros(len(factors[0][0]), dtype=np.int64)
            for codes, n in inner:
                joint = joint * n + codes
            cell = pd.factorize(joint, sort=False)[0].astype(np.int64)
            first_row = np.unique(cell, return_index=True)[1]  # a row of each cell (all share its codes)
        else:
            cell, first_row = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pairs = []
        for i, (ci, ni) in enumerate(factors):
            for j in range(i, len(factors)):
                cj, nj = factors[j]
                both_inner = i >= first_inner
                a, b = (ci[first_row], cj[first_row]) if both_inner else (ci, cj)
                pairs.append((i, j, a * nj + b, ni, nj))
        return cls(starts, first_inner, cell, len(first_row) if inner else 0, tuple(pairs))

    def full(self, w: np.ndarray) -> np.ndarray:
        """W_all' diag(w) W_all over every level of every factor (no level dropped)."""
        starts = self.starts
        full = np.zeros((starts[-1], starts[-1]))
        w_cell = np.bincount(self.cell, weights=w, minlength=self.n_cells) if self.n_cells else w
        for i, j, codes, ni, nj in self.pairs:
            block_w = w_cell if i >= self.first_inner else w
            block = np.bincount(codes, weights=block_w, minlength=ni * nj).reshape(ni, nj)
            full[starts[i] : starts[i + 1], starts[j] : starts[j + 1]] = block
            full[starts[j] : starts[j + 1], starts[i] : starts[i + 1]] = block.T
        return full


@dataclass
class Design:
    """Model data in array form: outcome, did, area (cluster) codes, post, nuisance design."""

    y: np.ndarray  # (N,) float 0/1
    did: np.ndarray  # (N,) float 0/1, observed assignment
    post: np.ndarray | None  # (N,) float 0/1 (needed by randomisation inference only)
    area: np.ndarray  # (N,) int codes 0..G-1 (areas = clusters)
    area_codes: np.ndarray  # (G,) area labels, sorted
    treated: np.ndarray  # (G,) bool, areas with pilot == True
    W: sp.csr_matrix  # (N, k) nuisance dummies, full column rank
    WT: sp.csr_matrix  # W transposed
    factors: tuple[tuple[np.ndarray, int], ...]  # (codes, number of levels) of each factor in W
    columns: np.ndarray  # (k,) position of each W column among all the factors' levels
    freq: np.ndarray  # (N,) float, journeys each row stands for (frame column FREQ; 1 each without it)
    _plan: _GramPlan | None = field(default=None, repr=False, compare=False)  # built by the first gram()

    @property
    def n(self) -> int:
        """Number of rows (journeys) in the design."""
        return len(self.y)

    @property
    def journeys(self) -> int:
        """Number of journeys the rows stand for (the sum of ``freq``; ``n`` without frequency weights)."""
        return round(float(np.sum(self.freq)))

    def journeys_by_area(self) -> np.ndarray:
        """Journeys in each area (G,): the rows' frequency weights summed by area."""
        return self.by_area(self.freq)

    @property
    def n_areas(self) -> int:
        """Number of areas (the clusters, G)."""
        return len(self.area_codes)

    def by_area(self, v: np.ndarray) -> np.ndarray:
        """Sum of v within each area (G,)."""
        return np.bincount(self.area, weights=v, minlength=self.n_areas)

    def wt_by_area(self, v: np.ndarray) -> np.ndarray:
        """k x G matrix whose column g is W_g' v_g (W restricted to area g's rows)."""
        return self.cross(v, self.area, self.n_areas)

    def cross(self, v: np.ndarray, codes: np.ndarray, n_levels: int) -> np.ndarray:
        """k x L matrix W' diag(v) D, D the N x L dummies of ``codes``: weighted cross-tabulations."""
        blocks = [
            np.bincount(c * n_levels + codes, weights=v, minlength=n * n_levels).reshape(n, n_levels)
            for c, n in self.factors
        ]
        return np.vstack(blocks)[self.columns]

    def gram(self, w: np.ndarray) -> np.ndarray:
        """k x k matrix W' diag(w) W, built from the factors' pairwise cross-tabulations.

        W holds only dummies, so each block of the Gram matrix is a weighted cross-tabulation
        of two factors: equal to the sparse product, and cheaper, since counting (``np.bincount``)
        replaces a sparse matrix product. The cross-tabulations of two covariates count over the
        distinct covariate cells (:class:`_GramPlan`), far fewer than the rows.
        """
        if self._plan is None:
            self._plan = _GramPlan.of(self.factors)
        return self._plan.full(w)[np.ix_(self.columns, self.columns)]

    def gram_with(self, w: np.ndarray, x: np.ndarray) -> np.ndarray:
        """(k+q) x (k+q) Gram matrix of [W, x] weighted by w; x is one column (N,) or q columns (N x q)."""
        x = x.reshape(self.n, -1)
        wx = w[:, None] * x
        cross = self.WT @ wx
        return np.block([[self.gram(w), cross], [cross.T, x.T @ wx]])

    def post_column(self) -> np.ndarray:
        """The ``post`` column; ValueError when the design was built without one."""
        if self.post is None:
            raise ValueError("the design was built without a 'post' column")
        return self.post

    def z_matrix(self) -> sp.csr_matrix:
        """N x G matrix of area-specific post indicators: did for assignment S = Z 1_S."""
        return sp.csr_matrix(
            (self.post_column(), (np.arange(self.n), self.area)), shape=(self.n, self.n_areas)
        )


def _dummies(codes: np.ndarray, n_levels: int, drop_first: bool) -> sp.csr_matrix:
    n = len(codes)
    m = sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, n_levels))
    return m[:, 1:] if drop_first else m


def _factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(int64 codes, sorted levels) of a column without missing values (np.unique's order, faster)."""
    codes, levels = pd.factorize(values, sort=True)
    if (codes < 0).any():
        raise ValueError(f"column {values.name!r} has missing values in the model frame")
    return codes.astype(np.int64), np.asarray(levels)


def build_design(mf: pd.DataFrame, outcome: str, covariates: list[str]) -> Design:
    """Design from a model frame (``pbr.fit.frame.model_frame`` columns, and ``post`` when present)."""
    area, area_codes = _factorize(mf["area_code"].astype(str))
    blocks = [_dummies(area, len(area_codes), drop_first=False)]
    factors = [(area, len(area_codes))]
    column_blocks = [np.arange(len(area_codes))]
    offset = len(area_codes)
    for col in ["period_fe", *covariates]:
        codes, levels = _factorize(mf[col])
        if len(levels) > 1:
            blocks.append(_dummies(codes, len(levels), drop_first=True))
            factors.append((codes, len(levels)))
            column_blocks.append(offset + np.arange(1, len(levels)))
            offset += len(levels)
    W = sp.hstack(blocks, format="csr")
    columns = np.concatenate(column_blocks)
    # Full column rank: pivoted Cholesky of W'W keeps a maximal independent set of columns.
    plan = _GramPlan.of(tuple(factors))
    gram = plan.full(np.ones(len(area)))[np.ix_(columns, columns)]
    _, piv, rank, _ = linalg.lapack.dpstrf(gram, lower=1)
    keep = np.sort(piv[:rank] - 1)
    if rank < W.shape[1]:
        log.info("nuisance design: %d collinear column(s) dropped", W.shape[1] - rank)
        W = W[:, keep].tocsr()
        columns = columns[keep]
    treated_rows = mf["pilot"].fillna(False).astype(bool).to_numpy()
    treated = np.zeros(len(area_codes), dtype=bool)
    treated[np.unique(area[treated_rows])] = True
    return Design(
        y=mf[outcome].to_numpy(dtype=float),
        did=mf["did"].to_numpy(dtype=float),
        post=mf["post"].to_numpy(dtype=float) if "post" in mf.columns else None,
        area=area,
        area_codes=area_codes,
        treated=treated,
        W=W,
        WT=W.T.tocsr(),
        factors=tuple(factors),
        columns=columns,
        freq=mf[FREQ].to_numpy(dtype=float) if FREQ in mf.columns else np.ones(len(mf)),
        _plan=plan,
    )


class Projector:
    """Exact (weighted) least-squares projection on the columns of W; weights ``w`` (N,), by
    default the design's frequency weights (``Design.freq``: ordinary least squares on journeys)."""

    def __init__(self, design: Design, w: np.ndarray | None = None):
        self.design, self.w = design, design.freq if w is None else w
        self.gram = design.gram(self.w)
        try:
            self.cho = linalg.cho_factor(self.gram, lower=True)
        except linalg.LinAlgError:  # vanishing weights (see _solve_psd): fall back to least squares
            self.cho = None

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """(W'diag(w)W)^-1 rhs: by Cholesky, or least squares when the Gram matrix is singular."""
        if self.cho is None:
            return linalg.lstsq(self.gram, rhs, lapack_driver="gelsd")[0]
        return linalg.cho_solve(self.cho, rhs)

    def coef(self, v: np.ndarray) -> np.ndarray:
        """Coefficients of the (weighted) least-squares regression of v on W."""
        return self.solve(self.design.WT @ (self.w * v))

    def resid(self, v: np.ndarray) -> np.ndarray:
        """v with its projection on W removed (W partialled out)."""
        return v - self.design.W @ self.coef(v)


# ---------------------------------------------------------------------------------------
# Logit by IRLS on the sparse design


def _deviance(y: np.ndarray, eta: np.ndarray, freq: np.ndarray) -> float:
    return float(2 * np.sum(freq * (np.logaddexp(0.0, eta) - y * eta)))


def _solve_psd(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve gram @ x = rhs for a positive semi-definite gram; minimum-norm least squares when singular.

    Weights p(1-p) vanish for cells whose fitted probability reaches 0 or 1 (e.g. under an
    extreme null in test inversion), which makes the weighted Gram matrix singular or so
    ill-conditioned that scipy warns (once per IRLS step, flooding the log); both take the
    least-squares route without a warning.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", linalg.LinAlgWarning)
            return linalg.solve(gram, rhs, assume_a="pos")
    except (linalg.LinAlgError, linalg.LinAlgWarning):
        return linalg.lstsq(gram, rhs, lapack_driver="gelsd")[0]


class Beside:
    """The columns [W, X] (W sparse N x k, X dense N x q) as :func:`fit_logit` uses them (``@`` a
    coefficient vector, ``.T @`` a row vector), without building the stacked sparse matrix: at paper
    scale ``sp.hstack`` took about 40 ms per fit, more than an IRLS step."""

    def __init__(self, W: sp.csr_matrix, WT: sp.csr_matrix, X: np.ndarray):
        self.W, self.WT, self.X = W, WT, np.asarray(X, dtype=float).reshape(W.shape[0], -1)
        self.shape = (W.shape[0], W.shape[1] + self.X.shape[1])

    def __matmul__(self, coef: np.ndarray) -> np.ndarray:
        k = self.W.shape[1]
        return self.W @ coef[:k] + self.X @ coef[k:]

    @property
    def T(self) -> _BesideT:
        return _BesideT(self)


class _BesideT:
    """[W, X]' of :class:`Beside`: ``@`` a row vector gives (W' v, X' v) stacked."""

    def __init__(self, beside: Beside):
        self.beside = beside

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        return np.concatenate([self.beside.WT @ v, self.beside.X.T @ v])

    def tocsr(self) -> _BesideT:
        return self


def fit_logit(
    W: sp.csr_matrix | Beside,
    y: np.ndarray,
    offset: np.ndarray | None = None,
    eta_start: np.ndarray | None = None,
    tol: float = 1e-13,
    maxiter: int = 60,
    gram: Callable[[np.ndarray], np.ndarray] | None = None,
    freq: np.ndarray | None = None,
    WT: sp.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Logit MLE of y on W (+ offset) by IRLS with step halving; returns (coef, eta, converged).

    ``gram(w)`` returns W' diag(w) W (e.g. ``Design.gram``); default: a sparse product.
    ``freq``: frequency weights (each row stands for that many identical journeys; default 1).
    ``WT``: W transposed in CSR form when the caller has it (``Design.WT``; else made here);
    W may be a :class:`Beside` (then ``gram`` is required).
    """
    off = np.zeros_like(y) if offset is None else offset
    f = np.ones_like(y) if freq is None else freq
    WT = W.T.tocsr() if WT is None else WT
    if gram is None:

        def gram(w: np.ndarray) -> np.ndarray:
            return np.asarray((WT @ (sp.diags(w) @ W)).todense())

    if eta_start is None:
        mu = (y + 0.5) / 2
        eta = np.log(mu / (1 - mu))
        dev = np.inf
    else:
        eta = eta_start
        dev = _deviance(y, eta, f)
    coef, converged = None, False
    for _ in range(maxiter):
        mu = special.expit(eta)
        w = np.maximum(mu * (1 - mu), 1e-12)
        z = eta - off + (y - mu) / w
        new = _solve_psd(gram(f * w), WT @ (f * w * z))
        new_eta = W @ new + off
        new_dev = _deviance(y, new_eta, f)
        halvings = 0
        while coef is not None and new_dev > dev * (1 + 1e-14) and halvings < 30:
            new = (new + coef) / 2
            new_eta = W @ new + off
            new_dev = _deviance(y, new_eta, f)
            halvings += 1
        converged = abs(dev - new_dev) <= tol * (abs(new_dev) + 0.1)
        coef, eta, dev = new, new_eta, new_dev
        if converged:
            break
    else:
        log.warning("logit IRLS did not converge in %d iterations (separation?)", maxiter)
    if coef is None:  # only when the loop did not run
        raise ValueError(f"maxiter must be at least 1, got {maxiter}")
    return coef, eta, converged


def fit_did_logit(design: Design) -> tuple[float, np.ndarray, bool]:
    """The DiD logit (did beside W) by :func:`fit_logit`: (beta, linear predictor, converged)."""
    coef, eta, converged = fit_logit(
        Beside(design.W, design.WT, design.did),
        design.y,
        gram=lambda w: design.gram_with(w, design.did),
        freq=design.freq,
    )
    return float(coef[-1]), eta, converged


# ---------------------------------------------------------------------------------------
# Terms of interest with CRV1 by area


@dataclass(frozen=True)
class TermsFit:
    """Estimates of the terms of interest (columns ``kept`` of X) with their CRV1 covariance."""

    coef: np.ndarray  # (q,) coefficients of X[:, kept]
    vcov: np.ndarray  # (q, q) CRV1 by area, small-sample factor included
    kept: np.ndarray  # (q,) columns of X estimated (the others are collinear with W)
    n: int  # journeys used (the rows' frequency weights summed)
    converged: bool  # logit IRLS converged (always True for the linear model)
    eta: np.ndarray | None = None  # logit linear predictor (N,) at the estimate; None for the linear model
    note: str = ""  # why no term was estimated ('' when some were)


def crv1_factor(design: Design, q: int) -> float:
    """pyfixest 0.60's default CRV1 small-sample factor for q terms beside ``design``.

    ``ssc(k_adj=True, k_fixef="nonnested", G_adj=True)``: G/(G-1) * (N-1)/(N-k), where k
    counts the terms, the covariate dummies and, of the fixed effects, only those not
    nested in the clusters: the area dummies are (area = cluster) and count once in all,
    the period dummies all count. With W = areas + (periods - 1) + covariate dummies,
    k = q + columns(W) - G + 1.

    NaN (not an error) when undefined: a single cluster, or no residual degrees of freedom.
    """
    n, g = design.journeys, design.n_areas
    k = q + design.W.shape[1] - g + 1
    if g < 2 or n <= k:
        return float("nan")
    return g / (g - 1) * (n - 1) / (n - k)


def _independent(x_t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Columns of x whose part not explained by W (x_t) is not numerically zero."""
    scale = np.maximum(np.sum(x * x, axis=0), 1.0)
    return np.flatnonzero(np.sum(x_t * x_t, axis=0) > 1e-10 * scale)


def fit_terms(design: Design, x: np.ndarray, family: str) -> TermsFit:
    """Logit (``family="logit"``) or linear (``"linear"``) model of ``design.y`` on x (N x q) and W.

    Returns the coefficients of x and their cluster-robust covariance by area: the x block
    of the full sandwich H^-1 (sum_g s_g s_g') H^-1, which by the partitioned inverse is
    B^-1 (sum_g X~_g'e_g e_g'X~_g) B^-1 with X~ = x partialled out of W (weighted by the
    IRLS weights for the logit), B = X~' diag(w) X~ and e = y - fitted; times
    :func:`crv1_factor`. Columns of x collinear with W are left out (``kept``); with none left,
    the fit has empty ``coef``, ``vcov`` and ``kept`` and a ``note`` (not an error). A singular
    bread (vanishing IRLS weights under separation) gives a NaN covariance. ``family`` other
    than logit or linear is a programming error (ValueError).
    """
    if family not in ("logit", "linear"):
        raise ValueError(f"family must be 'logit' or 'linear', not {family!r}")
    x = np.asarray(x, dtype=float).reshape(design.n, -1)
    proj = Projector(design)
    x_t = x - design.W @ proj.solve(design.WT @ (design.freq[:, None] * x))
    kept = _independent(x_t, x)
    if not len(kept):
        return TermsFit(
            coef=np.zeros(0),
            vcov=np.zeros((0, 0)),
            kept=kept,
            n=design.journeys,
            converged=True,
            note="the term(s) of interest are collinear with the fixed effects (and covariates)",
        )
    x = x[:, kept]
    converged, eta = True, None
    if family == "logit":
        coef, eta, converged = fit_logit(
            Beside(design.W, design.WT, x), design.y, gram=lambda w: design.gram_with(w, x), freq=design.freq
        )
        beta = coef[-x.shape[1] :]
        mu = special.expit(eta)
        w = design.freq * mu * (1 - mu)
        e = design.y - mu
        wx = w[:, None] * x
        x_t = x - design.W @ Projector(design, w).solve(design.WT @ wx)
        bread = x_t.T @ (w[:, None] * x_t)
    else:
        x_t = x_t[:, kept]
        y_t = proj.resid(design.y)
        bread = x_t.T @ (design.freq[:, None] * x_t)
        beta = _solve_psd(bread, x_t.T @ (design.freq * y_t))
        e = y_t - x_t @ beta
    fe = design.freq * e
    scores = np.column_stack([design.by_area(x_t[:, j] * fe) for j in range(x.shape[1])])  # G x q
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", linalg.LinAlgWarning)
            inv = linalg.inv(bread)
        vcov = crv1_factor(design, x.shape[1]) * inv @ (scores.T @ scores) @ inv
    except (linalg.LinAlgError, linalg.LinAlgWarning):  # vanishing weights: no usable covariance
        vcov = np.full((x.shape[1], x.shape[1]), np.nan)
    return TermsFit(
        coef=np.asarray(beta),
        vcov=(vcov + vcov.T) / 2,
        kept=kept,
        n=design.journeys,
        converged=converged,
        eta=eta,
    )
