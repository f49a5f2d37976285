"""Regularization-based continual learning in linear regression (Part III).

A sequence of tasks :math:`y_t = X_t w^* + \\varepsilon_t`, :math:`t = 1, \\dots, T`, shares
the parameter :math:`w^* \\in \\mathbb{R}^p`; :math:`X_t \\in \\mathbb{R}^{n_t \\times p}` and
:math:`\\varepsilon_t \\sim N(0, \\sigma^2 I_{n_t})` independent across tasks. A learner that keeps
only its previous estimate :math:`\\hat w_{t-1}` (and a :math:`p \\times p` matrix) computes the
*generalized* :math:`\\ell_2`-*regularized* (GR) estimator ({prf:ref}`def-lcl-gr`)

.. math::

    \\hat w_t = \\arg\\min_w \\tfrac{1}{n_t}\\lVert X_t w - y_t\\rVert^2
                + (w - \\hat w_{t-1})^\\top \\Xi_t (w - \\hat w_{t-1}).

The module holds

* data generators: :func:`isotropic_tasks`, :func:`covariate_shift_tasks` (fixed or Gaussian design),
  :func:`fixed_design`, :func:`ridge_gap_family`;
* the estimators: :func:`gr_path`, :func:`oracle_path`, :func:`minnorm_path`, :func:`ridge_path`,
  :func:`practical_path`, :func:`optimal_path`, :func:`early_stopping`, and the Monte Carlo driver
  :func:`monte_carlo`;
* the closed forms: :func:`gr_error` (the recursion of {prf:ref}`thm-lcl-recursion`),
  :func:`optimal_gr_error`, :func:`optimal_lams`, :func:`practical_lams`, :func:`oracle_error`,
  :func:`minnorm_error`, :func:`ridge_error`, :func:`tune_ridge`, :func:`oracle_error_gaussian`,
  :func:`minnorm_error_gaussian`, :func:`minnorm_floor`, the design-conditional :func:`gr_error_design` and
  :func:`tune_ridge_design`, and the early-stopping maps :func:`early_stopping_to_gr`, :func:`gr_to_early_stopping`;
* helpers: :func:`mc_summary` (mean, standard error, z-scores), :func:`explorer_curves`, :func:`explorer_plot`.

Conventions for the closed forms: ``gammas`` and ``lams`` are arrays of shape ``(T, p)`` holding the
eigenvalues :math:`\\gamma_j^{(t)}` of :math:`\\Sigma_t = X_t^\\top X_t / n_t` and :math:`\\lambda_j^{(t)}` of
:math:`\\Xi_t` in the common eigenbasis :math:`v_1, \\dots, v_p` (fixed design, {prf:ref}`asm-lcl-fixed-design`);
``ns`` has length ``T``; ``e0`` holds the ``p`` initial squared errors :math:`(v_j^\\top w^*)^2`
(the learner starts from :math:`\\hat w_0 = 0`). Everything is numpy; torch inputs are accepted and
converted (the computations are small and exact in float64).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.optimize import minimize_scalar

from .. import profiles
from .._checks import check_finite_array, check_nonnegative, check_positive_int, check_seed
from ..runtime import progress

__all__ = [
    "TaskSequence", "fixed_design", "isotropic_tasks", "covariate_shift_tasks", "ridge_gap_family",
    "gr_path", "oracle_path", "minnorm_path", "ridge_path", "practical_path", "optimal_path",
    "practical_xis", "optimal_xis", "xis_from_lams", "early_stopping", "monte_carlo", "sample_responses",
    "gr_error", "optimal_gr_error", "optimal_lams", "practical_lams", "oracle_error", "minnorm_error",
    "ridge_error", "tune_ridge", "gr_error_design", "tune_ridge_design", "minnorm_floor",
    "oracle_error_gaussian", "minnorm_error_gaussian",
    "early_stopping_to_gr", "gr_to_early_stopping", "mc_summary", "explorer_curves", "explorer_plot",
]

_RTOL = 1e-10  # relative eigenvalue threshold of the pseudo-inverse (the Xi -> 0+ limit)

# --------------------------------------------------------------------------------------------
# profiles
# --------------------------------------------------------------------------------------------
profiles.register(
    "part3_theory_vs_mc",
    smoke=dict(p=12, T=6, n=8, shift_k=2, shift_value=10.0, sigma2=1.0, ridge_lam=0.5, reps_fixed=4000,
               p_under=6, n_under=14, T_under=4, p_over=20, n_over=4, T_over=3, reps_random=2000, es_steps=40),
    full=dict(p=12, T=6, n=8, shift_k=2, shift_value=10.0, sigma2=1.0, ridge_lam=0.5, reps_fixed=200000,
              p_under=6, n_under=14, T_under=4, p_over=20, n_over=4, T_over=3, reps_random=100000, es_steps=40),
)
profiles.register(
    "part3_paper_experiment",
    smoke=dict(p=200, T=20, n=150, sigmas2=(1.0, 5.0), shift_k=5, shift_value=100.0,
               reps_fixed=50, reps_random=2, random_chunk=2, kappas_mc=(2.0, 8.0), reps_family=4000),
    full=dict(p=200, T=20, n=150, sigmas2=(1.0, 5.0), shift_k=5, shift_value=100.0,
              reps_fixed=100, reps_random=100, random_chunk=10, kappas_mc=(2.0, 8.0), reps_family=100000),
)
profiles.register(
    "part3_explorer",
    smoke=dict(p=200, T=20, n=150, k=5, sigma2=1.0, lam=1.0, heterogeneity=100.0),
    full=dict(p=200, T=20, n=150, k=5, sigma2=1.0, lam=1.0, heterogeneity=100.0),
)


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(check_seed(rng, "rng", also="a numpy Generator"))


def _spectra(gammas: Any, name: str = "gammas") -> np.ndarray:
    g = check_finite_array(gammas, name, ndim=2, nonnegative=True)
    if g.size == 0:
        raise ValueError(f"{name} is empty (shape {g.shape})")
    return g


def _ns(ns: Any, T: int) -> np.ndarray:
    n = check_finite_array(ns, "ns", ndim=1)
    if n.shape != (T,):
        raise ValueError(f"ns must have length T={T} (one sample size per task), got shape {n.shape}")
    if np.any(n <= 0):
        raise ValueError("ns must be positive (sample sizes)")
    return n


def _e0(e0: Any, p: int) -> np.ndarray:
    e = check_finite_array(e0, "e0", ndim=1, nonnegative=True)
    if e.shape != (p,):
        raise ValueError(f"e0 must have length p={p} (one initial squared error per direction), got shape {e.shape}")
    return e


def _lams(lams: Any, shape: tuple[int, int], name: str = "lams") -> np.ndarray:
    """Eigenvalues of Xi_t: finite and >= 0, or +inf (the 'freeze' limit)."""
    try:
        lam = np.asarray(lams.detach().cpu().numpy() if hasattr(lams, "detach") else lams, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(lams).__name__}") from exc
    if lam.shape != shape:
        raise ValueError(f"{name} must have the shape of gammas {shape}, got {lam.shape}")
    if np.any(np.isnan(lam)) or np.any(lam == -np.inf):
        raise ValueError(f"{name} contains NaN or -inf")
    if np.any(lam < 0):
        raise ValueError(f"{name} must be non-negative (eigenvalues of the PSD matrix Xi_t)")
    return lam


def _design_list(Xs: Sequence[Any], name: str = "Xs") -> list[np.ndarray]:
    if isinstance(Xs, np.ndarray) or not isinstance(Xs, (list, tuple)) or len(Xs) == 0:
        raise ValueError(f"{name} must be a non-empty list of design matrices X_t")
    out = [check_finite_array(X, f"{name}[{t}]") for t, X in enumerate(Xs)]
    p = out[0].shape[-1]
    for t, X in enumerate(out):
        if X.ndim not in (2, 3) or X.shape[-2] == 0 or X.shape[-1] == 0:
            raise ValueError(f"{name}[{t}] must be (n_t, p) or (R, n_t, p) and non-empty, got shape {X.shape}")
        if X.shape[-1] != p:
            raise ValueError(f"all designs must have p={p} columns, {name}[{t}] has {X.shape[-1]}")
    return out


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskSequence:
    """A sequence of linear-regression tasks sharing :math:`w^*` (see {prf:ref}`def-lcl-setting`).

    Attributes
    ----------
    X : list of ndarray
        Designs :math:`X_t`, shape ``(n_t, p)``.
    gammas : ndarray, shape (T, p)
        Eigenvalues in the basis ``V``: for ``design="fixed"`` those of
        :math:`X_t^\\top X_t / n_t` (exact, {prf:ref}`asm-lcl-fixed-design`); for ``design="random"``
        those of the population covariance :math:`\\Sigma_t = E[x x^\\top]`.
    ns : ndarray, shape (T,)
    V : ndarray, shape (p, p)
        Orthogonal matrix whose columns :math:`v_j` are the common eigenvectors.
    w_star : ndarray, shape (p,)
    design : {"fixed", "random"}
    """

    X: list
    gammas: np.ndarray
    ns: np.ndarray
    V: np.ndarray
    w_star: np.ndarray
    design: str

    @property
    def T(self) -> int:
        return int(self.gammas.shape[0])

    @property
    def p(self) -> int:
        return int(self.gammas.shape[1])

    @property
    def e0(self) -> np.ndarray:
        """Initial squared errors :math:`e_j^{(0)} = (v_j^\\top w^*)^2` (the learner starts at 0)."""
        return (self.V.T @ self.w_star) ** 2

    def redraw(self, rng: Any) -> "TaskSequence":
        """A fresh Gaussian design with the same population spectra (``design="random"`` only)."""
        if self.design != "random":
            raise ValueError("redraw() is for random designs; a fixed design is fixed")
        return replace(self, X=_gaussian_designs(self.gammas, self.ns, self.V, _rng(rng)))


def _random_orthogonal(p: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((p, p)))
    return q * np.sign(np.diag(r))


def fixed_design(gammas: Any, ns: Any, V: Any | None = None, rng: Any = 0) -> list[np.ndarray]:
    """Designs with :math:`X_t^\\top X_t / n_t = V \\operatorname{diag}(\\gamma^{(t)}) V^\\top` exactly.

    :math:`X_t = \\sqrt{n_t}\\, Q_t \\operatorname{diag}(\\gamma_S^{1/2}) V_S^\\top` where ``S`` are the
    directions with :math:`\\gamma_j^{(t)} > 0` and :math:`Q_t` is a random ``n_t x |S|`` matrix with
    orthonormal columns; this is the fixed design of {prf:ref}`asm-lcl-fixed-design`.

    Raises
    ------
    ValueError
        If a task has more non-zero eigenvalues than samples (``rank > n_t`` is impossible), or
        the shapes disagree.
    """
    g = _spectra(gammas)
    T, p = g.shape
    n = _ns(ns, T)
    if np.any(n != np.round(n)):
        raise ValueError("ns must be integers to build designs")
    V = np.eye(p) if V is None else check_finite_array(V, "V", ndim=2)
    if V.shape != (p, p) or not np.allclose(V.T @ V, np.eye(p), atol=1e-8):
        raise ValueError(f"V must be an orthogonal ({p}, {p}) matrix")
    gen = _rng(rng)
    Xs = []
    for t in range(T):
        S = np.flatnonzero(g[t] > 0)
        nt = int(n[t])
        if S.size > nt:
            raise ValueError(f"task {t}: {S.size} non-zero eigenvalues but only n_t={nt} samples; "
                             "X_t^T X_t / n_t has rank <= n_t")
        X = np.zeros((nt, p))
        if S.size:
            Q, _ = np.linalg.qr(gen.standard_normal((nt, S.size)))
            X = np.sqrt(nt) * (Q * np.sqrt(g[t, S])) @ V[:, S].T
        Xs.append(X)
    return Xs


def _gaussian_designs(gammas: np.ndarray, ns: np.ndarray, V: np.ndarray, gen: np.random.Generator,
                      reps: int | None = None) -> list[np.ndarray]:
    """Rows i.i.d. :math:`N(0, V \\operatorname{diag}(\\gamma^{(t)}) V^\\top)`; ``reps`` adds a leading axis."""
    Xs = []
    for t in range(gammas.shape[0]):
        shape = (int(ns[t]), gammas.shape[1]) if reps is None else (reps, int(ns[t]), gammas.shape[1])
        Xs.append((gen.standard_normal(shape) * np.sqrt(gammas[t])) @ V.T)
    return Xs


def _make_tasks(T, p, n, *, k, value, design, w_norm, basis, rng) -> TaskSequence:
    T = check_positive_int(T, "T")
    p = check_positive_int(p, "p")
    ns = np.broadcast_to(check_finite_array(n, "n"), (T,)).astype(float)
    _ns(ns, T)
    if np.any(ns != np.round(ns)):
        raise ValueError("n must be integer sample sizes")
    k = check_positive_int(k, "k", minimum=0)
    value = check_nonnegative(value, "value")
    w_norm = check_nonnegative(w_norm, "w_norm")
    if design not in ("fixed", "random"):
        raise ValueError(f"design must be 'fixed' or 'random', got {design!r}")
    if basis not in ("random", "identity"):
        raise ValueError(f"basis must be 'random' or 'identity', got {basis!r}")
    gen = _rng(rng)
    V = _random_orthogonal(p, gen) if basis == "random" else np.eye(p)
    w = gen.standard_normal(p)
    w = w_norm * w / np.linalg.norm(w)
    gammas = np.zeros((T, p))
    for t in range(T):
        if design == "fixed":
            r = min(int(ns[t]), p)
            S = np.sort(gen.choice(p, size=r, replace=False))
        else:
            S = np.arange(p)
        gammas[t, S] = 1.0
        if k:
            if k > S.size:
                raise ValueError(f"k={k} spiked directions but only {S.size} observed directions")
            gammas[t, gen.choice(S, size=k, replace=False)] = value
    X = fixed_design(gammas, ns, V, gen) if design == "fixed" else _gaussian_designs(gammas, ns, V, gen)
    return TaskSequence(X=X, gammas=gammas, ns=ns, V=V, w_star=w, design=design)


def isotropic_tasks(T: int, p: int, n: int | Sequence[int], *, design: str = "fixed", w_norm: float = 1.0,
                    basis: str = "random", rng: Any = 0) -> TaskSequence:
    """Isotropic task sequence.

    ``design="random"``: rows of :math:`X_t` are i.i.d. :math:`N(0, I_p)`.
    ``design="fixed"``: the fixed-design analogue of {prf:ref}`asm-lcl-fixed-design`:
    :math:`X_t^\\top X_t / n_t` is the orthogonal projection onto :math:`\\min(n_t, p)` directions
    :math:`v_j` drawn at random (eigenvalue 1 there, 0 elsewhere; a task with :math:`n_t < p` is
    over-parameterized and carries no information about the other directions).
    :math:`w^*` is uniform on the sphere of radius ``w_norm``; ``V`` is Haar-random (or the identity).
    """
    return _make_tasks(T, p, n, k=0, value=1.0, design=design, w_norm=w_norm, basis=basis, rng=rng)


def covariate_shift_tasks(T: int, p: int, n: int | Sequence[int], *, k: int = 5, value: float = 100.0,
                          design: str = "fixed", w_norm: float = 1.0, basis: str = "random",
                          rng: Any = 0) -> TaskSequence:
    """Covariate-shift task sequence: as :func:`isotropic_tasks`, but in every task ``k`` of the
    observed directions, drawn afresh per task, have eigenvalue ``value`` (e.g. 100) instead of 1, so
    that the informative directions change from task to task (heterogeneous information)."""
    return _make_tasks(T, p, n, k=k, value=value, design=design, w_norm=w_norm, basis=basis, rng=rng)


def ridge_gap_family(kappa: float, sigma2: float = 1.0, n: int = 2) -> dict[str, np.ndarray]:
    """The two-task, two-direction family of {prf:ref}`thm-lcl-ridge-gap`.

    With :math:`c = \\sigma^2/n`: :math:`\\gamma^{(1)} = c(\\kappa^4, 0)`, :math:`\\gamma^{(2)} = c(\\kappa^2, \\kappa^4)`,
    :math:`n_1 = n_2 = n`, :math:`e^{(0)} = (1, 1)`. Task 1 pins down direction 1; task 2 is very
    informative about direction 2 but only weakly about direction 1, which a single ridge
    parameter cannot accommodate: tuned ridge / optimal GR :math:`\\ge \\kappa / 8`.

    Returns
    -------
    dict with ``gammas`` (2, 2), ``ns`` (2,), ``e0`` (2,), ``sigma2``.
    """
    kappa = check_nonnegative(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"kappa must be >= 1, got {kappa}")
    sigma2 = check_nonnegative(sigma2, "sigma2")
    if sigma2 == 0:
        raise ValueError("sigma2 must be positive for the ridge-gap family")
    n = check_positive_int(n, "n", minimum=2)
    c = sigma2 / n
    gammas = c * np.array([[kappa ** 4, 0.0], [kappa ** 2, kappa ** 4]])
    return {"gammas": gammas, "ns": np.array([n, n], float), "e0": np.ones(2), "sigma2": sigma2}


def sample_responses(Xs: Sequence[np.ndarray], w_star: Any, sigma2: float, reps: int, rng: Any
                     ) -> list[np.ndarray]:
    """Responses :math:`y_t = X_t w^* + \\sigma \\varepsilon_t` for ``reps`` independent noise draws:
    a list of ``(reps, n_t)`` arrays (designs may be ``(n_t, p)`` or batched ``(reps, n_t, p)``)."""
    Xs = _design_list(Xs)
    w = check_finite_array(w_star, "w_star", ndim=1)
    if w.shape[0] != Xs[0].shape[-1]:
        raise ValueError(f"w_star has length {w.shape[0]}, designs have p={Xs[0].shape[-1]}")
    s = np.sqrt(check_nonnegative(sigma2, "sigma2"))
    reps = check_positive_int(reps, "reps")
    gen = _rng(rng)
    return [X @ w + s * gen.standard_normal((reps, X.shape[-2])) for X in Xs]


# --------------------------------------------------------------------------------------------
# estimators (batched: a leading axis R of independent repetitions)
# --------------------------------------------------------------------------------------------
def _psd_solve(M: np.ndarray, B: np.ndarray) -> np.ndarray:
    """:math:`M^+ B` for symmetric PSD ``M`` ((B,) p, p) and ``B`` (R, p, 1).

    Cholesky when ``M`` is clearly non-singular, else the eigenvalue pseudo-inverse with relative
    threshold ``_RTOL`` -- the :math:`\\Xi \\to 0^+` limit of {prf:ref}`def-lcl-gr`. A single matrix
    shared by all repetitions is factorised once.
    """
    if M.ndim == 2:
        M = M[None]
    if M.shape[0] == 1 and B.shape[0] != 1:
        return _psd_solve_core(M, B[..., 0].T[None])[0].T[..., None]
    return _psd_solve_core(M, B)


def _psd_solve_core(M: np.ndarray, B: np.ndarray) -> np.ndarray:
    scale = np.max(np.abs(np.diagonal(M, axis1=-2, axis2=-1)), axis=-1)
    try:
        L = np.linalg.cholesky(M)
        piv = np.diagonal(L, axis1=-2, axis2=-1) ** 2
        if np.all(piv.min(axis=-1) > 1e-8 * np.maximum(scale, np.finfo(float).tiny)):
            z = np.linalg.solve(L, B)
            return np.linalg.solve(np.swapaxes(L, -1, -2), z)
    except np.linalg.LinAlgError:
        pass
    w, U = np.linalg.eigh(M)
    tol = _RTOL * np.maximum(w.max(axis=-1, keepdims=True), 0.0)
    inv = np.where(w > tol, 1.0 / np.where(w > tol, w, 1.0), 0.0)
    return U @ (inv[..., :, None] * (np.swapaxes(U, -1, -2) @ B))


def _prep(Xs, Ys):
    Xs = _design_list(Xs)
    if not isinstance(Ys, (list, tuple)) or len(Ys) != len(Xs):
        raise ValueError(f"Ys must be a list with one response vector per task ({len(Xs)})")
    Ys = [check_finite_array(y, f"Ys[{t}]") for t, y in enumerate(Ys)]
    single = Ys[0].ndim == 1
    R = 1 if single else Ys[0].shape[0]
    Yb = []
    for t, (X, y) in enumerate(zip(Xs, Ys)):
        yb = y[None, :] if y.ndim == 1 else y
        if yb.ndim != 2 or yb.shape[1] != X.shape[-2] or yb.shape[0] != R or (y.ndim == 1) != single:
            raise ValueError(f"Ys[{t}] must be (n_t,) or (R, n_t) matching X_t with n_t={X.shape[-2]}, "
                             f"got {y.shape}")
        if X.ndim == 3 and X.shape[0] != R:
            raise ValueError(f"batched Xs[{t}] has {X.shape[0]} designs but Ys have R={R} repetitions")
        Yb.append(yb)
    return Xs, Yb, single, R


def _xi_list(xis, T, p) -> list:
    if xis is None:
        return [None] * T
    if not isinstance(xis, (list, tuple)) or len(xis) != T:
        raise ValueError(f"xis must be a list of T={T} matrices (or None entries for Xi = 0)")
    out = []
    for t, xi in enumerate(xis):
        if xi is None:
            out.append(None)
            continue
        m = check_finite_array(xi, f"xis[{t}]")
        if m.ndim not in (2, 3) or m.shape[-2:] != (p, p):
            raise ValueError(f"xis[{t}] must be ({p}, {p}) (or batched), got {m.shape}")
        if not np.allclose(m, np.swapaxes(m, -1, -2), atol=1e-9 * max(1.0, np.abs(m).max())):
            raise ValueError(f"xis[{t}] must be symmetric")
        if np.linalg.eigvalsh(m).min() < -1e-9 * max(1.0, np.abs(m).max()):
            raise ValueError(f"xis[{t}] must be positive semi-definite")
        out.append(m)
    return out


def _gr_step(w, X, y, xi):
    """One GR update, batched: ``w`` (R, p), ``X`` (n, p) or (R, n, p), ``y`` (R, n)."""
    n = X.shape[-2]
    S = np.swapaxes(X, -1, -2) @ X / n
    r = y - (X @ w[..., None])[..., 0] if X.ndim == 3 else y - w @ X.T
    g = ((np.swapaxes(X, -1, -2) @ r[..., None]) if X.ndim == 3 else (r @ X)[..., None]) / n
    M = S if xi is None else S + xi
    return w + _psd_solve(M, g)[..., 0]


def _out(path: np.ndarray, single: bool) -> np.ndarray:
    return path[0] if single else path


def gr_path(Xs: Sequence[Any], Ys: Sequence[Any], xis: Sequence[Any] | None, w0: Any | None = None
            ) -> np.ndarray:
    """Generalized :math:`\\ell_2`-regularized estimates after each task ({prf:ref}`def-lcl-gr`).

    .. math::

        \\hat w_t = \\hat w_{t-1} + (\\Sigma_t + \\Xi_t)^{+} X_t^\\top (y_t - X_t \\hat w_{t-1}) / n_t,

    which is the minimiser of :math:`\\tfrac1{n_t}\\lVert X_t w - y_t\\rVert^2 + (w-\\hat w_{t-1})^\\top\\Xi_t(w-\\hat w_{t-1})`
    when :math:`\\Sigma_t + \\Xi_t` is invertible, and its :math:`\\Xi_t + \\rho I,\\ \\rho\\to 0^+` limit
    otherwise ({prf:ref}`lem-lcl-gr-solution`); ``xis[t] = None`` (or 0) gives the minimum-norm update.

    Parameters
    ----------
    Xs : list of (n_t, p) or (R, n_t, p) arrays
    Ys : list of (n_t,) or (R, n_t) arrays
    xis : list of (p, p) (or (R, p, p)) PSD matrices, ``None`` entries meaning 0; or None (all 0)
    w0 : (p,) initial estimate, default 0

    Returns
    -------
    ndarray, shape (T, p), or (R, T, p) for batched responses.
    """
    Xs, Ys, single, R = _prep(Xs, Ys)
    T, p = len(Xs), Xs[0].shape[-1]
    xis = _xi_list(xis, T, p)
    w = np.zeros((R, p))
    if w0 is not None:
        w0 = check_finite_array(w0, "w0", ndim=1)
        if w0.shape != (p,):
            raise ValueError(f"w0 must have shape ({p},), got {w0.shape}")
        w = w + w0
    path = np.empty((R, T, p))
    for t in range(T):
        w = _gr_step(w, Xs[t], Ys[t], xis[t])
        path[:, t] = w
    return _out(path, single)


def minnorm_path(Xs: Sequence[Any], Ys: Sequence[Any]) -> np.ndarray:
    """Minimum-norm continual estimates, :math:`\\hat w_t = \\hat w_{t-1} + X_t^+(y_t - X_t\\hat w_{t-1})`
    (GR with :math:`\\Xi_t \\to 0^+`); see {prf:ref}`thm-lcl-minnorm-floor`."""
    return gr_path(Xs, Ys, None)


def xis_from_lams(V: Any, lams: Any) -> list[np.ndarray]:
    """Matrices :math:`\\Xi_t = V \\operatorname{diag}(\\lambda^{(t)}) V^\\top` from eigenvalues ``lams`` (T, p).

    Raises ValueError on +inf (give any finite value >= 0 in a direction the task does not
    observe: there all choices give the same estimate)."""
    V = check_finite_array(V, "V", ndim=2)
    lam = check_finite_array(lams, "lams", ndim=2, nonnegative=True)
    if V.shape[0] != V.shape[1] or lam.shape[1] != V.shape[0]:
        raise ValueError(f"lams must be (T, p) with p={V.shape[0]}, got {lam.shape}")
    return [(V * l) @ V.T for l in lam]


def ridge_path(Xs: Sequence[Any], Ys: Sequence[Any], lam: Any) -> np.ndarray:
    """Continual ridge: GR with :math:`\\Xi_t = \\lambda_t I` (``lam`` a scalar or one value per task)."""
    T, p = len(Xs), np.shape(Xs[0])[-1]
    lam = np.broadcast_to(check_finite_array(lam, "lam", nonnegative=True), (T,))
    return gr_path(Xs, Ys, [l * np.eye(p) for l in lam])


def practical_xis(Xs: Sequence[Any]) -> list[np.ndarray]:
    """The practical choice :math:`\\Xi_t = \\tfrac{1}{n_t}\\sum_{\\tau<t} X_\\tau^\\top X_\\tau`
    (online EWC with :math:`\\gamma = 1` for equal :math:`n_t`; {prf:ref}`prop-lcl-practical`)."""
    Xs = _design_list(Xs)
    A = np.zeros(Xs[0].shape[:-2] + (Xs[0].shape[-1],) * 2)
    out = []
    for X in Xs:
        out.append(A / X.shape[-2])
        A = A + np.swapaxes(X, -1, -2) @ X
    return out


def optimal_xis(Xs: Sequence[Any], V: Any, e0: Any, sigma2: float) -> list[np.ndarray]:
    """:math:`\\Xi_t = \\tfrac{1}{n_t}\\big(\\sigma^2 V \\operatorname{diag}(1/e^{(0)}) V^\\top + \\sum_{\\tau<t} X_\\tau^\\top X_\\tau\\big)`.

    In the fixed design this is exactly the optimal GR of {prf:ref}`thm-lcl-optimal`
    (:math:`\\lambda_j^{(t)*} = \\sigma^2/(n_t e_j^{(t-1)})`); in a random design it is its plug-in version.

    Raises
    ------
    ValueError
        If some :math:`e_j^{(0)} = 0` (then :math:`\\lambda^* = \\infty`; perturb :math:`w^*`).
    """
    Xs = _design_list(Xs)
    p = Xs[0].shape[-1]
    V = check_finite_array(V, "V", ndim=2)
    e0 = _e0(e0, p)
    s2 = check_nonnegative(sigma2, "sigma2")
    if s2 > 0 and np.any(e0 == 0):
        raise ValueError("optimal_xis needs e0 > 0 in every direction (lambda* is infinite where e0 = 0)")
    P0 = (V * (s2 / np.where(e0 > 0, e0, 1.0))) @ V.T
    return [x + P0 / X.shape[-2] for x, X in zip(practical_xis(Xs), Xs)]


def practical_path(Xs, Ys) -> np.ndarray:
    """GR with :func:`practical_xis`; equals :func:`oracle_path` ({prf:ref}`prop-lcl-practical`)."""
    return gr_path(Xs, Ys, practical_xis(Xs))


def optimal_path(Xs, Ys, V, e0, sigma2) -> np.ndarray:
    """GR with :func:`optimal_xis` ({prf:ref}`thm-lcl-optimal`)."""
    return gr_path(Xs, Ys, optimal_xis(Xs, V, e0, sigma2))


def oracle_path(Xs: Sequence[Any], Ys: Sequence[Any]) -> np.ndarray:
    """Oracle: least squares on all data so far, :math:`\\hat w_t = (\\sum_{\\tau\\le t}X_\\tau^\\top X_\\tau)^{+}\\sum_{\\tau\\le t}X_\\tau^\\top y_\\tau`
    (minimum-norm solution while the stacked design is rank deficient); {prf:ref}`thm-lcl-oracle`."""
    Xs, Ys, single, R = _prep(Xs, Ys)
    T, p = len(Xs), Xs[0].shape[-1]
    A = np.zeros((1, p, p))
    b = np.zeros((R, p, 1))
    path = np.empty((R, T, p))
    for t, (X, y) in enumerate(zip(Xs, Ys)):
        Xt = np.swapaxes(X, -1, -2)
        A = A + Xt @ X
        b = b + (Xt @ y[..., None] if X.ndim == 3 else (y @ X)[..., None])
        path[:, t] = _psd_solve(A, b)[..., 0]
    return _out(path, single)


def early_stopping(X: Any, y: Any, w_prev: Any, lr: Any, k: int) -> np.ndarray:
    """``k`` preconditioned gradient steps on :math:`\\tfrac{1}{2n}\\lVert Xw - y\\rVert^2` from ``w_prev``:

    .. math:: w \\leftarrow w - H\\,(\\Sigma w - X^\\top y / n), \\qquad \\Sigma = X^\\top X / n,

    with learning-rate matrix :math:`H` (``lr`` a positive scalar :math:`\\eta`, i.e. :math:`H=\\eta I`,
    or a symmetric PSD ``(p, p)`` matrix). {prf:ref}`thm-lcl-early-stopping` gives the GR matrix
    :math:`\\Xi` it equals when :math:`H` and :math:`\\Sigma` commute.
    """
    X = check_finite_array(X, "X", ndim=2)
    n, p = X.shape
    y = check_finite_array(y, "y", ndim=1)
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {y.shape}")
    w = check_finite_array(w_prev, "w_prev", ndim=1).copy()
    if w.shape != (p,):
        raise ValueError(f"w_prev must have shape ({p},), got {w.shape}")
    k = check_positive_int(k, "k")
    H = check_finite_array(lr, "lr")
    if H.ndim == 0:
        if H <= 0:
            raise ValueError(f"lr must be positive, got {float(H)}")
        H = float(H) * np.eye(p)
    elif H.shape != (p, p) or not np.allclose(H, H.T) or np.linalg.eigvalsh(H).min() < -1e-12:
        raise ValueError(f"lr must be a positive scalar or a symmetric PSD ({p}, {p}) matrix")
    S = X.T @ X / n
    c = X.T @ y / n
    for _ in range(k):
        w = w - H @ (S @ w - c)
    return w


def monte_carlo(tasks: TaskSequence, methods: Mapping[str, Any], sigma2: float, reps: int, rng: Any, *,
                redraw_design: bool | None = None, chunk: int | None = None) -> dict[str, np.ndarray]:
    """Squared errors :math:`\\lVert\\hat w_t - w^*\\rVert^2` of several methods over independent repetitions.

    Parameters
    ----------
    tasks : TaskSequence
    methods : mapping name -> spec
        ``"oracle"``, ``"minnorm"``, ``"practical"``, ``"optimal"`` (:func:`optimal_xis`), or an array
        ``lams`` (T, p) of :math:`\\Xi_t` eigenvalues in the basis ``tasks.V`` (e.g. ridge:
        ``lam_t * np.ones((T, p))``).
    sigma2 : float
    reps : int
    rng : numpy Generator or seed
    redraw_design : bool, optional
        Draw a fresh Gaussian design in each repetition (default: ``tasks.design == "random"``);
        otherwise only the noise is random (fixed design).
    chunk : int, optional
        Repetitions processed together (memory); default all for a fixed design, 10 otherwise.

    Returns
    -------
    dict name -> ndarray (reps, T). All methods see the same data in each repetition.
    """
    if not isinstance(tasks, TaskSequence):
        raise ValueError("tasks must be a TaskSequence")
    s2 = check_nonnegative(sigma2, "sigma2")
    reps = check_positive_int(reps, "reps")
    gen = _rng(rng)
    redraw = (tasks.design == "random") if redraw_design is None else bool(redraw_design)
    T, p = tasks.T, tasks.p
    specs: dict[str, Any] = {}
    for name, spec in methods.items():
        if isinstance(spec, str):
            if spec not in ("oracle", "minnorm", "practical", "optimal"):
                raise ValueError(f"unknown method spec {spec!r} for {name!r}; use 'oracle', 'minnorm', "
                                 "'practical', 'optimal' or a (T, p) array of Xi eigenvalues")
            specs[name] = spec
        else:
            specs[name] = xis_from_lams(tasks.V, _lams(spec, (T, p), f"methods[{name!r}]"))
    if not specs:
        raise ValueError("methods is empty")
    e0 = tasks.e0
    if "optimal" in specs.values() and s2 > 0 and np.any(e0 == 0):
        raise ValueError("the optimal method needs e0 > 0 in every direction")
    P0 = (tasks.V * (s2 / np.where(e0 > 0, e0, 1.0))) @ tasks.V.T
    chunk = (reps if not redraw else 10) if chunk is None else check_positive_int(chunk, "chunk")
    out = {name: np.empty((reps, T)) for name in specs}
    starts = list(range(0, reps, chunk))
    for s in progress(starts, desc="Monte Carlo", total=len(starts)):
        R = min(chunk, reps - s)
        w = {name: np.zeros((R, p)) for name in specs}
        A = np.zeros((R if redraw else 1, p, p))
        b = np.zeros((R, p, 1))
        for t in range(T):
            if redraw:
                X = _gaussian_designs(tasks.gammas[t:t + 1], tasks.ns[t:t + 1], tasks.V, gen, reps=R)[0]
                y = (X @ tasks.w_star) + np.sqrt(s2) * gen.standard_normal((R, X.shape[-2]))
            else:
                X = tasks.X[t]
                y = X @ tasks.w_star + np.sqrt(s2) * gen.standard_normal((R, X.shape[0]))
            n = X.shape[-2]
            Xt = np.swapaxes(X, -1, -2)
            for name, spec in specs.items():
                if spec == "oracle":
                    continue
                xi = {"minnorm": None, "practical": A / n, "optimal": (A + P0) / n}.get(spec, None) \
                    if isinstance(spec, str) else spec[t]
                w[name] = _gr_step(w[name], X, y, xi)
            A = A + Xt @ X
            b = b + (Xt @ y[..., None] if X.ndim == 3 else (y @ X)[..., None])
            for name, spec in specs.items():
                if isinstance(spec, str) and spec == "oracle":
                    w[name] = _psd_solve(A, b)[..., 0]
                out[name][s:s + R, t] = ((w[name] - tasks.w_star) ** 2).sum(-1)
    return out


def mc_summary(errors: np.ndarray, theory: Any | None = None) -> dict[str, np.ndarray]:
    """Mean, standard error and (if ``theory`` is given) z-score :math:`(\\bar e - e)/\\mathrm{SE}` and relative
    error :math:`|\\bar e - e|/e` per task, from a ``(reps, T)`` array of squared errors."""
    e = check_finite_array(errors, "errors", ndim=2)
    if e.shape[0] < 2:
        raise ValueError("need at least 2 repetitions for a standard error")
    mean = e.mean(0)
    se = e.std(0, ddof=1) / np.sqrt(e.shape[0])
    res = {"mean": mean, "se": se}
    if theory is not None:
        th = np.broadcast_to(check_finite_array(theory, "theory"), mean.shape)
        res["theory"] = th
        res["z"] = (mean - th) / np.where(se > 0, se, np.nan)
        res["rel"] = np.abs(mean - th) / np.where(th > 0, th, np.nan)
    return res


# --------------------------------------------------------------------------------------------
# closed forms
# --------------------------------------------------------------------------------------------
def _closed_inputs(gammas, ns, sigma2, e0):
    g = _spectra(gammas)
    T, p = g.shape
    return g, _ns(ns, T), check_nonnegative(sigma2, "sigma2"), _e0(e0, p)


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
    +inf where :math:`e_j^{(t-1)} = 0` or where the direction is unobserved and :math:`\\sigma^2 = 0`."""
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
    :math:`e^{(0)} = 0` or :math:`\\sigma^2 = 0`)."""
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
    :func:`oracle_error` ({prf:ref}`prop-lcl-practical`; the first task has :math:`\\Xi_1 = 0`)."""
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
    (isotropic :math:`\\Sigma_\\tau = I`: :math:`\\sigma^2 p / N_t`). Practical GR has the same error."""
    g, n, s2, e = _closed_inputs(gammas, ns, sigma2, e0)
    S = np.cumsum(n[:, None] * g, axis=0)
    with np.errstate(divide="ignore"):
        out = np.where(S > 0, s2 / np.where(S > 0, S, 1.0), e)
    return out if per_direction else out.sum(1)


def minnorm_error(gammas: Any, ns: Any, sigma2: float, e0: Any, *, per_direction: bool = False) -> np.ndarray:
    """Minimum-norm (:math:`\\Xi_t\\to 0^+`) error in the fixed design ({prf:ref}`thm-lcl-minnorm-floor`):
    :math:`e_j^{(t)} = \\sigma^2/(n_t\\gamma_j^{(t)})` if :math:`\\gamma_j^{(t)}>0`, else :math:`e_j^{(t-1)}`."""
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
    whatever happened before."""
    g = _spectra(gammas)
    n = _ns(ns, g.shape[0])
    s2 = check_nonnegative(sigma2, "sigma2")
    with np.errstate(divide="ignore"):
        return np.where(g > 0, s2 / (n[:, None] * np.where(g > 0, g, 1.0)), 0.0).sum(1)


