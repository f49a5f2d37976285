"""Double descent of head tuning on hidden-Markov-modelled language models (Part IV).

A frozen "pre-trained" model is modelled by a hidden Markov process; only a linear head is trained, by minimum-norm
least squares (or ridge), on ``n`` downstream samples. The module implements the objects and results of
{doc}`../book/part4_double_descent`:

* theory curves: :func:`ridgeless_risk` and :func:`ridgeless_risk_terms` (the exact expected risk with isotropic
  Gaussian features, {prf:ref}`thm-dd-underparam` and {prf:ref}`thm-dd-overparam`),
  :func:`deterministic_equivalent_risk` and :func:`spectral_signal_weights` (general covariance,
  {prf:ref}`thm-dd-deteq`), :func:`reveal_risk` and :func:`reveal_increments` (the non-degenerate contrast,
  {prf:ref}`prop-dd-reveal`), :func:`ar1_noise_signal`, :func:`decaying_chain_increments` and :func:`optimal_ridge`;
* the linear-Gaussian HMM ({prf:ref}`def-dd-lgssm`): :func:`stationary_covariance`,
  :func:`sample_linear_gaussian_hmm`, :class:`GaussianSource`, :func:`decaying_chain`;
* the discrete HMM ({prf:ref}`def-dd-discrete-hmm`): :func:`random_discrete_hmm`, :func:`ring_hmm`,
  :func:`stationary_distribution`, :func:`sample_discrete_hmm`, :func:`forward_filter`
  ({prf:ref}`lem-dd-forward`), :func:`next_token_probs`, :func:`belief_pool`, :class:`PoolSource`;
* frozen models of size ``p`` ({prf:ref}`def-dd-model-size`): :func:`spread_readout`, :func:`reveal_readout`,
  :func:`anisotropic_readout` (with :func:`anisotropic_spectrum`), and the head-tuning problem :class:`HeadTask`
  with its exact population quantities ({prf:ref}`prop-dd-population`);
* heads and risks ({prf:ref}`def-dd-head`, {prf:ref}`def-dd-risk`): :func:`fit_head`, :func:`simulate_head_risks`,
  :func:`simulate_curve`, :func:`summarize_risks`, :func:`curve_agreement`, :func:`format_curve`,
  :func:`peak_location`, :func:`model_size_grid`;
* the explorer's figure: :func:`plot_double_descent`.

Conventions: samples are rows. Hidden states ``z_t`` are row vectors of length ``d``, representations ``x_t`` row
vectors of length ``p``; ``z_t = z_{t-1} A + eps_t`` and ``x_t = z_t W + u_t``. Risks are *per output dimension*
and include the irreducible noise. Array inputs may be numpy arrays or torch tensors; the Monte Carlo code runs in
float64 torch on CUDA when present and on the CPU otherwise (same code, :func:`mylib.get_device`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from .. import profiles
from .._checks import (as_tensor, check_finite_array, check_nonnegative, check_positive_int, check_seed,
                      check_unit_interval, is_torch)
from ..runtime import get_device

__all__ = [
    "ridgeless_risk",
    "ridgeless_risk_terms",
    "deterministic_equivalent_risk",
    "spectral_signal_weights",
    "reveal_risk",
    "reveal_increments",
    "ar1_noise_signal",
    "decaying_chain",
    "decaying_chain_increments",
    "optimal_ridge",
    "stationary_covariance",
    "sample_linear_gaussian_hmm",
    "GaussianSource",
    "random_discrete_hmm",
    "ring_hmm",
    "stationary_distribution",
    "sample_discrete_hmm",
    "forward_filter",
    "next_token_probs",
    "belief_pool",
    "PoolSource",
    "spread_readout",
    "reveal_readout",
    "anisotropic_readout",
    "anisotropic_spectrum",
    "HeadTask",
    "fit_head",
    "simulate_head_risks",
    "summarize_risks",
    "peak_location",
    "model_size_grid",
    "simulate_curve",
    "curve_agreement",
    "format_curve",
    "plot_double_descent",
]

# ----------------------------------------------------------------------------------------------------------------
# Profiles of the three notebooks (notebooks/part4_*.md).
profiles.register(
    "part4_double_descent",
    smoke=dict(
        n=40,                 # downstream training samples
        d=4,                  # hidden-state dimension of the linear-Gaussian HMM
        p_min=4, p_max=320,   # model sizes: log-spaced grid in [p_min, p_max] plus n-4, n-1, n, n+1, n+4
        n_p=20,
        reps=200,             # training sets per model size
        d_reveal=120,         # hidden-state dimension of the contrast (revealing) model
        n_p_reveal=20,
        reps_reveal=100,
        n_ridge=10,           # model sizes for the ridge head
    ),
    full=dict(
        n=200, d=10, p_min=10, p_max=2000, n_p=60, reps=2000,
        d_reveal=600, n_p_reveal=60, reps_reveal=1000, n_ridge=30,
    ),
)
profiles.register(
    "part4_discrete_hmm",
    smoke=dict(
        K=6, V=12,            # hidden states and vocabulary of the degenerate experiment
        length=12,            # tokens seen by the frozen model before the prediction
        pool=20000,           # sequences in the finite population
        n=40, p_max=320, n_p=18, reps=200,
        K_ring=64,            # hidden states of the contrast (ring) HMM
        pool_ring=12000, n_ring=24, n_p_ring=20, reps_ring=150,
    ),
    full=dict(
        K=10, V=40, length=32, pool=200000, n=200, p_max=2000, n_p=50, reps=1000,
        K_ring=256, pool_ring=50000, n_ring=120, n_p_ring=50, reps_ring=500,
    ),
)
profiles.register(
    "part4_explorer",
    smoke=dict(n=40, p_points=400, reveal_factor=3, check_reps=100),
    full=dict(n=200, p_points=2000, reveal_factor=3, check_reps=1000),
)

_DTYPE = torch.float64


# ----------------------------------------------------------------------------------------------------------------
# Theory curves
def _check_p_array(p: Any) -> tuple[np.ndarray, bool]:
    scalar = np.ndim(p.detach().cpu().numpy() if is_torch(p) else p) == 0
    arr = check_finite_array(p, "p")
    if np.any(arr < 0):
        raise ValueError(f"p (model size) must be >= 0, got {arr[arr < 0][0]!r}")
    return np.atleast_1d(arr), scalar


def ridgeless_risk_terms(p: Any, n: int, noise: float, signal: float) -> dict[str, Any]:
    """Bias and variance of the minimum-norm least-squares head with isotropic Gaussian features.

    With features ``x ~ N(0, I_p)``, targets ``y = x B + e`` (``e`` independent of ``x``, per-output variance
    ``noise``), ``||B||_F^2 / d = signal`` and ``n`` training samples, the expected per-output test risk is
    ``noise + bias + variance`` with ({prf:ref}`thm-dd-underparam`, {prf:ref}`thm-dd-overparam`)

    * ``p < n - 1``: ``bias = 0``, ``variance = noise * p / (n - p - 1)``;
    * ``p > n + 1``: ``bias = signal * (1 - n / p)``, ``variance = noise * n / (p - n - 1)``;
    * ``n - 1 <= p <= n + 1``: ``variance = inf`` (and ``bias`` as above), unless ``noise == 0``.

    With ``noise == 0`` the variance is 0 everywhere (the interpolating head then recovers ``B`` exactly for
    ``p <= n`` and has bias ``signal * (1 - n / p)`` for ``p > n``). Formulas are exact expectations for integer
    ``p``; non-integer ``p`` interpolates the curve.

    Parameters
    ----------
    p : float or array_like
        Model size(s) (feature dimension), ``>= 0``.
    n : int
        Number of training samples, ``>= 1``.
    noise, signal : float
        Irreducible noise variance and signal ``||B||^2`` per output, ``>= 0``.

    Returns
    -------
    dict
        ``noise``, ``bias``, ``variance`` (floats for scalar ``p``, arrays otherwise).

    Raises
    ------
    ValueError
        For negative or non-finite ``p``, ``noise`` or ``signal``, or ``n`` not a positive integer.
    """
    arr, scalar = _check_p_array(p)
    n = check_positive_int(n, "n")
    noise = check_nonnegative(noise, "noise")
    signal = check_nonnegative(signal, "signal")
    over = arr > n
    bias = np.where(over, signal * (1.0 - n / np.maximum(arr, 1e-300)), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_under = noise * arr / (n - arr - 1.0)
        var_over = noise * n / (arr - n - 1.0)
    variance = np.where(over, var_over, var_under)
    peak = (arr >= n - 1) & (arr <= n + 1)
    variance = np.where(peak, np.inf, variance)
    if noise == 0.0:
        variance = np.zeros_like(arr)
    if scalar:
        return {"noise": noise, "bias": float(bias[0]), "variance": float(variance[0])}
    return {"noise": noise, "bias": bias, "variance": variance}


def ridgeless_risk(p: Any, n: int, noise: float, signal: float):
    """Expected per-output test risk of the minimum-norm least-squares head, isotropic Gaussian features.

    Implements {prf:ref}`thm-dd-underparam` and {prf:ref}`thm-dd-overparam`:

    .. math::

        R(p) = \\begin{cases}
            \\sigma^2 \\, \\frac{n-1}{n-p-1} = \\sigma^2\\bigl(1 + \\frac{p}{n-p-1}\\bigr), & p < n-1,\\\\
            \\infty, & n-1 \\le p \\le n+1,\\\\
            \\sigma^2\\bigl(1 + \\frac{n}{p-n-1}\\bigr) + S\\bigl(1 - \\frac{n}{p}\\bigr), & p > n+1,
        \\end{cases}

    with ``sigma^2 = noise`` and ``S = signal = ||B||_F^2 / d``. The expectation is over the training set and a
    fresh test point; it includes the irreducible noise ``sigma^2``. For ``noise == 0`` the peak is finite (see
    :func:`ridgeless_risk_terms`). ``p = 0`` gives ``noise`` (the formal limit of the first branch, the
    "sweet spot at size zero" of {prf:ref}`cor-dd-degenerate`).

    Parameters
    ----------
    p : float or array_like
        Model size(s), ``>= 0``.
    n : int
        Training samples, ``>= 1``.
    noise, signal : float
        ``>= 0``.

    Returns
    -------
    float or numpy.ndarray
        Same shape as ``p``.

    Raises
    ------
    ValueError
        Non-positive ``n``; negative or non-finite ``p``, ``noise`` or ``signal``.

    Examples
    --------
    >>> ridgeless_risk(10, 41, 1.0, 2.0)   # (n-1)/(n-p-1) = 40/30
    1.3333333333333333
    >>> ridgeless_risk(80, 40, 1.0, 2.0)   # 1 + 40/39 + 2 * (1 - 1/2)
    3.0256410256410255
    """
    t = ridgeless_risk_terms(p, n, noise, signal)
    return t["noise"] + t["bias"] + t["variance"]


def spectral_signal_weights(Sigma_x: Any, B_star: Any, tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues ``s_i`` of ``Sigma_x`` and signal weights ``w_i = ||v_i^T B*||^2 / d``.

    So that ``sum_i s_i w_i = tr(B*^T Sigma_x B*) / d`` is the per-output signal. These are the inputs of
    :func:`deterministic_equivalent_risk` ({prf:ref}`thm-dd-deteq`). Eigenvalues below ``tol * max`` are set to 0.

    Raises
    ------
    ValueError
        If ``Sigma_x`` is not square/symmetric or the shapes disagree, or inputs contain NaN/inf.
    """
    S = check_finite_array(Sigma_x, "Sigma_x", ndim=2)
    B = check_finite_array(B_star, "B_star", ndim=2)
    if S.shape[0] != S.shape[1]:
        raise ValueError(f"Sigma_x must be square, got shape {S.shape}")
    if B.shape[0] != S.shape[0]:
        raise ValueError(f"B_star must have {S.shape[0]} rows (one per feature), got shape {B.shape}")
    if not np.allclose(S, S.T, atol=1e-10 * max(1.0, np.abs(S).max())):
        raise ValueError("Sigma_x must be symmetric")
    s, V = np.linalg.eigh((S + S.T) / 2)
    s = np.where(s > tol * max(s.max(), 0.0), s, 0.0)
    w = ((V.T @ B) ** 2).sum(axis=1) / B.shape[1]
    return s, w


