"""Restricted wild cluster bootstraps of a joint test that q terms are all zero.

The event study's pre-trend test asks whether the q pre-period pilot x bin coefficients
are jointly 0. With 8 treated areas the CRV1 Wald test of that hypothesis over-rejects
badly (bench/bench_pretrend.py measures it), so this module gives the q-vector
generalisation of the two restricted bootstraps of :mod:`pbr.fit.wild_bootstrap`: the logit
wild cluster *score* bootstrap (there: ``LogitParts``, ``score_tstats``) and the LPM
restricted wild bootstrap (there: ``LpmParts``, ``wcr_tstats``). Hand-written because no
library offers either for a joint hypothesis on a fixed-effects design; the test suite
checks one draw of each against a brute-force dense recomputation (a statsmodels refit of
the restricted model, then the bootstrap sample's statistic by dense algebra).

Notation: W the nuisance dummies (:class:`pbr.fit.design.Design`), P the terms kept in the
restricted model (N x p: the post-period pilot x bin terms), X the q tested terms, w the
weights (logit: the IRLS weights mu(1-mu) of the restricted fit; LPM: 1; both times the
rows' frequency weights ``Design.freq``, as every sum over rows below), e the residuals
of the restricted fit. N = [W, P] is the restricted model's design; X~ = X with N
partialled out (w-weighted). Per area g: s_g = X~_g' e_g (a q-vector), S = sum_g s_g.

- **Logit** (:func:`logit_joint_parts`): the restricted logit (X's coefficients = 0) is
  fitted once. Statistic T = S' V^-1 S, V = sum_g s_g s_g' (a cluster-robust score / LM
  test, chi2(q) asymptotically). Bootstrap: e*_i = v_g e_i (Webb weights per area), the
  nuisance parameters re-estimated by one Newton step, which changes area g's score by
  - sum_h A_gh v_h, with A_gh = X~_g' w_g N_g (N'wN)^-1 N_h' e_h (the q-vector analogue of
  ``LogitParts.a``); S* = sum_g v_g s_g, V* = sum_g q_g q_g' with q_g = v_g s_g - sum_h A_gh v_h.
  With q = 1, T = t^2 and T* = t*^2 of ``wild_bootstrap.score_tstats``.
- **LPM** (:func:`lpm_joint_parts`): restricted OLS of y on N gives residuals u = e; the
  bootstrap sample y* = fitted + v_g u is refitted on the full model [N, X]. By
  Frisch-Waugh-Lovell, X~'y* = S* = sum_g v_g s_g, the refit's coefficients are
  beta* = B^-1 S* (B = X~'X~), and its CRV1 scores are q_g = v_g s_g - sum_h A_gh v_h -
  C_g B^-1 S* (C_g = X~_g'X~_g). The CRV1 Wald F statistic beta*'Vcov*^-1 beta*/q equals
  S*'(sum_g q_g q_g')^-1 S* / (q c), c the CRV1 small-sample factor, which cancels in the
  comparison; the observed statistic is the same with v = 1 (it equals the CRV1 Wald F of
  ``pbr.fit.event_study``'s ``lpm_crv1`` pre-trend row).

Since N(N'wN)^-1N' = W(W'wW)^-1W' + P~(P~'wP~)^-1P~' (P~ = P with W partialled out), every
piece is a cross-tabulation on W (:meth:`Design.cross`) and small dense products in P~:
nothing is N x N or refitted per draw. p = share of draws with T* >= T (upper tail).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import special

from pbr.fit.design import Beside, Design, Projector, crv1_factor, fit_logit

log = logging.getLogger(__name__)

#: Bootstrap draws handled at once (memory: G x q x this many floats).
CHUNK = 1000


@dataclass(frozen=True)
class JointParts:
    """The per-area pieces of a joint restricted bootstrap (see the module docstring)."""

    s: np.ndarray  # (G, q) per-area scores X~_g'e_g
    a: np.ndarray  # (q, G, G) a[j, g, h]: change of area g's j-th score per unit weight of area h
    c: np.ndarray | None  # (G, q, q) X~_g'X~_g (LPM: the refit of the tested terms), None for the logit
    factor: float  # CRV1 small-sample factor of the full model (LPM; 1 for the logit)
    converged: bool = True  # the restricted logit converged (always True for the LPM)
    eta: np.ndarray | None = None  # restricted logit's linear predictor (None for the LPM)

    @property
    def q(self) -> int:
        """The number of tested terms."""
        return self.s.shape[1]


def _partial_out(design: Design, w: np.ndarray | None, p: np.ndarray, x: np.ndarray):
    """(P~, X~, M^-1) with W, then P~, partialled out (weights w); M = P~'wP~."""
    proj = Projector(design, w)
    wt = design.freq if w is None else w

    def resid(m: np.ndarray) -> np.ndarray:
        return m - design.W @ proj.solve(design.WT @ (wt[:, None] * m))

    p_t, x_t = resid(p), resid(x)
    if p.shape[1]:
        m_inv = np.linalg.pinv(p_t.T @ (wt[:, None] * p_t))
        x_t = x_t - p_t @ (m_inv @ (p_t.T @ (wt[:, None] * x_t)))
    else:
        m_inv = np.zeros((0, 0))
    return proj, p_t, x_t, m_inv


