"""Closed forms of Part III: the exact error recursion and everything it gives.

Conventions: ``gammas`` and ``lams`` are arrays of shape ``(T, p)`` holding the eigenvalues
:math:`\\gamma_j^{(t)}` of :math:`\\Sigma_t = X_t^\\top X_t / n_t` and :math:`\\lambda_j^{(t)}` of :math:`\\Xi_t` in
the common eigenbasis :math:`v_1, \\dots, v_p` (fixed design, {prf:ref}`asm-lcl-fixed-design`); ``ns`` has
length ``T``; ``e0`` holds the ``p`` initial squared errors :math:`(v_j^\\top w^*)^2` (the learner starts from
:math:`\\hat w_0 = 0`). Everything is numpy float64; torch inputs are accepted and converted; complex input is a
``TypeError``.

* the recursion :func:`gr_error` ({prf:ref}`thm-lcl-recursion`) and its special cases :func:`ridge_error`,
  :func:`oracle_error`, :func:`minnorm_error`, :func:`optimal_gr_error`, with :func:`minnorm_floor`;
* the eigenvalues of the named regularizers: :func:`optimal_lams`, :func:`practical_lams`;
* oracle-tuned ridge: :func:`tune_ridge` (greedy, constant or jointly tuned), :func:`tune_ridge_design`;
* any design, any :math:`\\Xi_t`: :func:`gr_error_design` (exact given the designs);
* isotropic Gaussian designs: :func:`oracle_error_gaussian`, :func:`minnorm_error_gaussian`;
* early stopping: :func:`early_stopping_to_gr`, :func:`gr_to_early_stopping`.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from scipy.optimize import minimize_scalar

from .._checks import check_positive_int
from ..linalg import isotropic_ls_variance
from ._common import (_RTOL, _arr, _closed_inputs, _design_list, _e0, _lams, _memory_rank, _ns, _psd_solve,
                      _real_scalar, _spectra)
from .estimators import _xi_list

__all__ = ["gr_error", "optimal_gr_error", "optimal_lams", "practical_lams", "oracle_error", "minnorm_error",
           "ridge_error", "tune_ridge", "gr_error_design", "tune_ridge_design", "minnorm_floor",
           "oracle_error_gaussian", "minnorm_error_gaussian", "early_stopping_to_gr", "gr_to_early_stopping",
           "memory_lams", "memory_error", "oracle_order_constant"]


def gr_error(gammas: Any, lams: Any, ns: Any, sigma2: float, e0: Any, *, per_direction: bool = False
             ) -> np.ndarray:
    """Expected squared error of GR after each task, by the recursion of {prf:ref}`thm-lcl-recursion`:

    .. math::

        e_j^{(t)} = \\frac{(\\lambda_j^{(t)})^2 e_j^{(t-1)} + \\sigma^2 \\gamma_j^{(t)} / n_t}
                         {(\\lambda_j^{(t)} + \\gamma_j^{(t)})^2},
        \\qquad E\\lVert \\hat w_t - w^* \\rVert^2 = \\sum_j e_j^{(t)},

    exact for the fixed design ({prf:ref}`asm-lcl-fixed-design`) with :math:`\\Xi_t` diagonal in the
    common basis. :math:`\\lambda = +\\infty` is allowed (the direction is frozen: :math:`e^{(t)} = e^{(t-1)}`).

    Parameters
    ----------
    gammas, lams : array (T, p)
    ns : array (T,)
    sigma2 : float
    e0 : array (p,)
    per_direction : bool
        Return the (T, p) array :math:`e_j^{(t)}` instead of its row sums.

    Returns
    -------
    numpy.ndarray
        Shape (T,): :math:`E\\lVert \\hat w_t - w^* \\rVert^2` after each task; (T, p) with ``per_direction``.

    Raises
    ------
    ValueError
        Shapes that disagree, negative eigenvalues, ``sigma2`` or ``e0``, NaN, or
        :math:`\\lambda_j^{(t)} + \\gamma_j^{(t)} = 0` (the GR problem has no unique solution there;
        use :func:`minnorm_error` for the :math:`\\Xi \\to 0^+` limit).
    """
    g, n, s2, e = _closed_inputs(gammas, ns, sigma2, e0)
    lam = _lams(lams, g.shape)
    bad = np.argwhere(lam + g == 0)
    if bad.size:
        t, j = bad[0]
        raise ValueError(f"lambda + gamma = 0 at task {t}, direction {j}: the GR objective has no unique "
                         "minimiser there (use minnorm_error for the Xi -> 0+ limit)")
    out = np.empty_like(g)
    inf = np.isinf(lam)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(inf, 1.0, lam / (lam + g))
        inv = np.where(inf, 0.0, 1.0 / (lam + g))
    for t in range(g.shape[0]):
        e = ratio[t] ** 2 * e + (s2 / n[t]) * (g[t] * inv[t]) * inv[t]  # (g * inv) first: no overflow
        out[t] = e
    return out if per_direction else out.sum(1)


def optimal_lams(gammas: Any, ns: Any, sigma2: float, e0: Any) -> np.ndarray:
    """Optimal GR eigenvalues :math:`\\lambda_j^{(t)*} = \\sigma^2 / (n_t e_j^{(t-1)})` ({prf:ref}`thm-lcl-optimal`),
    with :math:`e^{(t-1)}` the optimal errors; equivalently
    :math:`\\lambda_j^{(t)*} = (\\sigma^2/e_j^{(0)} + \\sum_{\\tau<t} n_\\tau\\gamma_j^{(\\tau)})/n_t`.
    +inf where :math:`e_j^{(t-1)} = 0` or where the direction is unobserved and :math:`\\sigma^2 = 0`.

    Parameters
    ----------
    gammas, ns, sigma2, e0
        As in :func:`gr_error`.

    Returns
    -------
    numpy.ndarray, shape (T, p)

    Raises
    ------
    ValueError
        As :func:`gr_error`.
    """
    g, n, s2, e = _closed_inputs(gammas, ns, sigma2, e0)
    prev = np.vstack([e[None, :], optimal_gr_error(g, n, s2, e, per_direction=True)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.where(prev > 0, s2 / (n[:, None] * np.where(prev > 0, prev, 1.0)), np.inf)
    return np.where((lam == 0) & (g == 0), np.inf, lam)


def optimal_gr_error(gammas: Any, ns: Any, sigma2: float, e0: Any, *, per_direction: bool = False
                     ) -> np.ndarray:
    """Error of the optimal GR algorithm ({prf:ref}`thm-lcl-optimal`):

    .. math:: E\\lVert\\hat w_t - w^*\\rVert^2 = \\sum_j \\frac{\\sigma^2}{\\sigma^2/e_j^{(0)} + \\sum_{\\tau\\le t} n_\\tau \\gamma_j^{(\\tau)}}

    (computed as :math:`\\sigma^2 e^{(0)}/(\\sigma^2 + e^{(0)} S)`, which is also right when
    :math:`e^{(0)} = 0` or :math:`\\sigma^2 = 0`).

    Parameters
    ----------
    gammas, ns, sigma2, e0
        As in :func:`gr_error`.
    per_direction : bool
        Return the ``(T, p)`` per-direction errors.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` (or ``(T, p)``).

    Raises
    ------
    ValueError
        As :func:`gr_error`.
    """
    g, n, s2, e = _closed_inputs(gammas, ns, sigma2, e0)
    S = np.cumsum(n[:, None] * g, axis=0)
    den = s2 + e * S
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, s2 * e / np.where(den > 0, den, 1.0), e)
    out = np.broadcast_to(out, g.shape).copy()
    return out if per_direction else out.sum(1)


def practical_lams(gammas: Any, ns: Any) -> np.ndarray:
    """Eigenvalues of the practical :math:`\\Xi_t = \\tfrac1{n_t}\\sum_{\\tau<t} n_\\tau\\Sigma_\\tau`:
    :math:`\\lambda_j^{(t)} = \\sum_{\\tau<t} n_\\tau\\gamma_j^{(\\tau)}/n_t`. Their error is
    :func:`oracle_error` ({prf:ref}`prop-lcl-practical`; the first task has :math:`\\Xi_1 = 0`).

    Parameters
    ----------
    gammas : array_like, shape (T, p)
    ns : array_like, shape (T,)

    Returns
    -------
    numpy.ndarray, shape (T, p)

    Raises
    ------
    ValueError
        As :func:`gr_error`.
    """
    g = _spectra(gammas)
    n = _ns(ns, g.shape[0])
    S = np.cumsum(n[:, None] * g, axis=0)
    prev = np.vstack([np.zeros((1, g.shape[1])), S[:-1]])
    return prev / n[:, None]


def oracle_error(gammas: Any, ns: Any, sigma2: float, e0: Any, *, per_direction: bool = False) -> np.ndarray:
    """Oracle (least squares on all data, minimum norm) error in the fixed design ({prf:ref}`thm-lcl-oracle`):

    .. math:: \\sum_{j:\\,S_j^{(t)}>0} \\frac{\\sigma^2}{S_j^{(t)}} + \\sum_{j:\\,S_j^{(t)}=0} e_j^{(0)},
              \\qquad S_j^{(t)} = \\sum_{\\tau\\le t} n_\\tau\\gamma_j^{(\\tau)},

    i.e. :math:`\\sigma^2\\operatorname{tr}((\\sum_\\tau n_\\tau\\Sigma_\\tau)^{-1})` when that matrix is invertible
    (isotropic :math:`\\Sigma_\\tau = I`: :math:`\\sigma^2 p / N_t`). Practical GR has the same error.

    Parameters
    ----------
    gammas, ns, sigma2, e0
        As in :func:`gr_error`.
    per_direction : bool
        Return the ``(T, p)`` per-direction errors.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` (or ``(T, p)``).

    Raises
    ------
    ValueError
        As :func:`gr_error`.
    """
    g, n, s2, e = _closed_inputs(gammas, ns, sigma2, e0)
    S = np.cumsum(n[:, None] * g, axis=0)
    with np.errstate(divide="ignore"):
        out = np.where(S > 0, s2 / np.where(S > 0, S, 1.0), e)
    return out if per_direction else out.sum(1)


def minnorm_error(gammas: Any, ns: Any, sigma2: float, e0: Any, *, per_direction: bool = False) -> np.ndarray:
    """Minimum-norm (:math:`\\Xi_t\\to 0^+`) error in the fixed design ({prf:ref}`thm-lcl-minnorm-floor`):
    :math:`e_j^{(t)} = \\sigma^2/(n_t\\gamma_j^{(t)})` if :math:`\\gamma_j^{(t)}>0`, else :math:`e_j^{(t-1)}`.

    Parameters
    ----------
    gammas, ns, sigma2, e0
        As in :func:`gr_error`.
    per_direction : bool
        Return the ``(T, p)`` per-direction errors.

    Returns
    -------
    numpy.ndarray
        ``(T,)`` (or ``(T, p)``).

    Raises
    ------
    ValueError
        As :func:`gr_error`.
    """
    g, n, s2, e = _closed_inputs(gammas, ns, sigma2, e0)
    out = np.empty_like(g)
    for t in range(g.shape[0]):
        with np.errstate(divide="ignore"):
            e = np.where(g[t] > 0, s2 / (n[t] * np.where(g[t] > 0, g[t], 1.0)), e)
        out[t] = e
    return out if per_direction else out.sum(1)


def minnorm_floor(gammas: Any, ns: Any, sigma2: float) -> np.ndarray:
    """Lower bound of {prf:ref}`thm-lcl-minnorm-floor`: after task :math:`t` the minimum-norm error is at least
    :math:`\\sigma^2\\operatorname{tr}(\\Sigma_t^+)/n_t = \\sum_{j:\\gamma_j^{(t)}>0}\\sigma^2/(n_t\\gamma_j^{(t)})`,
    whatever happened before.

    Parameters
    ----------
    gammas : array_like, shape (T, p)
    ns : array_like, shape (T,)
    sigma2 : float

    Returns
    -------
    numpy.ndarray, shape (T,)

    Raises
    ------
    ValueError
        As :func:`gr_error`.
    """
    g = _spectra(gammas)
    n = _ns(ns, g.shape[0])
    s2 = _real_scalar(sigma2, "sigma2")
    with np.errstate(divide="ignore"):
        return np.where(g > 0, s2 / (n[:, None] * np.where(g > 0, g, 1.0)), 0.0).sum(1)


def ridge_error(gammas: Any, lam: Any, ns: Any, sigma2: float, e0: Any) -> np.ndarray:
    """Continual ridge (:math:`\\Xi_t = \\lambda_t I`) error, :func:`gr_error` with equal eigenvalues.
    ``lam`` is a scalar or has one value per task.

    Implements {prf:ref}`thm-lcl-recursion` for :math:`\\Xi_t = \\lambda_t I`.

    Parameters
    ----------
    gammas, ns, sigma2, e0
        As in :func:`gr_error`.
    lam : float or array_like, shape (T,)

    Returns
    -------
    numpy.ndarray, shape (T,)

    Raises
    ------
    ValueError
        As :func:`gr_error`, or ``lam`` of the wrong length.
    """
    g = _spectra(gammas)
    lam = _arr(lam, "lam", nonnegative=True)
    if lam.ndim > 1 or (lam.ndim == 1 and lam.shape[0] != g.shape[0]):
        raise ValueError(f"lam must be a scalar or have length T={g.shape[0]}, got shape {lam.shape}")
    lams = np.broadcast_to(np.reshape(lam, (-1, 1)) if lam.ndim else lam, g.shape)
    return gr_error(g, lams, ns, sigma2, e0)


def _ridge_step_errors(lams: np.ndarray, e: np.ndarray, g: np.ndarray, n: float, s2: float) -> np.ndarray:
    """Sum over directions of the one-step error for each candidate ridge value (vectorised)."""
    L = lams[:, None]
    return ((L ** 2 * e + s2 * g / n) / (L + g) ** 2).sum(1)


def _ridge_grid(grid: Any, scale: float) -> np.ndarray:
    """The candidate ridge parameters: ``scale * logspace(-8, 8, 161)`` by default, else ``grid`` (sorted).

    Raises
    ------
    ValueError
        If ``grid`` is empty, not 1-D, not finite or not positive.
    """
    if grid is None:
        return scale * np.logspace(-8, 8, 161)
    grid = np.sort(_arr(grid, "grid", ndim=1))
    if grid.size == 0 or grid[0] <= 0:
        raise ValueError("grid must be a non-empty array of positive values")
    return grid


def _refine_on_grid(f, grid: np.ndarray, grid_vals: np.ndarray) -> float:
    """Minimiser of ``f`` over ``grid`` (values ``grid_vals``), refined by a bounded search in ``log lambda``
    between the best point's neighbours; the grid point is kept unless the search does at least as well."""
    i = int(np.argmin(grid_vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    if lo == hi:
        return float(grid[i])
    res = minimize_scalar(lambda u: f(np.exp(u)), bounds=(np.log(lo), np.log(hi)), method="bounded",
                          options={"xatol": 1e-10})
    return float(np.exp(res.x)) if res.fun <= grid_vals[i] else float(grid[i])


def _ridge_final_and_grad(u: np.ndarray, g: np.ndarray, n: np.ndarray, s2: float, e: np.ndarray
                          ) -> tuple[float, np.ndarray]:
    """Final error of continual ridge with :math:`\\lambda_t = e^{u_t}` and its gradient in ``u``.

    With :math:`a_{tj} = (\\lambda_t/(\\lambda_t+\\gamma_j^{(t)}))^2`, the error after task :math:`T` depends on
    :math:`\\lambda_t` through :math:`e^{(t)}` only, multiplied by :math:`\\prod_{\\tau>t} a_{\\tau j}`, and
    :math:`\\partial e_j^{(t)}/\\partial\\lambda_t = 2\\gamma_j^{(t)}(\\lambda_t e_j^{(t-1)} - \\sigma^2/n_t)/(\\lambda_t+\\gamma_j^{(t)})^3`.
    """
    lam = np.exp(u)[:, None]
    T = g.shape[0]
    prev = np.empty_like(g)
    cur = e.copy()
    for t in range(T):
        prev[t] = cur
        cur = (lam[t] ** 2 * cur + s2 * g[t] / n[t]) / (lam[t] + g[t]) ** 2
    a = (lam / (lam + g)) ** 2
    suffix = np.ones_like(g)
    for t in range(T - 2, -1, -1):
        suffix[t] = suffix[t + 1] * a[t + 1]
    de = 2 * g * (lam * prev - s2 / n[:, None]) / (lam + g) ** 3
    return float(cur.sum()), (suffix * de).sum(1) * lam[:, 0]


def tune_ridge(gammas: Any, ns: Any, sigma2: float, e0: Any, *, mode: str = "greedy",
               grid: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Oracle-tuned continual ridge :math:`\\Xi_t = \\lambda_t I` (uses :math:`e^{(0)}`, i.e. knowledge of :math:`w^*`).

    Implements the tuned ridge of {prf:ref}`thm-lcl-ridge-gap` and of the paper's experiment.

    Parameters
    ----------
    gammas : array_like, shape (T, p)
        Task spectra in the common eigenbasis.
    ns : array_like, shape (T,)
        Sample sizes.
    sigma2 : float
        Noise variance.
    e0 : array_like, shape (p,)
        Initial squared errors :math:`(v_j^\\top w^*)^2`.
    mode : {"greedy", "constant", "joint"}
        ``"greedy"``: at each task the :math:`\\lambda_t > 0` minimising the expected error *after that task*
        given the current errors (myopic). ``"constant"``: one :math:`\\lambda` for all tasks minimising the error
        after the last task. ``"joint"``: all :math:`\\lambda_1, \\dots, \\lambda_T` together minimising the error
        after the last task (L-BFGS in :math:`\\log\\lambda` with the exact gradient of the recursion
        {prf:ref}`thm-lcl-recursion`, started from the greedy values and never worse than them at :math:`T`).
    grid : array_like, optional
        Candidate values for the greedy and constant searches (default :math:`10^{-8}`--:math:`10^{8}` times the
        mean non-zero :math:`\\gamma`, refined by a bounded scalar minimisation in :math:`\\log\\lambda`).

    Returns
    -------
    lams : numpy.ndarray, shape (T,)
        The chosen values.
    errors : numpy.ndarray, shape (T,)
        Expected errors after each task (:func:`ridge_error`).

    Raises
    ------
    ValueError
        Unknown ``mode``, bad grid or shapes. TypeError for complex input.
    """
    g, n, s2, e = _closed_inputs(gammas, ns, sigma2, e0)
    if mode not in ("greedy", "constant", "joint"):
        raise ValueError(f"mode must be 'greedy', 'constant' or 'joint', got {mode!r}")
    pos = g[g > 0]
    scale = pos.mean() if pos.size else 1.0
    grid = _ridge_grid(grid, scale)

    def refine(f, grid_vals):
        return _refine_on_grid(f, grid, grid_vals)

    T = g.shape[0]
    if mode in ("greedy", "joint"):
        lams = np.empty(T)
        cur = e.copy()
        for t in range(T):
            vals = _ridge_step_errors(grid, cur, g[t], n[t], s2)
            lams[t] = refine(lambda l: float(_ridge_step_errors(np.array([l]), cur, g[t], n[t], s2)[0]), vals)
            cur = (lams[t] ** 2 * cur + s2 * g[t] / n[t]) / (lams[t] + g[t]) ** 2
        if mode == "joint":
            from scipy.optimize import minimize

            u0 = np.log(lams)
            lo, hi = np.log(grid[0]), np.log(grid[-1])
            res = minimize(_ridge_final_and_grad, u0, args=(g, n, s2, e), jac=True, method="L-BFGS-B",
                           bounds=[(lo, hi)] * T, options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-12})
            if res.fun <= _ridge_final_and_grad(u0, g, n, s2, e)[0]:
                lams = np.exp(res.x)
    else:
        final = lambda l: float(ridge_error(g, l, n, s2, e)[-1])
        vals = np.array([final(l) for l in grid])
        lams = np.full(T, refine(final, vals))
    return lams, ridge_error(g, lams, n, s2, e)


def gr_error_design(Xs: Sequence[Any], xis: Sequence[Any] | None, w_star: Any, sigma2: float) -> np.ndarray:
    r"""Exact noise-conditional error of GR for **given** designs (any designs, any :math:`\Xi_t`).

    With :math:`u_t = \hat w_t - w^*` and :math:`M_t = \Sigma_t + \Xi_t`, {prf:ref}`lem-lcl-gr-solution` gives
    :math:`u_t = (I - M_t^\dagger\Sigma_t)u_{t-1} + M_t^\dagger X_t^\top\varepsilon_t/n_t`, so the mean
    :math:`m_t` and covariance :math:`C_t` of :math:`u_t` propagate exactly,

    .. math:: m_t = A_t m_{t-1},\quad C_t = A_t C_{t-1} A_t^\top + \tfrac{\sigma^2}{n_t} M_t^\dagger\Sigma_t M_t^\dagger,
              \qquad E[\lVert u_t\rVert^2 \mid X] = \lVert m_t\rVert^2 + \operatorname{tr} C_t,

    with :math:`A_t = I - M_t^\dagger\Sigma_t`, :math:`m_0 = -w^*`, :math:`C_0 = 0`. Under
    {prf:ref}`asm-lcl-fixed-design` this reproduces {prf:ref}`thm-lcl-recursion`; for a random design it is the
    expectation over the noise given the drawn designs. ``xis`` as in :func:`gr_path` (None: minimum norm).

    Parameters
    ----------
    Xs : list of (n_t, p) arrays
    xis : list of (p, p) PSD arrays (``None`` entries: 0) or None
    w_star : array_like, shape (p,)
    sigma2 : float

    Returns
    -------
    numpy.ndarray, shape (T,)
        :math:`E[\lVert \hat w_t - w^*\rVert^2 \mid X_1, \dots, X_t]`.

    Raises
    ------
    ValueError
        Batched designs, shapes that disagree, a non-symmetric or non-PSD ``xis[t]``. TypeError for complex input.
    """
    Xs = _design_list(Xs)
    if any(X.ndim != 2 for X in Xs):
        raise ValueError("gr_error_design takes one design per task, (n_t, p) arrays")
    p = Xs[0].shape[1]
    xis = _xi_list(xis, len(Xs), p)
    w = _arr(w_star, "w_star", ndim=1)
    if w.shape != (p,):
        raise ValueError(f"w_star must have shape ({p},), got {w.shape}")
    s2 = _real_scalar(sigma2, "sigma2")
    m, C, out = -w.copy(), np.zeros((p, p)), np.empty(len(Xs))
    for t, (X, xi) in enumerate(zip(Xs, xis)):
        n = X.shape[0]
        S = X.T @ X / n
        M = S if xi is None else S + xi
        Mp = _psd_solve(M, np.eye(p)[None])[0]
        A = np.eye(p) - Mp @ S
        m = A @ m
        C = A @ C @ A.T + (s2 / n) * Mp @ S @ Mp.T
        out[t] = m @ m + np.trace(C)
    return out


def tune_ridge_design(Xs: Sequence[Any], w_star: Any, sigma2: float, grid: Any | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    r"""Greedy oracle tuning of continual ridge for **given** designs: at each task the :math:`\lambda_t > 0`
    minimising the exact noise-conditional error of :func:`gr_error_design` after that task (the most
    favourable myopic ridge, knowing :math:`w^*` and the designs). Returns ``(lams, errors)``, each (T,).

    In the eigenbasis :math:`U` of :math:`\Sigma_t` (eigenvalues :math:`s_i`), with :math:`d_i = \lambda/(\lambda+s_i)`,
    the error after the step is :math:`\sum_i d_i^2\big((U^\top m)_i^2 + (U^\top C U)_{ii}\big)
    + \tfrac{\sigma^2}{n_t}\sum_i s_i/(s_i+\lambda)^2`, cheap to evaluate on a grid.

    Implements the greedy tuning of {doc}`../notebooks/part3_paper_experiment` (Gaussian design).

    Parameters
    ----------
    Xs : list of (n_t, p) arrays
    w_star : array_like, shape (p,)
    sigma2 : float
    grid : array_like, optional
        Candidate values (as :func:`tune_ridge`).

    Returns
    -------
    lams, errors : numpy.ndarray, shape (T,)
        The chosen :math:`\lambda_t` and the exact expected error after each task.

    Raises
    ------
    ValueError
        Batched designs, shapes that disagree, a bad grid.
    """

    Xs = _design_list(Xs)
    if any(X.ndim != 2 for X in Xs):
        raise ValueError("tune_ridge_design takes one design per task, (n_t, p) arrays")
    p = Xs[0].shape[1]
    w = _arr(w_star, "w_star", ndim=1)
    if w.shape != (p,):
        raise ValueError(f"w_star must have shape ({p},), got {w.shape}")
    s2 = _real_scalar(sigma2, "sigma2")
    m, C = -w.copy(), np.zeros((p, p))
    lams, errs = np.empty(len(Xs)), np.empty(len(Xs))
    for t, X in enumerate(Xs):
        n = X.shape[0]
        S = X.T @ X / n
        s, U = np.linalg.eigh(S)
        s = np.clip(s, 0.0, None)
        mem = (U.T @ m) ** 2 + np.einsum("ij,ij->j", U, C @ U)
        scale = s[s > _RTOL * max(s.max(), 0)].mean() if np.any(s > 0) else 1.0
        cand = _ridge_grid(grid, scale)

        def err(lam):
            lam = np.atleast_1d(lam)[:, None]
            return ((lam / (lam + s)) ** 2 * mem + (s2 / n) * s / (lam + s) ** 2).sum(1)

        lam = _refine_on_grid(lambda l: float(err(l)[0]), cand, err(cand))
        Mp = (U / (s + lam)) @ U.T
        A = np.eye(p) - Mp @ S
        m = A @ m
        C = A @ C @ A.T + (s2 / n) * Mp @ S @ Mp.T
        lams[t], errs[t] = lam, m @ m + np.trace(C)
    return lams, errs


def oracle_error_gaussian(p: int, N: Any, sigma2: float, w_norm2: float = 1.0) -> np.ndarray:
    """Oracle error for an isotropic Gaussian design (rows i.i.d. :math:`N(0, I_p)`), {prf:ref}`thm-lcl-oracle`:

    .. math::

        E\\lVert\\hat w - w^*\\rVert^2 =
        \\begin{cases} \\sigma^2 p/(N - p - 1), & N \\ge p + 2,\\\\
        (1 - N/p)\\lVert w^*\\rVert^2 + \\sigma^2 N/(p - N - 1), & N \\le p - 2,\\end{cases}

    and :math:`+\\infty` for :math:`p-1 \\le N \\le p+1` (the inverse moments diverge).
    ``N`` (total sample size) may be an array.

    Parameters
    ----------
    p : int
    N : int or array_like
        Total sample sizes.
    sigma2, w_norm2 : float
        Noise variance and :math:`\\lVert w^*\\rVert^2`.

    Returns
    -------
    numpy.ndarray
        The shape of ``N``; the variance factor is :func:`mylib.linalg.isotropic_ls_variance`.

    Raises
    ------
    ValueError
        Non-integer or non-positive ``N``, negative ``sigma2``. TypeError for complex input.
    """
    p = check_positive_int(p, "p")
    N = _arr(N, "N")
    if np.any(N < 1) or np.any(N != np.round(N)):
        raise ValueError("N must be positive integers")
    s2 = _real_scalar(sigma2, "sigma2")
    w2 = _real_scalar(w_norm2, "w_norm2")
    bias = np.where(N <= p - 2, (1 - N / p) * w2, 0.0)
    return bias + s2 * isotropic_ls_variance(N, p)


def minnorm_error_gaussian(p: int, ns: Any, sigma2: float, w_norm2: float = 1.0) -> np.ndarray:
    """Minimum-norm continual error for isotropic Gaussian designs ({prf:ref}`prop-lcl-minnorm-gaussian`):

    .. math:: m_t = (1 - r_t/p)\\, m_{t-1} + \\sigma^2 v(n_t, p), \\quad m_0 = \\lVert w^*\\rVert^2,

    with :math:`r_t = \\min(n_t, p)`, :math:`v = n/(p-n-1)` for :math:`n\\le p-2`,
    :math:`p/(n-p-1)` for :math:`n \\ge p+2` (+inf otherwise).

    Parameters
    ----------
    p : int
    ns : array_like, shape (T,)
    sigma2, w_norm2 : float

    Returns
    -------
    numpy.ndarray, shape (T,)
        :math:`v` is :func:`mylib.linalg.isotropic_ls_variance`.

    Raises
    ------
    ValueError
        Empty or non-positive ``ns``, negative ``sigma2``. TypeError for complex input.
    """
    p = check_positive_int(p, "p")
    n = _arr(ns, "ns", ndim=1)
    if n.size == 0 or np.any(n < 1):
        raise ValueError("ns must be a non-empty array of positive sample sizes")
    s2 = _real_scalar(sigma2, "sigma2")
    m = _real_scalar(w_norm2, "w_norm2")
    v = isotropic_ls_variance(n, p)
    out = np.empty(n.shape)
    for t, nt in enumerate(n):
        m = (1 - min(nt, p) / p) * m + s2 * v[t]
        out[t] = m
    return out


def early_stopping_to_gr(gammas: Any, etas: Any, k: int) -> np.ndarray:
    """GR eigenvalues equal to ``k`` preconditioned gradient steps ({prf:ref}`thm-lcl-early-stopping`):

    .. math:: \\lambda_j = \\gamma_j\\frac{\\rho_j}{1 - \\rho_j},\\qquad \\rho_j = (1 - \\eta_j\\gamma_j)^k,

    for :math:`0 < \\eta_j\\gamma_j \\le 1`; :math:`+\\infty` where :math:`\\gamma_j = 0` (untouched direction;
    any :math:`\\lambda_j \\ge 0` gives the same estimate). ``gammas`` and ``etas`` have equal shapes.

    Parameters
    ----------
    gammas, etas : array_like
        Equal shapes.
    k : int
        Number of steps.

    Returns
    -------
    numpy.ndarray
        :math:`\\lambda_j` (``inf`` where :math:`\\gamma_j = 0`).

    Raises
    ------
    ValueError
        Shapes that differ, :math:`\\eta_j\\gamma_j \\notin (0, 1]` in an observed direction, ``k < 1``.
    """
    g = _arr(gammas, "gammas", nonnegative=True)
    eta = _arr(etas, "etas", nonnegative=True)
    if g.shape != eta.shape or g.size == 0:
        raise ValueError(f"gammas and etas must be non-empty with equal shapes, got {g.shape} and {eta.shape}")
    k = check_positive_int(k, "k")
    x = eta * g
    if np.any((g > 0) & ((x <= 0) | (x > 1))):
        raise ValueError("need 0 < eta_j * gamma_j <= 1 in every observed direction "
                         "(larger steps oscillate and correspond to negative lambda)")
    with np.errstate(divide="ignore", invalid="ignore"):
        logrho = k * np.log1p(-np.where(g > 0, np.minimum(x, 1.0), 0.0))
        rho = np.exp(logrho)
        lam = g * rho / (-np.expm1(logrho))
    return np.where(g > 0, np.where(x >= 1, 0.0, lam), np.inf)


def gr_to_early_stopping(gammas: Any, lams: Any, k: int) -> np.ndarray:
    """Learning rates whose ``k`` steps reproduce GR with eigenvalues ``lams`` ({prf:ref}`thm-lcl-early-stopping`):

    .. math:: \\eta_j = \\big(1 - (\\lambda_j/(\\lambda_j + \\gamma_j))^{1/k}\\big)/\\gamma_j,

    and 0 where :math:`\\gamma_j = 0` (any rate works there).

    Parameters
    ----------
    gammas, lams : array_like
        Equal shapes (``lams`` may be ``inf``).
    k : int

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        Shapes that differ, negative values, ``k < 1``.
    """
    g = _arr(gammas, "gammas", nonnegative=True)
    lam = _lams(lams, g.shape)
    k = check_positive_int(k, "k")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.isinf(lam), 1.0, lam / (lam + g))
        eta = -np.expm1(np.log(ratio) / k) / g
    return np.where(g > 0, np.where(ratio == 0, 1.0 / np.where(g > 0, g, 1.0), eta), 0.0)



def memory_lams(gammas: Any, ns: Any, kind: str, k: int | None = None) -> np.ndarray:
    """Eigenvalues of the memory-limited :math:`\\Xi_t` of :func:`memory_xis` in the fixed design's common basis.

    The stored matrix :math:`B_{t-1}` is diagonal in :math:`v_1, \\dots, v_p` with entries :math:`b_j^{(t-1)}`, and
    :math:`\\lambda_j^{(t)} = b_j^{(t-1)}/n_t`: ``"full"`` :math:`b^{(t)} = b^{(t-1)} + n_t\\gamma^{(t)}` (practical GR,
    :func:`practical_lams`), ``"last"`` :math:`b^{(t)} = n_t\\gamma^{(t)}`, ``"lowrank"``
    :math:`b^{(t)} = [b^{(t-1)} + n_t\\gamma^{(t)}]_k` (the ``k`` largest entries kept, ties broken towards the lower
    index: the fixed design's Gram matrices have tied eigenvalues, and this is the truncation aligned with the
    common basis). ``"diagonal"`` (a diagonal Fisher in the coordinate basis) is not diagonal in :math:`v_j` unless
    :math:`V` is a permutation: use :func:`gr_error_design` with :func:`memory_xis` for it.

    Parameters
    ----------
    gammas : array_like, shape (T, p)
    ns : array_like, shape (T,)
    kind : {"full", "last", "lowrank"}
    k : int, optional
        Rank for ``"lowrank"``.

    Returns
    -------
    numpy.ndarray, shape (T, p)
        :math:`\\lambda_j^{(t)}`, ready for :func:`gr_error` (with :func:`memory_error`).

    Raises
    ------
    ValueError
        Unknown ``kind`` (``"diagonal"`` included), missing or out-of-range ``k``.
    """
    g = _spectra(gammas)
    T, p = g.shape
    n = _ns(ns, T)
    if kind not in ("full", "last", "lowrank"):
        raise ValueError(f"kind must be 'full', 'last' or 'lowrank' (the diagonal Fisher is not diagonal in the "
                         f"common basis: use gr_error_design), got {kind!r}")
    if kind == "lowrank":
        k = _memory_rank(k, p)
    b = np.zeros(p)
    lams = np.empty_like(g)
    for t in range(T):
        lams[t] = b / n[t]
        if kind == "full":
            b = b + n[t] * g[t]
        elif kind == "last":
            b = n[t] * g[t]
        else:
            b = b + n[t] * g[t]
            keep = np.argsort(-b, kind="stable")[:k]
            b = np.where(np.isin(np.arange(p), keep), b, 0.0)
    return lams


def memory_error(gammas: Any, ns: Any, sigma2: float, e0: Any, kind: str, k: int | None = None) -> np.ndarray:
    """Expected error after each task of GR with the memory-limited :math:`\\Xi_t` of :func:`memory_lams`, by the
    recursion of {prf:ref}`thm-lcl-recursion` (fixed design). A direction with :math:`\\lambda_j^{(t)} = \\gamma_j^{(t)} = 0`
    is left unchanged (the :math:`\\Xi \\to 0^+` limit), as the estimator does.

    Parameters
    ----------
    gammas : array_like, shape (T, p)
        Eigenvalues :math:`\\gamma_j^{(t)}` of the tasks' second-moment matrices.
    ns : array_like, shape (T,)
    sigma2 : float
    e0 : array_like, shape (p,)
        Initial error per direction.
    kind : {"full", "last", "lowrank"}
        The memory (:func:`memory_lams`).
    k : int, optional
        Rank for ``"lowrank"``.

    Returns
    -------
    numpy.ndarray, shape (T,)

    Raises
    ------
    ValueError
        As :func:`memory_lams` (unknown ``kind``, missing or out-of-range ``k``) and :func:`gr_error` (shapes,
        negative values, NaN).
    """
    lams = memory_lams(gammas, ns, kind, k)
    g = _spectra(gammas)
    return gr_error(g, np.where((lams == 0) & (g == 0), np.inf, lams), ns, sigma2, e0)


def oracle_order_constant(gammas: Any, ns: Any, sigma2: float, e0: Any) -> np.ndarray:
    """The constant :math:`c_t` of {prf:ref}`cor-lcl-oracle-order`: :math:`c_t \\cdot` oracle :math:`\\le` optimal
    GR :math:`\\le` oracle, with

    .. math:: c_t = \\min_{j:\\,S_j^{(t)} > 0} \\frac{S_j^{(t)}}{S_j^{(t)} + \\sigma^2/e_j^{(0)}},
              \\qquad S_j^{(t)} = \\sum_{\\tau\\le t} n_\\tau\\gamma_j^{(\\tau)}

    (1 when no direction has been observed).

    Parameters
    ----------
    gammas, ns, sigma2, e0
        As in :func:`gr_error`; ``e0 > 0`` where a direction is observed.

    Returns
    -------
    numpy.ndarray, shape (T,)

    Raises
    ------
    ValueError
        Bad shapes or values (as :func:`gr_error`).
    """
    g, n, s2, e = _closed_inputs(gammas, ns, sigma2, e0)
    S = np.cumsum(n[:, None] * g, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(S > 0, S / (S + s2 / e), 1.0)
    return np.min(ratio, axis=1)