def _solve_kappa(s: np.ndarray, n: float, ridge: float) -> float:
    """Effective regularisation kappa: ``kappa * (1 - (1/n) sum s/(s+kappa)) = ridge`` (kappa=0 if none)."""
    from scipy.optimize import brentq

    pos = s[s > 0]
    rank = pos.size

    def df1(k):
        return float(np.sum(pos / (pos + k))) if k > 0 else float(rank)

    if ridge == 0.0:
        if rank < n:
            return 0.0
        if rank == n:
            return math.nan  # interpolation threshold: infinite risk
        hi = 2.0 * pos.sum() / n + 1e-300
        while df1(hi) >= n:
            hi *= 2.0
        return brentq(lambda k: df1(k) - n, 0.0, hi, xtol=1e-15 * hi, rtol=1e-13, maxiter=500)
    g = lambda k: k * (1.0 - df1(k) / n) - ridge  # noqa: E731
    hi = ridge + pos.sum() / n + 1.0
    while g(hi) <= 0:
        hi *= 2.0
    return brentq(g, 0.0, hi, xtol=1e-15 * hi, rtol=1e-13, maxiter=500)


def deterministic_equivalent_risk(eigenvalues: Any, signal_weights: Any, n: float, noise: float,
                                  ridge: float = 0.0, terms: bool = False):
    """Deterministic equivalent of the per-output test risk of a ridge(less) head, general feature covariance.

    Implements {prf:ref}`thm-dd-deteq` ({cite}`hastie2022surprises`): with feature covariance eigenvalues ``s_i``,
    signal weights ``w_i`` (:func:`spectral_signal_weights`), ridge ``lambda`` (objective
    ``(1/n)||Y - X B||^2 + lambda ||B||^2``; ``lambda = 0`` is the minimum-norm head), let ``kappa >= 0`` solve
    ``kappa (1 - df_1(kappa)/n) = lambda`` with ``df_k(kappa) = sum_i s_i^k / (s_i + kappa)^k`` (for
    ``lambda = 0``: ``kappa = 0`` if ``rank < n``, else ``df_1(kappa) = n``). Then

    .. math:: R \\approx \\frac{\\sigma^2 + \\kappa^2 \\sum_i s_i w_i / (s_i+\\kappa)^2}{1 - df_2(\\kappa)/n}.

    This is an asymptotic (proportional ``n, p -> inf``) approximation, not an exact finite-``n`` expectation: for
    ``Sigma = I`` it gives ``sigma^2 p/(p-n) + S (1 - n/p)`` where the exact value is
    ``sigma^2 (p-1)/(p-n-1) + S(1 - n/p)``. ``inf`` at ``rank == n`` with ``lambda == 0``.

    Parameters
    ----------
    eigenvalues, signal_weights : array_like
        1-D, same length, ``>= 0``.
    n : float
        Training samples, ``> 0``.
    noise : float
        Noise variance per output, ``>= 0``.
    ridge : float
        ``lambda >= 0``.
    terms : bool
        Return ``dict(noise, bias, variance, kappa)`` instead of the total.

    Raises
    ------
    ValueError
        For negative or non-finite inputs, mismatched lengths or non-positive ``n``.
    """
    s = check_finite_array(eigenvalues, "eigenvalues", ndim=1, nonnegative=True)
    w = check_finite_array(signal_weights, "signal_weights", ndim=1, nonnegative=True)
    if s.size == 0:
        raise ValueError("eigenvalues is empty")
    if s.shape != w.shape:
        raise ValueError(f"eigenvalues and signal_weights must have the same length, got {s.size} and {w.size}")
    n = float(check_nonnegative(n, "n"))
    if n <= 0:
        raise ValueError(f"n must be > 0, got {n}")
    noise = check_nonnegative(noise, "noise")
    ridge = check_nonnegative(ridge, "ridge")
    kappa = _solve_kappa(s, n, ridge)
    if math.isnan(kappa):
        out = {"noise": noise, "bias": math.nan, "variance": math.inf, "kappa": 0.0}
        return out if terms else math.inf
    pos = s > 0
    sp, wp = s[pos], w[pos]
    df2 = float(np.sum(sp ** 2 / (sp + kappa) ** 2))
    denom = 1.0 - df2 / n
    bias0 = float(kappa ** 2 * np.sum(sp * wp / (sp + kappa) ** 2)) if kappa > 0 else 0.0
    if denom <= 0:
        total, bias, variance = math.inf, math.inf, math.inf
    else:
        bias = bias0 / denom
        variance = noise * (df2 / n) / denom
        total = noise + bias + variance
    if terms:
        return {"noise": noise, "bias": bias, "variance": variance, "kappa": kappa}
    return total


def reveal_risk(p: Any, n: int, total: float, signal_increments: Any):
    """Expected risk of the min-norm head on a *revealing* readout ({prf:ref}`prop-dd-reveal`).

    A frozen model of size ``p`` exposes the ``p`` leading whitened directions of the hidden state, direction ``j``
    carrying per-output signal ``signal_increments[j]``. Its features are isotropic Gaussian, so
    ``R(p) = ridgeless_risk(p, n, total - S(p), S(p))`` with ``S(p) = sum_{j<p} signal_increments[j]``: exact,
    with a noise level that *decreases* in ``p`` (Belkin-Hsu-Xu's weak-features model, {cite}`belkin2020two`).

    Parameters
    ----------
    p : int or array_like of int
        Model sizes, ``0 <= p <= len(signal_increments)``.
    n : int
        Training samples.
    total : float
        Per-output variance of the target, ``>= sum(signal_increments)``.
    signal_increments : array_like
        1-D, ``>= 0``.

    Raises
    ------
    ValueError
        For ``p`` outside ``[0, len(signal_increments)]``, non-integer ``p``, ``total < sum(increments)`` or
        negative / non-finite inputs.
    """
    arr, scalar = _check_p_array(p)
    inc = check_finite_array(signal_increments, "signal_increments", ndim=1, nonnegative=True)
    total = check_nonnegative(total, "total")
    cum = np.concatenate([[0.0], np.cumsum(inc)])
    if cum[-1] > total * (1 + 1e-9) + 1e-12:
        raise ValueError(f"total ({total}) must be >= the sum of signal_increments ({cum[-1]})")
    if np.any(arr != np.round(arr)) or np.any(arr > inc.size):
        raise ValueError(f"p must be integers in [0, {inc.size}] for a revealing readout")
    out = np.array([ridgeless_risk(int(q), n, max(total - cum[int(q)], 0.0), cum[int(q)]) for q in arr])
    return float(out[0]) if scalar else out