def _parts(design: Design, w: np.ndarray | None, e: np.ndarray, p: np.ndarray, x: np.ndarray, lpm: bool):
    """Scores s (G x q), the re-estimation map a (q x G x G) and, for the LPM, c (G x q x q)."""
    proj, p_t, x_t, m_inv = _partial_out(design, w, p, x)
    wt = design.freq if w is None else w
    fe = design.freq * e  # sums over rows are sums over journeys (frequency weights)
    g_n, q = design.n_areas, x.shape[1]
    by_area = np.column_stack([design.by_area(x_t[:, j] * fe) for j in range(q)]) if q else np.zeros((g_n, 0))
    E = design.wt_by_area(fe)  # k x G
    solved = proj.solve(E)
    pe = np.column_stack([design.by_area(p_t[:, k] * fe) for k in range(p.shape[1])]) if p.shape[1] else None
    a = np.empty((q, g_n, g_n))
    for j in range(q):
        wx = wt * x_t[:, j]
        a[j] = design.wt_by_area(wx).T @ solved
        if pe is not None:
            u = np.column_stack([design.by_area(wx * p_t[:, k]) for k in range(p.shape[1])])  # G x p
            a[j] += u @ m_inv @ pe.T
    c = None
    if lpm:
        c = np.empty((g_n, q, q))
        for j in range(q):
            for k in range(j, q):
                c[:, j, k] = c[:, k, j] = design.by_area(design.freq * x_t[:, j] * x_t[:, k])
    return by_area, a, c


def logit_joint_parts(design: Design, p: np.ndarray, x: np.ndarray) -> JointParts:
    """The logit's joint score-bootstrap pieces: the logit of ``design.y`` on W and ``p`` (N x p)
    fitted under H0 (the coefficients of ``x``, N x q, are 0)."""
    p = np.asarray(p, dtype=float).reshape(design.n, -1)
    x = np.asarray(x, dtype=float).reshape(design.n, -1)
    if p.shape[1]:
        _, eta, converged = fit_logit(
            Beside(design.W, design.WT, p), design.y, gram=lambda w: design.gram_with(w, p), freq=design.freq
        )
    else:
        _, eta, converged = fit_logit(design.W, design.y, gram=design.gram, freq=design.freq, WT=design.WT)
    mu = special.expit(eta)
    w = design.freq * mu * (1 - mu)
    s, a, _ = _parts(design, w, design.y - mu, p, x, lpm=False)
    return JointParts(s=s, a=a, c=None, factor=1.0, converged=converged, eta=eta)


def lpm_joint_parts(design: Design, p: np.ndarray, x: np.ndarray) -> JointParts:
    """The LPM's restricted-bootstrap pieces: OLS of ``design.y`` on W and ``p`` under H0 (the
    coefficients of ``x`` are 0); ``factor`` is the CRV1 factor of the full model (p + q terms)."""
    p = np.asarray(p, dtype=float).reshape(design.n, -1)
    x = np.asarray(x, dtype=float).reshape(design.n, -1)
    _, p_t, _, m_inv = _partial_out(design, None, p, np.zeros((design.n, 0)))
    y_t = Projector(design).resid(design.y)
    u = y_t - p_t @ (m_inv @ (p_t.T @ (design.freq * y_t))) if p.shape[1] else y_t
    s, a, c = _parts(design, None, u, p, x, lpm=True)
    return JointParts(s=s, a=a, c=c, factor=crv1_factor(design, p.shape[1] + x.shape[1]))


