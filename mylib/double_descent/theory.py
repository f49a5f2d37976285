"""Theory curves of Part IV: exact risks of the minimum-norm head, the deterministic equivalent, the revealing
contrast and the closed forms of the isotropic and decaying chains."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..linalg import isotropic_ls_variance
from .._checks import check_finite_array, check_nonnegative, check_positive_int, check_unit_interval, is_torch

__all__ = ["ridgeless_risk", "intercept_ridgeless_risk", "ridgeless_risk_terms", "deterministic_equivalent_risk", "spectral_signal_weights", "reveal_risk", "ar1_noise_signal", "decaying_chain", "decaying_chain_increments", "optimal_ridge"]

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
    ``p``; non-integer ``p`` evaluates the same branches (the variance factor is
    :func:`mylib.linalg.isotropic_ls_variance`, infinite for ``|p - n| < 2`` except at the integers ``n - 2`` and
    ``n + 2``).

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
    variance = noise * isotropic_ls_variance(n, arr) if noise > 0 else np.zeros_like(arr)
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



def intercept_ridgeless_risk(p: Any, n: int, noise: float, signal: float):
    """Expected per-output test risk of the minimum-norm head **with an intercept** (unknown feature mean).

    The head is fitted on the training set centred by its own means, :math:`\\hat B = (X - \\mathbf 1\\bar x)^+
    (Y - \\mathbf 1\\bar y)`, and predicts :math:`\\bar y + (x - \\bar x)\\hat B` ({prf:ref}`prop-dd-intercept`).
    For i.i.d. Gaussian features with identity covariance (any mean), a rotation of the centred rows gives ``n - 1``
    i.i.d. :math:`N(0, I_p)` rows independent of :math:`\\bar x`, and the test error is
    :math:`(x - \\bar x)(B^* - \\hat B) + e - \\bar e` with :math:`x - \\bar x \\sim N(0, (1 + 1/n) I_p)`, so

    .. math:: R_{\\mathrm{int}}(p; n) = \\Bigl(1 + \\frac1n\\Bigr) R(p; n - 1),

    with :math:`R` the known-mean risk of :func:`ridgeless_risk`. It is infinite for :math:`|p - (n - 1)| \\le 1`
    and the interpolation threshold (the median's peak) moves from ``p = n`` to ``p = n - 1``.

    Parameters
    ----------
    p, noise, signal
        As in :func:`ridgeless_risk` (model size(s), noise variance, signal per output; all ``>= 0``).
    n : int
        Training samples, at least 2 (the centred fit has ``n - 1`` effective samples).

    Returns
    -------
    float or numpy.ndarray
        :math:`R_{\\mathrm{int}}(p; n)`, a float for scalar ``p``, else an array of the shape of ``p``.

    Raises
    ------
    ValueError
        If ``n`` is not an integer ``>= 2``, or as :func:`ridgeless_risk` for ``p``, ``noise`` or ``signal``.

    Examples
    --------
    >>> intercept_ridgeless_risk(10, 41, 1.0, 2.0)   # (1 + 1/41) * 39/29
    1.3776282590412112
    """
    n = check_positive_int(n, "n", 2)
    return (1.0 + 1.0 / n) * ridgeless_risk(p, n - 1, noise, signal)

def spectral_signal_weights(Sigma_x: Any, B_star: Any, tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues ``s_i`` of ``Sigma_x`` and signal weights ``w_i = ||v_i^T B*||^2 / d``.

    So that ``sum_i s_i w_i = tr(B*^T Sigma_x B*) / d`` is the per-output signal. These are the inputs of
    :func:`deterministic_equivalent_risk` ({prf:ref}`thm-dd-deteq`). Eigenvalues below ``tol * max`` are set to 0.

    Parameters
    ----------
    Sigma_x : array_like (p, p)
        Symmetric PSD feature covariance.
    B_star : array_like (p, d)
        Population head.
    tol : float
        Relative eigenvalue cut-off.

    Returns
    -------
    eigenvalues, signal_weights : numpy.ndarray (p,)

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

    Returns
    -------
    float or dict
        The risk, or its parts (``terms=True``).

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

    Returns
    -------
    float or numpy.ndarray
        Same shape as ``p``.

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

    Parameters
    ----------
    D : int
        Hidden-state dimension, ``>= 1``.
    strength : float
        Transition strength ``a`` in ``[0, 1)``.
    state_noise : float
        Innovation scale ``q >= 0``.
    alpha : float
        Decay exponent ``>= 0``.

    Returns
    -------
    A, Q : numpy.ndarray (D, D)

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

    Parameters
    ----------
    D, strength, state_noise, alpha
        As :func:`decaying_chain`.
    readout : float
        Read-out quality ``c`` in ``[0, 1]``.

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

    Implements the optimum of {prf:ref}`thm-dd-deteq` for :math:`\\Sigma_x = I_p`.

    Parameters
    ----------
    p, n : int
        Model size and training samples, ``>= 1``.
    noise, signal : float
        ``>= 0``.

    Returns
    -------
    float
        :math:`\\lambda_\\star = \\sigma^2 p / (n S)` (``inf`` when ``signal == 0``).

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