def ar1_noise_signal(strength: float, state_noise: float, readout: float) -> tuple[float, float]:
    """Noise and signal of the isotropic HMM: ``A = a I``, ``Q = q I`` and a spread readout of quality ``c``.

    From {prf:ref}`prop-dd-population`: the stationary state variance is ``q / (1 - a^2)`` and

    .. math:: S = \\frac{c^2 a^2 q}{1 - a^2}, \\qquad \\sigma^2 = \\frac{q (1 - c^2 a^2)}{1 - a^2}.

    Parameters
    ----------
    strength : float
        Transition strength ``a``, ``0 <= a < 1``.
    state_noise : float
        Innovation variance ``q >= 0``.
    readout : float
        Readout quality ``c`` in ``[0, 1]`` (fraction ``c^2`` of the whitened state visible in the representation).

    Returns
    -------
    (noise, signal) : tuple of float

    Raises
    ------
    ValueError
        If ``a`` is not in ``[0, 1)``, ``c`` not in ``[0, 1]`` or ``q < 0``.
    """
    a = check_nonnegative(strength, "strength")
    q = check_nonnegative(state_noise, "state_noise")
    c = check_unit_interval(readout, "readout")
    if a >= 1:
        raise ValueError(f"strength must be < 1 for a stationary chain, got {a}")
    var = q / (1 - a * a)
    signal = c * c * a * a * var
    return var - signal, signal