def _quadratic(total: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """S_b' (sum_g q_gb q_gb')^-1 S_b for each draw b: total (B x q), scores (G x q x B); NaN if singular."""
    v = np.einsum("gjb,gkb->bjk", scores, scores)
    out = np.full(total.shape[0], np.nan)
    ok = np.linalg.cond(v) < 1e12
    if ok.any():
        out[ok] = np.einsum("bj,bj->b", total[ok], np.linalg.solve(v[ok], total[ok][..., None])[..., 0])
    return out


def _scores(parts: JointParts, v: np.ndarray, total: np.ndarray, with_a: bool) -> np.ndarray:
    """q_g for each draw: G x q x B (see the module docstring)."""
    q = parts.s[:, :, None] * v[:, None, :]
    if with_a:
        q = q - np.einsum("jgh,hb->gjb", parts.a, v)
    if parts.c is not None:
        b_inv = np.linalg.pinv(parts.c.sum(axis=0))
        q = q - np.einsum("gjk,kb->gjb", parts.c, b_inv @ total.T)
    return q


def joint_stats(parts: JointParts, v: np.ndarray) -> tuple[float, np.ndarray]:
    """Observed statistic and its B bootstrap draws for weights v (G x B).

    Logit: the score statistic T (chi2 scale). LPM: the CRV1 Wald F statistic (the observed
    one with the small-sample factor; the draws without it, compared with the observed one
    after dividing that factor out, as :func:`joint_pvalue` does)."""
    ones = np.ones((parts.s.shape[0], 1))
    total_obs = parts.s.sum(axis=0)[None, :]
    t_obs = float(_quadratic(total_obs, _scores(parts, ones, total_obs, with_a=False))[0])
    draws = []
    for start in range(0, v.shape[1], CHUNK):
        vb = v[:, start : start + CHUNK]
        total = (parts.s.T @ vb).T  # B x q
        draws.append(_quadratic(total, _scores(parts, vb, total, with_a=True)))
    t_star = np.concatenate(draws) if draws else np.zeros(0)
    if parts.c is not None:
        return t_obs / parts.q / parts.factor, t_star / parts.q
    return t_obs, t_star


def joint_pvalue(parts: JointParts, v: np.ndarray) -> tuple[float, float]:
    """(observed statistic, bootstrap p = share of draws T* >= T, a draw with a singular V* counted as not)."""
    t_obs, t_star = joint_stats(parts, v)
    if not (np.isfinite(t_obs) and np.isfinite(parts.factor)):
        return t_obs, float("nan")
    unscaled = t_obs * parts.factor if parts.c is not None else t_obs
    p = float(np.mean(t_star >= unscaled * (1 - 1e-10)))
    return t_obs, p


# ---------------------------------------------------------------------------------------
# Randomisation inference of the joint test (pre-period data)


def ri_joint_stats(
    design: Design, bins: np.ndarray, tested: list[int], assign: np.ndarray, family: str
) -> np.ndarray:
    """Studentised score statistic of the pilot x bin terms for each assignment row (R x G).

    ``design`` holds the pre-period journeys only (W: area, period and covariate dummies), so
    that the sharp null "no journey's outcome depends on which areas are pilots" can hold;
    ``bins`` (N,) is each row's bin and ``tested`` the bins with a term (the reference left
    out). The model without the terms (the logit, or least squares for ``family="linear"``)
    is fitted once: it does not depend on the assignment. For assignment S the terms are
    X_S = sum_{a in S} D_a, D_a (N x q) area a's bin indicators, so area g's score is
    s_g(S) = sum_{a in S} h[:, g, a] with h[b, g, a] = D~_{a,b,g}' e_g (D~ partialled out of
    W with the weights, e the residuals: the q-vector analogue of ``LogitParts.h``). The
    statistic is T(S) = S' V^-1 S, S = sum_g s_g(S), V = sum_g s_g s_g' (chi2(q) scale);
    NaN where V is singular. Row 0 of ``assign`` is usually the observed assignment
    (:func:`pbr.fit.randomisation.ri_pvalue`).
    """
    f = design.freq
    if family == "logit":
        _, eta, _ = fit_logit(design.W, design.y, gram=design.gram, freq=f, WT=design.WT)
        mu = special.expit(eta)
        w, e = f * mu * (1 - mu), design.y - mu
    elif family == "linear":
        w, e = f, Projector(design).resid(design.y)
    else:
        raise ValueError(f"family must be 'logit' or 'linear', not {family!r}")
    proj = Projector(design, w)
    E = design.wt_by_area(f * e)  # k x G
    h = np.empty((len(tested), design.n_areas, design.n_areas))
    for j, b in enumerate(tested):
        in_bin = (bins == b).astype(float)
        B = proj.solve(design.cross(w * in_bin, design.area, design.n_areas))  # k x G
        h[j] = np.diag(design.by_area(f * in_bin * e)) - E.T @ B
    out = np.empty(assign.shape[0])
    for start in range(0, assign.shape[0], CHUNK):
        a = assign[start : start + CHUNK]
        scores = np.einsum("jga,ra->gjr", h, a)  # G x q x R
        out[start : start + CHUNK] = _quadratic(scores.sum(axis=0).T, scores)
    return out