def ridge_error(gammas: Any, lam: Any, ns: Any, sigma2: float, e0: Any) -> np.ndarray:
    """Continual ridge (:math:`\\Xi_t = \\lambda_t I`) error, :func:`gr_error` with equal eigenvalues.
    ``lam`` is a scalar or has one value per task."""
    g = _spectra(gammas)
    lam = check_finite_array(lam, "lam", nonnegative=True)
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
    grid = np.sort(check_finite_array(grid, "grid", ndim=1))
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


def tune_ridge(gammas: Any, ns: Any, sigma2: float, e0: Any, *, mode: str = "greedy",
               grid: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Oracle-tuned continual ridge (uses :math:`e^{(0)}`, i.e. knowledge of :math:`w^*`).

    ``mode="greedy"``: at each task choose :math:`\\lambda_t > 0` minimising the expected error after
    that task given the current errors (the most favourable myopic tuning).
    ``mode="constant"``: one :math:`\\lambda` for all tasks minimising the error after the last task.
    The search is over a log grid (default :math:`10^{-8}`--:math:`10^{8}` times the mean non-zero
    :math:`\\gamma`) refined by a bounded scalar minimisation in :math:`\\log\\lambda`.

    Returns
    -------
    lams : (T,) chosen values; errors : (T,) expected errors (:func:`ridge_error`).
    """

    g, n, s2, e = _closed_inputs(gammas, ns, sigma2, e0)
    if mode not in ("greedy", "constant"):
        raise ValueError(f"mode must be 'greedy' or 'constant', got {mode!r}")
    pos = g[g > 0]
    scale = pos.mean() if pos.size else 1.0
    grid = _ridge_grid(grid, scale)

    def refine(f, grid_vals):
        return _refine_on_grid(f, grid, grid_vals)

    T = g.shape[0]
    if mode == "greedy":
        lams = np.empty(T)
        cur = e.copy()
        for t in range(T):
            vals = _ridge_step_errors(grid, cur, g[t], n[t], s2)
            lams[t] = refine(lambda l: float(_ridge_step_errors(np.array([l]), cur, g[t], n[t], s2)[0]), vals)
            cur = (lams[t] ** 2 * cur + s2 * g[t] / n[t]) / (lams[t] + g[t]) ** 2
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
    """
    Xs = _design_list(Xs)
    if any(X.ndim != 2 for X in Xs):
        raise ValueError("gr_error_design takes one design per task, (n_t, p) arrays")
    p = Xs[0].shape[1]
    xis = _xi_list(xis, len(Xs), p)
    w = check_finite_array(w_star, "w_star", ndim=1)
    if w.shape != (p,):
        raise ValueError(f"w_star must have shape ({p},), got {w.shape}")
    s2 = check_nonnegative(sigma2, "sigma2")
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
    """

    Xs = _design_list(Xs)
    if any(X.ndim != 2 for X in Xs):
        raise ValueError("tune_ridge_design takes one design per task, (n_t, p) arrays")
    p = Xs[0].shape[1]
    w = check_finite_array(w_star, "w_star", ndim=1)
    if w.shape != (p,):
        raise ValueError(f"w_star must have shape ({p},), got {w.shape}")
    s2 = check_nonnegative(sigma2, "sigma2")
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
    ``N`` (total sample size) may be an array."""
    p = check_positive_int(p, "p")
    N = check_finite_array(N, "N")
    if np.any(N < 1) or np.any(N != np.round(N)):
        raise ValueError("N must be positive integers")
    s2 = check_nonnegative(sigma2, "sigma2")
    w2 = check_nonnegative(w_norm2, "w_norm2")
    with np.errstate(divide="ignore", invalid="ignore"):
        over = s2 * p / (N - p - 1)
        under = (1 - N / p) * w2 + s2 * N / (p - N - 1)
    return np.where(N >= p + 2, over, np.where(N <= p - 2, under, np.inf))


def minnorm_error_gaussian(p: int, ns: Any, sigma2: float, w_norm2: float = 1.0) -> np.ndarray:
    """Minimum-norm continual error for isotropic Gaussian designs ({prf:ref}`prop-lcl-minnorm-gaussian`):

    .. math:: m_t = (1 - r_t/p)\\, m_{t-1} + \\sigma^2 v(n_t, p), \\quad m_0 = \\lVert w^*\\rVert^2,

    with :math:`r_t = \\min(n_t, p)`, :math:`v = n/(p-n-1)` for :math:`n\\le p-2`,
    :math:`p/(n-p-1)` for :math:`n \\ge p+2` (+inf otherwise)."""
    p = check_positive_int(p, "p")
    n = check_finite_array(ns, "ns", ndim=1)
    if n.size == 0 or np.any(n < 1):
        raise ValueError("ns must be a non-empty array of positive sample sizes")
    s2 = check_nonnegative(sigma2, "sigma2")
    m = check_nonnegative(w_norm2, "w_norm2")
    out = np.empty(n.shape)
    for t, nt in enumerate(n):
        if nt <= p - 2:
            v = nt / (p - nt - 1)
        elif nt >= p + 2:
            v = p / (nt - p - 1)
        else:
            v = np.inf
        m = (1 - min(nt, p) / p) * m + s2 * v
        out[t] = m
    return out


def early_stopping_to_gr(gammas: Any, etas: Any, k: int) -> np.ndarray:
    """GR eigenvalues equal to ``k`` preconditioned gradient steps ({prf:ref}`thm-lcl-early-stopping`):

    .. math:: \\lambda_j = \\gamma_j\\frac{\\rho_j}{1 - \\rho_j},\\qquad \\rho_j = (1 - \\eta_j\\gamma_j)^k,

    for :math:`0 < \\eta_j\\gamma_j \\le 1`; :math:`+\\infty` where :math:`\\gamma_j = 0` (untouched direction;
    any :math:`\\lambda_j \\ge 0` gives the same estimate). ``gammas`` and ``etas`` have equal shapes."""
    g = check_finite_array(gammas, "gammas", nonnegative=True)
    eta = check_finite_array(etas, "etas", nonnegative=True)
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

    and 0 where :math:`\\gamma_j = 0` (any rate works there)."""
    g = check_finite_array(gammas, "gammas", nonnegative=True)
    lam = _lams(lams, g.shape)
    k = check_positive_int(k, "k")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.isinf(lam), 1.0, lam / (lam + g))
        eta = -np.expm1(np.log(ratio) / k) / g
    return np.where(g > 0, np.where(ratio == 0, 1.0 / np.where(g > 0, g, 1.0), eta), 0.0)


# --------------------------------------------------------------------------------------------
# explorer (closed forms only)
# --------------------------------------------------------------------------------------------
def explorer_curves(sigma2: float = 1.0, n: int = 150, T: int = 20, lam: float = 1.0,
                    heterogeneity: float = 100.0, p: int = 200, k: int = 5, seed: int = 0,
                    w_norm2: float | None = None) -> dict[str, np.ndarray]:
    r"""Theory curves (expected error after each task) for the fixed-design covariate-shift sequence of
    :func:`covariate_shift_tasks` with spike value ``heterogeneity`` (1 = homogeneous tasks) and
    :math:`\lVert w^*\rVert^2` = ``w_norm2`` (default ``p``): minimum norm ({prf:ref}`thm-lcl-minnorm-floor`),
    ridge with ``lam`` and oracle-tuned ridge ({prf:ref}`thm-lcl-recursion`), practical GR = oracle
    ({prf:ref}`prop-lcl-practical`) and optimal GR ({prf:ref}`thm-lcl-optimal`)."""
    w_norm2 = float(p) if w_norm2 is None else check_nonnegative(w_norm2, "w_norm2")
    tasks = covariate_shift_tasks(T, p, n, k=k, value=heterogeneity, design="fixed", w_norm=np.sqrt(w_norm2),
                                  rng=seed)
    g, ns, e0 = tasks.gammas, tasks.ns, tasks.e0
    lam = check_nonnegative(lam, "lam")
    return {
        "minimum norm": minnorm_error(g, ns, sigma2, e0),
        f"ridge (λ={lam:g})": minnorm_error(g, ns, sigma2, e0) if lam == 0 else ridge_error(g, lam, ns, sigma2, e0),
        "ridge (tuned)": tune_ridge(g, ns, sigma2, e0)[1],
        "practical GR = oracle": oracle_error(g, ns, sigma2, e0),
        "optimal GR": optimal_gr_error(g, ns, sigma2, e0),
    }


def explorer_plot(sigma2: float = 1.0, n: int = 150, T: int = 20, lam: float = 1.0,
                  heterogeneity: float = 100.0, p: int = 200, k: int = 5, seed: int = 0,
                  w_norm2: float | None = None, ax=None):
    """Plot :func:`explorer_curves` (log scale, labelled axes); returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    curves = explorer_curves(sigma2, n, T, lam, heterogeneity, p, k, seed, w_norm2)
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    t = np.arange(1, int(T) + 1)
    styles = ["--", "-.", "-.", ":", "-"]
    for (name, y), ls in zip(curves.items(), styles):
        ax.plot(t, y, ls, marker="o", ms=3, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("number of tasks t")
    ax.set_ylabel(r"expected error $E\|\hat w_t - w^*\|^2$")
    ax.set_title(f"σ² = {sigma2:g}, n_t = {n}, p = {p}, spike h = {heterogeneity:g}", fontsize=10)
    ax.legend(fontsize=9)
    return fig