def decaying_chain(D: int, strength: float, state_noise: float = 1.0, alpha: float = 2.0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Transition and innovation covariance of the contrast chain: ``A = a I_D``, ``Q = q diag((j+1)^-alpha)``.

    The coordinates of the hidden state have decreasing importance, so a revealing read-out
    ({prf:ref}`prop-dd-reveal`) uncovers signal in decreasing amounts. See :func:`decaying_chain_increments`.

    Raises
    ------
    ValueError
        For ``D < 1``, ``a`` outside ``[0, 1)``, ``q < 0`` or ``alpha < 0``.
    """
    D = check_positive_int(D, "D")
    a = check_nonnegative(strength, "strength")
    if a >= 1:
        raise ValueError(f"strength must be < 1 for a stationary chain, got {a}")
    q = check_nonnegative(state_noise, "state_noise")
    alpha = check_nonnegative(alpha, "alpha")
    return a * np.eye(D), np.diag(q * np.arange(1, D + 1, dtype=np.float64) ** (-alpha))


def decaying_chain_increments(D: int, strength: float, state_noise: float = 1.0, readout: float = 1.0,
                              alpha: float = 2.0) -> tuple[float, np.ndarray]:
    """Closed-form target variance and revealed signal increments of :func:`decaying_chain`.

    With ``q_j = q (j+1)^-alpha`` (``j = 0..D-1``): ``total = sum_j q_j / ((1 - a^2) D)`` and
    ``delta_j = c^2 a^2 q_j / ((1 - a^2) D)`` ({prf:ref}`cor-dd-spread`, item 2), in decreasing order.

    Returns
    -------
    total : float
    increments : numpy.ndarray (D,)

    Raises
    ------
    ValueError
        As :func:`decaying_chain`, or ``readout`` outside ``[0, 1]``.
    """
    A, Q = decaying_chain(D, strength, state_noise, alpha)
    c = check_unit_interval(readout, "readout")
    a = A[0, 0]
    var = np.diag(Q) / (1 - a * a)
    return float(var.mean()), c * c * a * a * var / D


def optimal_ridge(p: int, n: int, noise: float, signal: float) -> float:
    """Optimal ridge ``lambda* = noise * p / (n * signal)`` for isotropic features ({ref}`ex-dd-ridge`).

    For the objective ``(1/n)||Y - X B||^2 + lambda ||B||^2``. Returns ``inf`` when ``signal == 0``.

    Raises
    ------
    ValueError
        For non-positive ``p`` or ``n`` or negative ``noise``/``signal``.
    """
    p = check_positive_int(p, "p")
    n = check_positive_int(n, "n")
    noise = check_nonnegative(noise, "noise")
    signal = check_nonnegative(signal, "signal")
    if signal == 0:
        return math.inf
    return noise * p / (n * signal)


# ----------------------------------------------------------------------------------------------------------------
# Linear-Gaussian HMM
def _square(M: Any, name: str, d: int | None = None) -> np.ndarray:
    arr = check_finite_array(M, name, ndim=2)
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be square, got shape {arr.shape}")
    if d is not None and arr.shape[0] != d:
        raise ValueError(f"{name} must be {d}x{d}, got shape {arr.shape}")
    return arr


def _covariance(Q: Any, d: int, name: str, check_psd: bool = True) -> np.ndarray:
    """Scalar (times identity) or PSD matrix -> PSD matrix (``check_psd=False``: the caller checks)."""
    if np.ndim(Q.detach().cpu().numpy() if is_torch(Q) else Q) == 0:
        return check_nonnegative(Q, name) * np.eye(d)
    M = _square(Q, name, d)
    if not np.allclose(M, M.T, atol=1e-10 * max(1.0, np.abs(M).max())):
        raise ValueError(f"{name} must be symmetric")
    if check_psd and np.linalg.eigvalsh((M + M.T) / 2).min() < -1e-10 * max(1.0, np.abs(M).max()):
        raise ValueError(f"{name} must be positive semi-definite")
    return (M + M.T) / 2


def _psd_solve(S: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``S^+ B`` for a PSD ``S``: Cholesky when ``S`` is well conditioned, the pseudo-inverse otherwise."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    try:
        X = cho_solve(cho_factor(S, lower=True), B)
        if np.all(np.isfinite(X)) and np.allclose(S @ X, B, atol=1e-9 * max(1.0, np.abs(B).max())):
            return X
    except LinAlgError:
        pass
    return np.linalg.pinv(S, rcond=1e-12, hermitian=True) @ B


def _psd_sqrt(M: np.ndarray) -> np.ndarray:
    """Symmetric square root of a PSD matrix (negative rounding errors clipped)."""
    s, V = np.linalg.eigh((M + M.T) / 2)
    return (V * np.sqrt(np.clip(s, 0, None))) @ V.T


def stationary_covariance(A: Any, Q: Any) -> np.ndarray:
    """Stationary covariance of ``z_t = z_{t-1} A + eps_t``, ``eps_t ~ N(0, Q)`` (row vectors).

    Solves the discrete Lyapunov equation ``Sigma_z = A^T Sigma_z A + Q`` ({prf:ref}`prop-dd-population`).

    Raises
    ------
    ValueError
        If ``A`` is not square, its spectral radius is ``>= 1`` (no stationary law), or ``Q`` is not PSD.
    """
    from scipy.linalg import solve_discrete_lyapunov

    A = _square(A, "A")
    d = A.shape[0]
    Qm = _covariance(Q, d, "Q")
    rho = np.abs(np.linalg.eigvals(A)).max()
    if rho >= 1:
        raise ValueError(f"A must have spectral radius < 1 for a stationary chain, got {rho:.6g}")
    S = solve_discrete_lyapunov(A.T, Qm)
    return (S + S.T) / 2


def _generator(seed_or_gen: Any, device: torch.device) -> torch.Generator:
    if isinstance(seed_or_gen, torch.Generator):
        return seed_or_gen
    seed = check_seed(seed_or_gen, also="a torch.Generator")
    return torch.Generator(device=device).manual_seed(seed)


def _t(a: np.ndarray, device) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), dtype=_DTYPE, device=device)


def _sample_states(At: torch.Tensor, Lz: torch.Tensor, Lq: torch.Tensor, n_seq: int, length: int,
                   gen: torch.Generator) -> torch.Tensor:
    """Core of :func:`sample_linear_gaussian_hmm`: stationary start ``z_0 = g Lz``, then ``z_t = z_{t-1} A + g Lq``."""
    d, dev = At.shape[0], At.device
    z = torch.empty(n_seq, length, d, dtype=_DTYPE, device=dev)
    z[:, 0] = torch.randn(n_seq, d, generator=gen, dtype=_DTYPE, device=dev) @ Lz
    for t in range(1, length):
        z[:, t] = z[:, t - 1] @ At + torch.randn(n_seq, d, generator=gen, dtype=_DTYPE, device=dev) @ Lq
    return z


def sample_linear_gaussian_hmm(A: Any, Q: Any, n_seq: int, length: int, W: Any = None, R: Any = 0.0,
                               seed: Any = 0, device: Any = None):
    """Sample stationary trajectories of the linear-Gaussian HMM of {prf:ref}`def-dd-lgssm`.

    ``z_0 ~ N(0, Sigma_z)`` (the stationary law), ``z_t = z_{t-1} A + eps_t`` with ``eps_t ~ N(0, Q)``, and,
    when ``W`` (``d x p``) is given, ``x_t = z_t W + u_t`` with ``u_t ~ N(0, R)``.

    Parameters
    ----------
    A : array_like, (d, d)
        Transition matrix, spectral radius ``< 1``.
    Q : float or array_like (d, d)
        Innovation covariance (a scalar means ``Q * I``).
    n_seq, length : int
        Number of independent sequences and their length (``>= 1``).
    W : array_like (d, p), optional
        Observation (read-out) matrix.
    R : float or array_like (p, p)
        Observation noise covariance.
    seed : int or torch.Generator
    device : str or torch.device, optional
        Default :func:`mylib.get_device`.

    Returns
    -------
    z : (n_seq, length, d)
    x : (n_seq, length, p) or None
        numpy arrays, or torch tensors when ``A`` is a torch tensor.

    Raises
    ------
    ValueError
        For bad shapes, non-stationary ``A``, non-PSD covariances or non-positive sizes.
    """
    torch_out = is_torch(A)
    A_np = _square(A, "A")
    d = A_np.shape[0]
    n_seq = check_positive_int(n_seq, "n_seq")
    length = check_positive_int(length, "length")
    Sz = stationary_covariance(A_np, Q)
    Qm = _covariance(Q, d, "Q")
    dev = get_device() if device is None else torch.device(device)
    gen = _generator(seed, dev)
    z = _sample_states(_t(A_np, dev), _t(_psd_sqrt(Sz), dev), _t(_psd_sqrt(Qm), dev), n_seq, length, gen)
    x = None
    if W is not None:
        Wn = check_finite_array(W, "W", ndim=2)
        if Wn.shape[0] != d:
            raise ValueError(f"W must have {d} rows (the state dimension), got shape {Wn.shape}")
        Rm = _covariance(R, Wn.shape[1], "R")
        x = z @ _t(Wn, dev) + torch.randn(n_seq, length, Wn.shape[1], generator=gen, dtype=_DTYPE,
                                          device=dev) @ _t(_psd_sqrt(Rm), dev)
    if torch_out:
        return z, x
    return z.cpu().numpy(), (None if x is None else x.cpu().numpy())


class _Source:
    """A joint law of (frozen state ``phi``, target ``y``) with known first and second moments."""

    mean_phi: np.ndarray
    mean_y: np.ndarray
    cov_phi: np.ndarray
    cov_phi_y: np.ndarray
    cov_y: np.ndarray

    @property
    def k(self) -> int:
        """Dimension of the frozen state ``phi``."""
        return self.cov_phi.shape[0]

    @property
    def d(self) -> int:
        """Number of outputs (target dimension)."""
        return self.cov_y.shape[0]

    @property
    def total(self) -> float:
        """Per-output variance of the target, ``tr(Cov y) / d`` (= noise + signal at any size)."""
        return float(np.trace(self.cov_y)) / self.d

    def whitening(self, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
        """``M`` (``k x r``) with ``M^T Cov(phi) M = I_r`` and the whitened cross-covariance ``C = M^T Cov(phi, y)``.

        ``r`` is the numerical rank of ``Cov(phi)`` (eigenvalues above ``tol * max``). Cached.
        """
        cache = self.__dict__.setdefault("_whitening_cache", {})
        if tol not in cache:
            s, V = np.linalg.eigh(self.cov_phi)
            keep = s > tol * s.max()
            M = V[:, keep] / np.sqrt(s[keep])
            cache[tol] = (M, M.T @ self.cov_phi_y)
        M, C = cache[tol]
        return M.copy(), C.copy()

    def signal_basis(self) -> tuple[np.ndarray, np.ndarray]:
        """Orthonormal basis ``U`` (``r x r``) of the whitened state ordered by decreasing signal, and the squared
        singular values ``s_j^2`` of ``C`` (zero-padded to length ``r``). Cached."""
        if "_basis_cache" not in self.__dict__:
            _, C = self.whitening()
            U, s, _ = np.linalg.svd(C, full_matrices=True)
            s2 = np.zeros(C.shape[0])
            s2[: s.size] = s ** 2
            self._basis_cache = (U, s2)
        U, s2 = self._basis_cache
        return U.copy(), s2.copy()

    def sample_pairs(self, m: int, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class GaussianSource(_Source):
    """Frozen state ``phi = z_t`` and target ``y = z_{t+1}`` of a stationary linear-Gaussian HMM.

    Moments ({prf:ref}`prop-dd-population`): ``Cov(phi) = Cov(y) = Sigma_z`` and ``Cov(phi, y) = Sigma_z A``.
    :meth:`sample_pairs` draws independent stationary sequences with :func:`sample_linear_gaussian_hmm`.

    Parameters
    ----------
    A : array_like (d, d)
        Transition matrix, spectral radius ``< 1``.
    Q : float or array_like (d, d)
        Innovation covariance.
    """

    def __init__(self, A: Any, Q: Any):
        self.A = _square(A, "A")
        dd = self.A.shape[0]
        self.Q = _covariance(Q, dd, "Q")
        Sz = stationary_covariance(self.A, self.Q)
        self.mean_phi = np.zeros(dd)
        self.mean_y = np.zeros(dd)
        self.cov_phi = Sz
        self.cov_phi_y = Sz @ self.A
        self.cov_y = Sz
        self._factors: dict[str, tuple] = {}

    def sample_pairs(self, m: int, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``m`` independent pairs ``(z_t, z_{t+1})`` from stationary sequences of length 2 (torch, float64).

        Same draws as ``sample_linear_gaussian_hmm(A, Q, m, 2, seed=gen)``; the factors are cached per device.
        """
        key = str(device)
        if key not in self._factors:
            self._factors[key] = (_t(self.A, device), _t(_psd_sqrt(self.cov_phi), device),
                                  _t(_psd_sqrt(self.Q), device))
        z = _sample_states(*self._factors[key], m, 2, gen)
        return z[:, 0], z[:, 1]


# ----------------------------------------------------------------------------------------------------------------
# Discrete HMM
def _stochastic(M: Any, name: str) -> np.ndarray:
    arr = check_finite_array(M, name, ndim=2, nonnegative=True)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.allclose(arr.sum(axis=1), 1.0, atol=1e-8):
        raise ValueError(f"rows of {name} must sum to 1")
    return arr


def _check_hmm(T: Any, E: Any, pi0: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    T = _stochastic(T, "T")
    if T.shape[0] != T.shape[1]:
        raise ValueError(f"T must be square, got shape {T.shape}")
    E = _stochastic(E, "E")
    if E.shape[0] != T.shape[0]:
        raise ValueError(f"E must have {T.shape[0]} rows (one per hidden state), got shape {E.shape}")
    pi0 = check_finite_array(pi0, "pi0", ndim=1, nonnegative=True)
    if pi0.shape[0] != T.shape[0] or not np.isclose(pi0.sum(), 1.0, atol=1e-8):
        raise ValueError(f"pi0 must be a probability vector of length {T.shape[0]}")
    return T, E, pi0


def stationary_distribution(T: Any) -> np.ndarray:
    """Stationary distribution ``pi = pi T`` of an irreducible row-stochastic matrix ``T``.

    Raises
    ------
    ValueError
        If ``T`` is not square and row-stochastic, or the chain has no unique stationary law.
    """
    T = _stochastic(T, "T")
    K = T.shape[0]
    if T.shape[1] != K:
        raise ValueError(f"T must be square, got shape {T.shape}")
    M = np.vstack([T.T - np.eye(K), np.ones((1, K))])
    rhs = np.concatenate([np.zeros(K), [1.0]])
    pi, *_ = np.linalg.lstsq(M, rhs, rcond=None)
    if np.linalg.matrix_rank(T.T - np.eye(K)) != K - 1:
        raise ValueError("T has no unique stationary distribution (reducible chain)")
    pi = np.clip(pi, 0, None)
    return pi / pi.sum()


def random_discrete_hmm(K: int, V: int, stay: float = 0.7, concentration: float = 0.5,
                        rng: Any = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random discrete HMM ({prf:ref}`def-dd-discrete-hmm`) started at its stationary law.

    ``T = stay * I + (1 - stay) * D`` with Dirichlet(1) rows ``D``; emission rows ``E_k`` are
    Dirichlet(``concentration``) over ``V`` tokens (small concentration = informative tokens).

    Returns
    -------
    T : (K, K), E : (K, V), pi0 : (K,)

    Raises
    ------
    ValueError
        For ``K < 2``, ``V < 2``, ``stay`` outside ``[0, 1)`` or non-positive ``concentration``.
    """
    K = check_positive_int(K, "K", 2)
    V = check_positive_int(V, "V", 2)
    stay = check_nonnegative(stay, "stay")
    if stay >= 1:
        raise ValueError(f"stay must lie in [0, 1), got {stay}")
    conc = check_nonnegative(concentration, "concentration")
    if conc == 0:
        raise ValueError("concentration must be > 0")
    g = np.random.default_rng(rng)
    T = stay * np.eye(K) + (1 - stay) * g.dirichlet(np.ones(K), size=K)
    E = g.dirichlet(conc * np.ones(V), size=K)
    return T, E, stationary_distribution(T)


def ring_hmm(K: int, drift: float = 0.25, width: float = 1.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A hidden random walk on a ring of ``K`` states with noisy position tokens (the contrast HMM).

    Transitions: stay with probability ``1 - 2 drift``, step to either neighbour with probability ``drift``.
    Emissions: token ``v`` (one per state) with probability proportional to ``exp(-dist(k, v)^2 / (2 width^2))``
    (ring distance). The uniform law is stationary.

    Raises
    ------
    ValueError
        For ``K < 3``, ``drift`` outside ``(0, 1/2]`` or non-positive ``width``.
    """
    K = check_positive_int(K, "K", 3)
    drift = check_nonnegative(drift, "drift")
    if not 0 < drift <= 0.5:
        raise ValueError(f"drift must lie in (0, 0.5], got {drift}")
    width = check_nonnegative(width, "width")
    if width == 0:
        raise ValueError("width must be > 0")
    idx = np.arange(K)
    T = (1 - 2 * drift) * np.eye(K) + drift * (np.eye(K)[(idx + 1) % K] + np.eye(K)[(idx - 1) % K])
    dist = np.abs(idx[:, None] - idx[None, :])
    dist = np.minimum(dist, K - dist)
    E = np.exp(-dist ** 2 / (2 * width ** 2))
    E /= E.sum(axis=1, keepdims=True)
    return T, E, np.full(K, 1.0 / K)


def sample_discrete_hmm(T: Any, E: Any, pi0: Any, n_seq: int, length: int,
                        rng: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample hidden states and tokens of a discrete HMM ({prf:ref}`def-dd-discrete-hmm`).

    ``h_1 ~ pi0``, ``h_{t+1} | h_t ~ T[h_t]``, ``o_t | h_t ~ E[h_t]``.

    Returns
    -------
    states, tokens : int arrays of shape (n_seq, length)

    Raises
    ------
    ValueError
        For non-stochastic ``T``/``E``, a bad ``pi0`` or non-positive sizes.
    """
    T, E, pi0 = _check_hmm(T, E, pi0)
    n_seq = check_positive_int(n_seq, "n_seq")
    length = check_positive_int(length, "length")
    g = np.random.default_rng(rng)
    cT, cE = np.cumsum(T, axis=1), np.cumsum(E, axis=1)
    cT[:, -1] = cE[:, -1] = 1.0
    K, V = E.shape
    h = np.empty((n_seq, length), dtype=np.int64)
    o = np.empty((n_seq, length), dtype=np.int64)
    c0 = np.cumsum(pi0)
    c0[-1] = 1.0
    h[:, 0] = np.minimum(np.searchsorted(c0, g.random(n_seq), side="right"), K - 1)
    for t in range(length):
        if t > 0:
            u = g.random(n_seq)[:, None]
            h[:, t] = np.minimum((u >= cT[h[:, t - 1]]).sum(axis=1), K - 1)
        u = g.random(n_seq)[:, None]
        o[:, t] = np.minimum((u >= cE[h[:, t]]).sum(axis=1), V - 1)
    return h, o


def forward_filter(T: Any, E: Any, pi0: Any, tokens: Any) -> tuple[np.ndarray, np.ndarray]:
    """Forward filtering: beliefs ``b_t(k) = P(h_t = k | o_1..o_t)`` and log-likelihoods ({prf:ref}`lem-dd-forward`).

    ``b_1 ∝ pi0 * E[:, o_1]``, ``b_t ∝ (b_{t-1} T) * E[:, o_t]``; ``log P(o_1..o_L) = sum_t log c_t`` with ``c_t``
    the normalisers.

    Parameters
    ----------
    T, E, pi0 : the HMM
    tokens : int array (n_seq, length) or (length,)

    Returns
    -------
    beliefs : (n_seq, length, K) (or (length, K) for 1-D tokens)
    loglik : (n_seq,) (or float)

    Raises
    ------
    ValueError
        For a bad HMM, tokens outside ``0..V-1`` or non-integer tokens, or an impossible token sequence.
    """
    T, E, pi0 = _check_hmm(T, E, pi0)
    o = check_finite_array(tokens, "tokens")
    single = o.ndim == 1
    if single:
        o = o[None]
    if o.ndim != 2 or o.size == 0:
        raise ValueError(f"tokens must be a non-empty 1-D or 2-D array, got shape {o.shape}")
    if np.any(o != np.round(o)) or o.min() < 0 or o.max() >= E.shape[1]:
        raise ValueError(f"tokens must be integers in 0..{E.shape[1] - 1}")
    beliefs, loglik = _forward(T, E, pi0, o.astype(np.int64), keep_all=True)
    if single:
        return beliefs[0], float(loglik[0])
    return beliefs, loglik


def _forward(T: np.ndarray, E: np.ndarray, pi0: np.ndarray, o: np.ndarray, keep_all: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """Core of :func:`forward_filter` on validated input; ``keep_all=False`` returns only the last belief."""
    n_seq, L = o.shape
    K = T.shape[0]
    ET = np.ascontiguousarray(E.T)  # row v = likelihood of token v under every state
    beliefs = np.empty((n_seq, L, K)) if keep_all else None
    loglik = np.zeros(n_seq)
    prior = np.broadcast_to(pi0, (n_seq, K))
    b = None
    for t in range(L):
        a = prior * ET[o[:, t]]
        c = a.sum(axis=1)
        if np.any(c <= 0):
            raise ValueError("token sequence has probability zero under the HMM")
        b = a / c[:, None]
        if keep_all:
            beliefs[:, t] = b
        loglik += np.log(c)
        prior = b @ T
    return (beliefs if keep_all else b), loglik


def next_token_probs(beliefs: Any, T: Any, E: Any) -> np.ndarray:
    """Next-token probabilities ``P(o_{t+1} | o_1..o_t) = b_t T E`` of the frozen model (last axis K -> V).

    Raises
    ------
    ValueError
        If the last axis of ``beliefs`` is not ``K`` or the matrices are not stochastic.
    """
    T = _stochastic(T, "T")
    E = _stochastic(E, "E")
    b = check_finite_array(beliefs, "beliefs", nonnegative=True)
    if b.ndim == 0 or b.shape[-1] != T.shape[0] or E.shape[0] != T.shape[0]:
        raise ValueError(f"beliefs must end with an axis of length K={T.shape[0]}, got shape {b.shape}")
    return b @ T @ E


def belief_pool(T: Any, E: Any, pi0: Any, n_seq: int, length: int, rng: Any = 0, target: str = "state",
                features: str = "belief", labels: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """A finite population of (frozen-model features, one-hot next target) pairs from a discrete HMM.

    Each of ``n_seq`` independent sequences is observed for ``length`` tokens; the frozen "pre-trained" model is
    the exact forward filter (:func:`forward_filter`). Features: the filtered belief ``b_L`` (``"belief"``, length
    ``K``) or the next-token probabilities ``b_L T E`` (``"next_token"``, length ``V``). Target: one-hot of the next
    hidden state ``h_{L+1}`` (``"state"``) or of the next token ``o_{L+1}`` (``"token"``). With ``labels`` (an
    integer class per hidden state, for ``target="state"``) the target is the one-hot class of ``h_{L+1}`` (e.g. the
    sector of a ring position): a coarse downstream label.

    Returns
    -------
    phi : (n_seq, K or V) float array
    y : (n_seq, K or V) float one-hot array

    Raises
    ------
    ValueError
        For unknown ``target``/``features``, bad ``labels`` or invalid HMM/sizes.
    """
    if target not in ("state", "token"):
        raise ValueError(f"target must be 'state' or 'token', got {target!r}")
    if features not in ("belief", "next_token"):
        raise ValueError(f"features must be 'belief' or 'next_token', got {features!r}")
    T, E, pi0 = _check_hmm(T, E, pi0)
    length = check_positive_int(length, "length")
    h, o = sample_discrete_hmm(T, E, pi0, n_seq, length + 1, rng)
    bL, _ = _forward(T, E, pi0, o[:, :length], keep_all=False)
    phi = bL if features == "belief" else next_token_probs(bL, T, E)
    if labels is not None:
        if target != "state":
            raise ValueError("labels apply to target='state' only")
        lab = check_finite_array(labels, "labels", ndim=1, nonnegative=True)
        if lab.shape[0] != T.shape[0] or np.any(lab != np.round(lab)):
            raise ValueError(f"labels must be {T.shape[0]} non-negative integers (one per hidden state)")
        lab = lab.astype(np.int64)
        return phi, np.eye(int(lab.max()) + 1)[lab[h[:, length]]]
    nxt = h[:, length] if target == "state" else o[:, length]
    y = np.eye(T.shape[0] if target == "state" else E.shape[1])[nxt]
    return phi, y


class PoolSource(_Source):
    """The uniform law on a finite population of (frozen state ``phi``, target ``y``) pairs.

    All moments are exact for this law (computed with ``1/N``), so the head's population risk and the theory's
    noise and signal are exact for it; training sets are drawn from the pool with replacement.

    Parameters
    ----------
    phi : array_like (N, k)
    y : array_like (N, d)

    Raises
    ------
    ValueError
        For mismatched rows, fewer than 2 rows or NaN/inf.
    """

    def __init__(self, phi: Any, y: Any):
        P = check_finite_array(phi, "phi", ndim=2)
        Y = check_finite_array(y, "y", ndim=2)
        if P.shape[0] != Y.shape[0]:
            raise ValueError(f"phi and y must have the same number of rows, got {P.shape[0]} and {Y.shape[0]}")
        if P.shape[0] < 2:
            raise ValueError("the pool needs at least 2 rows")
        self.phi, self.y = P, Y
        self.mean_phi, self.mean_y = P.mean(axis=0), Y.mean(axis=0)
        Pc, Yc = P - self.mean_phi, Y - self.mean_y
        N = P.shape[0]
        self.cov_phi = Pc.T @ Pc / N
        self.cov_phi_y = Pc.T @ Yc / N
        self.cov_y = Yc.T @ Yc / N
        self._tensors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def sample_pairs(self, m: int, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``m`` rows drawn uniformly with replacement (torch, float64, uncentred)."""
        key = str(device)
        if key not in self._tensors:
            self._tensors[key] = (_t(self.phi, device), _t(self.y, device))
        P, Y = self._tensors[key]
        idx = torch.randint(P.shape[0], (m,), generator=gen, device=device)
        return P[idx], Y[idx]


# ----------------------------------------------------------------------------------------------------------------
# Frozen models of size p (readouts)
def _orthonormal_rows(r: int, p: int, rng: Any) -> np.ndarray:
    """A uniformly random ``r x p`` matrix with orthonormal rows (``r <= p``)."""
    g = np.random.default_rng(rng)
    Qm, Rm = np.linalg.qr(g.standard_normal((p, r)))
    Qm = Qm * np.sign(np.diag(Rm))
    return Qm.T


def spread_readout(source: _Source, p: int, readout: float = 1.0, rng: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """The degenerate ("spread") frozen model of width ``p >= r`` ({prf:ref}`def-dd-model-size`).

    With ``M`` the whitening of the frozen state (rank ``r``) and ``O`` a random ``r x p`` matrix with orthonormal
    rows: ``W = c M O`` and ``R = I_p - c^2 O^T O``, so that ``Cov(x) = I_p`` exactly and the information about the
    state does not grow with ``p``: per-output signal ``c^2 ||C||_F^2 / d`` and noise ``total - signal`` for every
    ``p`` ({prf:ref}`prop-dd-population`).

    Raises
    ------
    ValueError
        If ``p < r`` or ``readout`` is outside ``[0, 1]``.
    """
    c = check_unit_interval(readout, "readout")
    M, _ = source.whitening()
    r = M.shape[1]
    p = check_positive_int(p, "p")
    if p < r:
        raise ValueError(f"a spread readout needs p >= r = {r} (the rank of the frozen state), got p = {p}")
    O = _orthonormal_rows(r, p, rng)
    return c * M @ O, np.eye(p) - c * c * O.T @ O


def reveal_readout(source: _Source, p: int, readout: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The non-degenerate ("revealing") frozen model of width ``p <= r`` ({prf:ref}`prop-dd-reveal`).

    Exposes the ``p`` whitened directions of the frozen state that carry the most signal: with ``C = U S V^T`` the
    SVD of the whitened cross-covariance, ``W = c M U[:, :p]`` and ``R = (1 - c^2) I_p``, so ``Cov(x) = I_p`` and
    the signal ``c^2 sum_{j<p} s_j^2 / d`` grows with ``p``.

    Raises
    ------
    ValueError
        If ``p > r`` or ``readout`` is outside ``[0, 1]``.
    """
    c = check_unit_interval(readout, "readout")
    M, C = source.whitening()
    r = M.shape[1]
    p = check_positive_int(p, "p")
    if p > r:
        raise ValueError(f"a revealing readout needs p <= r = {r}, got p = {p}")
    U, _ = source.signal_basis()
    return c * M @ U[:, :p], (1 - c * c) * np.eye(p)


def reveal_increments(source: _Source, readout: float = 1.0) -> np.ndarray:
    """Per-output signal carried by each revealed direction, ``c^2 s_j^2 / d`` (length ``r``)."""
    c = check_unit_interval(readout, "readout")
    _, s2 = source.signal_basis()
    return c * c * s2 / source.d


def _anisotropic_args(source: _Source, p: int, scale: float, emission_noise: float
                      ) -> tuple[float, float, int, int]:
    """Validated (scale, emission noise, p, k) of an anisotropic readout of width ``p >= k``."""
    scale = check_nonnegative(scale, "scale")
    su = check_nonnegative(emission_noise, "emission_noise")
    p = check_positive_int(p, "p")
    k = source.k
    if p < k:
        raise ValueError(f"an anisotropic readout needs p >= k = {k}, got p = {p}")
    return scale, su, p, k


def anisotropic_readout(source: _Source, p: int, scale: float = 1.0, emission_noise: float = 1.0,
                        rng: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """A frozen model of width ``p >= k`` without whitening: ``W = scale * O``, ``R = emission_noise * I_p``.

    ``O`` is a random ``k x p`` matrix with orthonormal rows. ``Cov(x) = scale^2 O^T Cov(phi) O + sigma_u^2 I`` has
    ``k`` spikes above a flat bulk, so the isotropic formula does not apply for ``p > n``; use
    :func:`deterministic_equivalent_risk` ({prf:ref}`thm-dd-deteq`). For ``p < n - 1``
    {prf:ref}`thm-dd-underparam` still holds exactly.

    Raises
    ------
    ValueError
        If ``p < k`` or ``scale``/``emission_noise`` is negative.
    """
    scale, su, p, k = _anisotropic_args(source, p, scale, emission_noise)
    return scale * _orthonormal_rows(k, p, rng), su * np.eye(p)


def anisotropic_spectrum(source: _Source, p: int, scale: float = 1.0, emission_noise: float = 1.0
                         ) -> tuple[np.ndarray, np.ndarray, float]:
    """Spectrum, signal weights and noise of :func:`anisotropic_readout` without forming ``p x p`` matrices.

    By {prf:ref}`cor-dd-spread` (item 3) ``Sigma_x`` has eigenvalues ``w^2 lambda_j(Cov phi) + sigma_u^2``
    (eigenvectors ``O^T v_j``) and ``sigma_u^2`` (``p - k`` times, no signal), and the signal weight of spike ``j``
    is ``||v_j^T (w^2 Cov(phi) + sigma_u^2 I)^{-1} w Cov(phi, y)||^2 / d``. These are the inputs of
    :func:`deterministic_equivalent_risk`; the result does not depend on the random ``O``.

    Returns
    -------
    eigenvalues, signal_weights : numpy.ndarray (p,)
    noise : float

    Raises
    ------
    ValueError
        If ``p < k`` or ``scale``/``emission_noise`` is negative or zero noise makes ``Sigma_x`` singular.
    """
    w, su, p, k = _anisotropic_args(source, p, scale, emission_noise)
    lam, V = np.linalg.eigh(source.cov_phi)
    spikes = w * w * lam + su
    if np.any(spikes <= 0) or (p > k and su <= 0):
        raise ValueError("Sigma_x is singular: use emission_noise > 0")
    coef = V.T @ (w * source.cov_phi_y)  # v_j^T w Cov(phi, y)
    Bspk = coef / spikes[:, None]        # coordinates of B* on the spike eigenvectors
    weights = (Bspk ** 2).sum(axis=1) / source.d
    signal = float(np.sum(spikes * weights))
    eig = np.concatenate([spikes, np.full(p - k, su)])
    wts = np.concatenate([weights, np.zeros(p - k)])
    return eig, wts, max(source.total - signal, 0.0)


# ----------------------------------------------------------------------------------------------------------------
# The head-tuning problem at one model size
@dataclass
class _Population:
    Sigma_x: np.ndarray
    B_star: np.ndarray
    noise: float
    signal: float


class HeadTask:
    """Head tuning at model size ``p``: features ``x = (phi - E phi) W + u``, ``u ~ N(0, R)``, target ``y - E y``.

    Exact population quantities ({prf:ref}`prop-dd-population`): ``Sigma_x = W^T Cov(phi) W + R``,
    ``B* = Sigma_x^+ W^T Cov(phi, y)``, per-output ``signal = tr(B*^T Sigma_x B*)/d`` and
    ``noise = tr(Cov y)/d - signal``. The population risk of any head ``B`` is
    ``noise + tr((B - B*)^T Sigma_x (B - B*)) / d`` ({prf:ref}`lem-dd-decomposition`).

    Parameters
    ----------
    source : GaussianSource or PoolSource
    W : array_like (k, p)
    R : float or array_like (p, p)

    Raises
    ------
    ValueError
        For shapes that do not match the source, or a non-PSD ``R``.
    """

    def __init__(self, source: _Source, W: Any, R: Any = 0.0):
        if not isinstance(source, _Source):
            raise ValueError(f"source must be a GaussianSource or PoolSource, got {type(source).__name__}")
        Wn = check_finite_array(W, "W", ndim=2)
        if Wn.shape[0] != source.k:
            raise ValueError(f"W must have {source.k} rows (the frozen-state dimension), got shape {Wn.shape}")
        self.source, self.W = source, Wn
        self.p, self.d = Wn.shape[1], source.d
        self.R = _covariance(R, self.p, "R", check_psd=False)
        s, V = np.linalg.eigh(self.R)
        if s.min() < -1e-10 * max(1.0, np.abs(s).max()):
            raise ValueError("R must be positive semi-definite")
        self._R_eig = (np.clip(s, 0, None), V)
        Sx = Wn.T @ source.cov_phi @ Wn + self.R
        Sxy = Wn.T @ source.cov_phi_y
        Sx_sym = (Sx + Sx.T) / 2
        B = _psd_solve(Sx_sym, Sxy)
        signal = float(np.trace(B.T @ Sx @ B)) / self.d
        self.population = _Population(Sx_sym, B, max(source.total - signal, 0.0), signal)
        self._isotropic = self.isotropic()
        self._cache: dict[str, tuple] = {}

    @property
    def noise(self) -> float:
        return self.population.noise

    @property
    def signal(self) -> float:
        return self.population.signal

    @property
    def B_star(self) -> np.ndarray:
        return self.population.B_star

    @property
    def Sigma_x(self) -> np.ndarray:
        return self.population.Sigma_x

    def isotropic(self, atol: float = 1e-8) -> bool:
        """True when ``Sigma_x = I_p`` (then :func:`ridgeless_risk` is the exact theory for Gaussian sources)."""
        return bool(np.allclose(self.Sigma_x, np.eye(self.p), atol=atol))

    def theory(self, n: int, ridge: float = 0.0) -> float:
        """Theory curve at this size.

        ``ridge == 0``: :func:`ridgeless_risk` when isotropic (exact for Gaussian sources), and for any covariance
        when ``p <= n + 1`` ({prf:ref}`thm-dd-underparam`, {prf:ref}`prop-dd-peak`); otherwise, and for
        ``ridge > 0``, :func:`deterministic_equivalent_risk` (asymptotic, {prf:ref}`thm-dd-deteq`)."""
        n = check_positive_int(n, "n")
        ridge = check_nonnegative(ridge, "ridge")
        if ridge == 0 and (self._isotropic or self.p <= n + 1):
            # exact: any covariance below the peak and at the peak (prop-dd-peak), isotropic everywhere
            return float(ridgeless_risk(self.p, n, self.noise, self.signal))
        s, w = spectral_signal_weights(self.Sigma_x, self.B_star)
        return float(deterministic_equivalent_risk(s, w, n, self.noise, ridge=ridge))

    def _noise_factor(self) -> tuple[float, np.ndarray, np.ndarray]:
        """``R^{1/2} = a I + V diag(b) V^T`` with ``V`` of few columns when ``R`` is identity plus low rank."""
        s, V = self._R_eig
        base = float(np.median(s))
        off = np.abs(s - base) > 1e-12 * max(1.0, base)
        return math.sqrt(base), V[:, off], np.sqrt(s[off]) - math.sqrt(base)

    def _device_tensors(self, device) -> tuple:
        key = str(device)
        if key not in self._cache:
            s = self.source
            a, V, b = self._noise_factor()
            self._cache[key] = (_t(self.W, device), (a, _t(V, device), _t(b, device)), _t(s.mean_phi, device),
                                _t(s.mean_y, device), _t(self.Sigma_x, device), _t(self.B_star, device))
        return self._cache[key]

    def sample(self, n: int, reps: int, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``reps`` independent training sets of size ``n``: ``X`` (reps, n, p), ``Y`` (reps, n, d)."""
        W, (a, V, b), mphi, my, _, _ = self._device_tensors(device)
        phi, y = self.source.sample_pairs(n * reps, gen, device)
        g = torch.randn(n * reps, self.p, generator=gen, dtype=_DTYPE, device=device)
        u = a * g + ((g @ V) * b) @ V.T if V.shape[1] else a * g
        X = (phi - mphi) @ W + u
        return X.reshape(reps, n, self.p), (y - my).reshape(reps, n, self.d)

    def risk(self, B_hat: torch.Tensor) -> torch.Tensor:
        """Exact population risk per output of head(s) ``B_hat`` (p, d) or (reps, p, d)."""
        _, _, _, _, Sx, Bs = self._device_tensors(B_hat.device)
        D = B_hat - Bs
        if self._isotropic:
            return self.noise + (D * D).sum(dim=(-2, -1)) / self.d
        return self.noise + (D * (Sx @ D)).sum(dim=(-2, -1)) / self.d


# ----------------------------------------------------------------------------------------------------------------
# Heads, Monte Carlo risks, summaries
def fit_head(X: Any, Y: Any, ridge: float = 0.0):
    """Fit a linear head ``B`` (p x d) on features ``X`` (n x p) and targets ``Y`` (n x d) ({prf:ref}`def-dd-head`).

    ``ridge == 0``: the minimum-norm least-squares head ``B = X^+ Y`` (SVD pseudo-inverse; ``(X^T X)^{-1} X^T Y``
    for ``p <= n`` and ``X^T (X X^T)^{-1} Y`` for ``p >= n`` when ``X`` has full rank). ``ridge > 0``: the ridge head
    minimising ``(1/n)||Y - X B||^2 + ridge ||B||^2``, ``B = X^T (X X^T + n ridge I)^{-1} Y``. Batched inputs
    ``(reps, n, p)`` / ``(reps, n, d)`` are fitted independently. numpy in, numpy out; torch in, torch out.

    Raises
    ------
    ValueError
        For mismatched rows, wrong dimensions, NaN/inf or a negative ridge.
    """
    numpy_out = not is_torch(X)
    ndim = np.ndim(X) if not is_torch(X) else X.ndim
    if ndim not in (2, 3):
        raise ValueError(f"X must be 2-D (n, p) or 3-D (reps, n, p), got {ndim}-D")
    Xt = as_tensor(X, "X", ndim=ndim, dtype=_DTYPE)
    Yt = as_tensor(Y, "Y", ndim=ndim, dtype=_DTYPE).to(Xt.device)
    if Xt.shape[:-1] != Yt.shape[:-1]:
        raise ValueError(f"X and Y must have the same number of rows, got shapes {tuple(Xt.shape)} and "
                         f"{tuple(Yt.shape)}")
    ridge = check_nonnegative(ridge, "ridge")
    B = _fit(Xt, Yt, ridge)
    return B.cpu().numpy() if numpy_out else B


def _fit(X: torch.Tensor, Y: torch.Tensor, ridge: float) -> torch.Tensor:
    n, p = X.shape[-2], X.shape[-1]
    if ridge == 0.0:
        # full-rank Gaussian designs: normal equations on the smaller side (much cheaper than an SVD);
        # the SVD pseudo-inverse is the fallback for rank-deficient or numerically singular designs
        Xt = X.transpose(-2, -1)
        try:
            if p <= n:
                B = torch.linalg.solve(Xt @ X, Xt @ Y)
            else:
                B = Xt @ torch.linalg.solve(X @ Xt, Y)
            if bool(torch.isfinite(B).all()):
                return B
        except RuntimeError:  # torch.linalg.LinAlgError: singular system
            pass
        return torch.linalg.pinv(X) @ Y
    if p <= n:
        G = X.transpose(-2, -1) @ X + n * ridge * torch.eye(p, dtype=X.dtype, device=X.device)
        return torch.linalg.solve(G, X.transpose(-2, -1) @ Y)
    G = X @ X.transpose(-2, -1) + n * ridge * torch.eye(n, dtype=X.dtype, device=X.device)
    return X.transpose(-2, -1) @ torch.linalg.solve(G, Y)


def _seed_for(seed: int, *keys: int) -> int:
    return int(np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(1, dtype=np.uint64)[0] >> 1)


def simulate_head_risks(task: HeadTask, n: int, reps: int, ridge: float = 0.0, seed: int = 0,
                        device: Any = None, max_elements: int = 2 ** 24) -> np.ndarray:
    """Monte Carlo: exact population risks of ``reps`` heads, each fitted on a fresh training set of size ``n``.

    The generator is seeded from ``(seed, p, n)`` so that a model size gives the same numbers whatever the order in
    which sizes are simulated. Runs on ``device`` (default CUDA when present); training sets are processed in
    chunks of at most ``max_elements`` feature entries.

    Returns
    -------
    numpy.ndarray (reps,)

    Raises
    ------
    ValueError
        For non-positive ``n``/``reps``, a negative ridge or seed.
    """
    if not isinstance(task, HeadTask):
        raise ValueError(f"task must be a HeadTask, got {type(task).__name__}")
    n = check_positive_int(n, "n")
    reps = check_positive_int(reps, "reps")
    ridge = check_nonnegative(ridge, "ridge")
    seed = check_positive_int(seed, "seed", 0)
    dev = get_device() if device is None else torch.device(device)
    gen = torch.Generator(device=dev).manual_seed(_seed_for(seed, task.p, n))
    chunk = max(1, min(reps, max_elements // max(1, n * task.p)))
    out = []
    done = 0
    while done < reps:
        m = min(chunk, reps - done)
        X, Y = task.sample(n, m, gen, dev)
        out.append(task.risk(_fit(X, Y, ridge)).cpu())
        done += m
    return torch.cat(out).numpy()


def summarize_risks(risks: Any) -> dict[str, float]:
    """Mean, standard error, median and 10%/90% quantiles of Monte Carlo risks (1-D, at least 2 values).

    Raises
    ------
    ValueError
        For fewer than 2 values or NaN.
    """
    r = np.asarray(risks.detach().cpu().numpy() if is_torch(risks) else risks, dtype=np.float64)
    if r.ndim != 1 or r.size < 2:
        raise ValueError(f"risks must be 1-D with at least 2 values, got shape {r.shape}")
    if np.any(np.isnan(r)):
        raise ValueError("risks contain NaN")
    q10, med, q90 = np.quantile(r, [0.1, 0.5, 0.9])
    return {"mean": float(r.mean()), "se": float(r.std(ddof=1) / np.sqrt(r.size)), "median": float(med),
            "q10": float(q10), "q90": float(q90)}


def peak_location(ps: Any, values: Any) -> int:
    """The model size at which ``values`` is largest (ties: the first).

    Raises
    ------
    ValueError
        For mismatched lengths or empty input.
    """
    P = check_finite_array(ps, "ps", ndim=1)
    v = np.asarray(values, dtype=np.float64)
    if v.shape != P.shape or P.size == 0:
        raise ValueError(f"ps and values must be 1-D of the same non-zero length, got {P.shape} and {v.shape}")
    return int(P[int(np.argmax(np.where(np.isnan(v), -np.inf, v)))])


def model_size_grid(p_min: int, p_max: int, num: int, n: int | None = None) -> np.ndarray:
    """Integer model sizes, log-spaced in ``[p_min, p_max]`` (``num`` points before de-duplication).

    With ``n`` given, the interpolation threshold ``n - 1, n, n + 1`` and the sizes ``n - 4`` and ``n + 4`` (the
    closest sizes where the risk has finite variance, {ref}`ex-dd-chi2`) are added when they lie in the range.

    Raises
    ------
    ValueError
        For ``p_min < 1``, ``p_max < p_min`` or ``num < 2``.
    """
    p_min = check_positive_int(p_min, "p_min")
    p_max = check_positive_int(p_max, "p_max")
    num = check_positive_int(num, "num", 2)
    if p_max < p_min:
        raise ValueError(f"p_max ({p_max}) must be >= p_min ({p_min})")
    ps = set(np.unique(np.round(np.geomspace(p_min, p_max, num)).astype(int)).tolist())
    if n is not None:
        n = check_positive_int(n, "n")
        ps |= {q for q in (n - 4, n - 1, n, n + 1, n + 4) if p_min <= q <= p_max}
    return np.array(sorted(ps), dtype=int)


def simulate_curve(make_task, ps: Sequence[int], n: int, reps: int, ridge: Any = 0.0, seed: int = 0,
                   device: Any = None, desc: str | None = None) -> dict[str, np.ndarray]:
    """Monte Carlo risk curve against its theory, one :class:`HeadTask` per model size.

    Parameters
    ----------
    make_task : callable
        ``make_task(p) -> HeadTask``.
    ps : sequence of int
        Model sizes.
    n, reps : int
        Training-set size and number of training sets per size.
    ridge : float or callable
        Ridge penalty, or ``ridge(task) -> float`` (e.g. the optimal penalty of each size); 0 is the min-norm head.
    seed : int
    device : optional
    desc : str, optional
        Progress-bar label (:func:`mylib.progress`).

    Returns
    -------
    dict of numpy arrays
        ``p``, ``theory`` (:meth:`HeadTask.theory`), ``noise``, ``signal``, ``ridge``, and the
        :func:`summarize_risks` fields ``mean``, ``se``, ``median``, ``q10``, ``q90``.
    """
    from ..runtime import progress

    keys = ("p", "theory", "noise", "signal", "ridge", "mean", "se", "median", "q10", "q90")
    out: dict[str, list] = {k: [] for k in keys}
    for p in progress(list(ps), desc=desc or "model sizes", unit="size"):
        task = make_task(int(p))
        if not isinstance(task, HeadTask):
            raise ValueError("make_task must return a HeadTask")
        lam = float(ridge(task)) if callable(ridge) else check_nonnegative(ridge, "ridge")
        s = summarize_risks(simulate_head_risks(task, n, reps, ridge=lam, seed=seed, device=device))
        row = dict(p=int(p), theory=task.theory(n, ridge=lam), noise=task.noise, signal=task.signal, ridge=lam, **s)
        for k in keys:
            out[k].append(row[k])
    return {k: np.asarray(v, dtype=np.float64 if k != "p" else np.int64) for k, v in out.items()}


def curve_agreement(curve: dict[str, np.ndarray], n: int, min_gap: int = 4, p_min: float = 0,
                    p_max: float = math.inf) -> dict[str, float]:
    """Largest relative error and largest ``|z|`` of simulation against theory over the sizes with
    ``|p - n| >= min_gap`` and ``p_min <= p <= p_max`` (finite theory only).

    Returns
    -------
    dict
        ``max_rel_error``, ``max_abs_z`` and ``sizes`` (how many sizes were compared).

    Raises
    ------
    ValueError
        If no size qualifies.
    """
    n = check_positive_int(n, "n")
    p = np.asarray(curve["p"])
    th, m, se = (np.asarray(curve[k], dtype=np.float64) for k in ("theory", "mean", "se"))
    sel = (np.abs(p - n) >= min_gap) & (p >= p_min) & (p <= p_max) & np.isfinite(th)
    if not sel.any():
        raise ValueError("no model size qualifies for the comparison")
    rel = np.abs(m[sel] / th[sel] - 1)
    z = np.abs(m[sel] - th[sel]) / np.where(se[sel] > 0, se[sel], np.inf)
    return {"max_rel_error": float(rel.max()), "max_abs_z": float(z.max()), "sizes": int(sel.sum())}


def format_curve(curve: dict[str, np.ndarray], n: int, digits: int = 4) -> str:
    """A text table of a :func:`simulate_curve` result: theory, simulated mean, standard error, relative error and
    z-score per size. Rows with ``|p - n| <= 3`` are marked ``*``: there the risk has infinite variance
    ({ref}`ex-dd-chi2`) or infinite mean, so their standard errors are not meaningful."""
    n = check_positive_int(n, "n")
    lines = [f"{'p':>5} {'theory':>11} {'sim mean':>11} {'s.e.':>9} {'rel.err':>8} {'z':>6}"]
    for i, p in enumerate(curve["p"]):
        th, m, se = curve["theory"][i], curve["mean"][i], curve["se"][i]
        mark = " *" if abs(int(p) - n) <= 3 else ""
        if np.isfinite(th):
            rel, z = f"{m / th - 1:+.{max(digits - 1, 1)}f}", f"{(m - th) / se:+.1f}" if se > 0 else "nan"
            ths = f"{th:.{digits}g}"
        else:
            rel, z, ths = "", "", "inf"
        lines.append(f"{int(p):>5} {ths:>11} {m:>11.{digits}g} {se:>9.{max(digits - 1, 1)}g} {rel:>8} {z:>6}{mark}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------
# The explorer's figure
def plot_double_descent(n: int = 40, state_noise: float = 1.0, readout: float = 0.9, strength: float = 0.8,
                        alpha: float = 2.0, reveal_factor: int = 3, p_points: int = 400, axes=None):
    """Draw the theory curves of Part IV for the isotropic HMM ``A = a I``, ``Q = q I`` (two panels).

    Left, the degenerate (spread) model ({prf:ref}`cor-dd-degenerate`): :func:`ridgeless_risk` with the noise and
    signal of :func:`ar1_noise_signal`, its bias and variance parts, the null head and the optimally tuned ridge
    head (:func:`deterministic_equivalent_risk` at :func:`optimal_ridge`). Right, the revealing contrast
    ({prf:ref}`prop-dd-reveal`) for :func:`decaying_chain` of dimension ``reveal_factor * n`` (:func:`reveal_risk`),
    with its best size marked.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For invalid HMM parameters (see :func:`ar1_noise_signal`) or sizes.
    """
    import matplotlib.pyplot as plt

    n = check_positive_int(n, "n", 8)
    p_points = check_positive_int(p_points, "p_points", 10)
    reveal_factor = check_positive_int(reveal_factor, "reveal_factor", 2)
    noise, signal = ar1_noise_signal(strength, state_noise, readout)
    total, inc = decaying_chain_increments(reveal_factor * n, strength, state_noise, readout, alpha)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    else:
        fig = axes[0].figure
    p = np.unique(np.concatenate([np.geomspace(1, 10 * n, p_points), [n - 1, n, n + 1]]))
    t = ridgeless_risk_terms(p, n, noise, signal)
    total_risk = t["noise"] + t["bias"] + t["variance"]
    ax = axes[0]
    ax.plot(p, total_risk, color="C0", lw=2, label="min-norm head")
    ax.plot(p, t["noise"] + t["variance"], color="C1", ls="--", lw=1, label="noise + variance")
    ax.plot(p, t["noise"] + t["bias"], color="C2", ls=":", lw=1.5, label="noise + bias")
    pr = np.unique(np.round(p).astype(int))
    if signal > 0:
        rr = [deterministic_equivalent_risk(np.ones(q), np.full(q, signal / q), n, noise,
                                            ridge=optimal_ridge(q, n, noise, signal)) for q in pr]
        ax.plot(pr, rr, color="C3", lw=1.5, label="optimal ridge (det. equiv.)")
    ax.axvline(n, color="grey", lw=0.8)
    ax.axhline(noise + signal, color="grey", lw=0.8, ls="-.", label="null head")
    ax.set_xscale("log")
    ax.set_yscale("log")
    top = max(10 * (noise + signal), 2 * noise)
    ax.set_ylim(max(0.8 * noise, 1e-3 * top), top)
    ax.set_xlabel("model size p (representation width)")
    ax.set_ylabel("expected test risk per output")
    ax.set_title(f"degenerate: noise {noise:.3g}, signal {signal:.3g}", fontsize=10)
    ax.legend(fontsize=8)
    ps = np.arange(0, inc.size + 1)
    rv = reveal_risk(ps, n, total, inc)
    best = int(ps[np.argmin(rv)])
    ax = axes[1]
    ax.plot(ps[1:], rv[1:], color="C4", lw=2, label="revealing read-out")
    ax.plot([best], [rv[best]], "o", color="C4", ms=7, label=f"best size p = {best}")
    ax.axvline(n, color="grey", lw=0.8)
    ax.axhline(total, color="grey", lw=0.8, ls="-.", label="null head")
    ax.set_yscale("log")
    finite = rv[np.isfinite(rv)]
    ax.set_ylim(0.8 * finite.min(), 10 * total)
    ax.set_xlabel("model size p (revealed directions)")
    ax.set_ylabel("expected test risk per output")
    ax.set_title(f"contrast: D = {inc.size}, q_j ~ (j+1)^-{alpha:g}", fontsize=10)
    ax.legend(fontsize=8)
    return fig
