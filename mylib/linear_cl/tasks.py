"""Task sequences of Part III: fixed and Gaussian designs, isotropic or with covariate shift, the ridge-gap family.

A sequence of tasks :math:`y_t = X_t w^* + \\varepsilon_t`, :math:`t = 1, \\dots, T`, shares :math:`w^*`
({prf:ref}`def-lcl-setting`); in the fixed design ({prf:ref}`asm-lcl-fixed-design`) every
:math:`X_t^\\top X_t/n_t` is diagonal in one orthonormal basis :math:`V`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from .._checks import check_positive_int
from ..linalg import haar_orthonormal
from ._common import _arr, _design_list, _ns, _real_scalar, _rng, _spectra

__all__ = ["TaskSequence", "fixed_design", "isotropic_tasks", "covariate_shift_tasks", "ridge_gap_family",
           "sample_responses"]


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

    Parameters
    ----------
    gammas : array_like, shape (T, p)
        Eigenvalues per task (non-negative).
    ns : array_like, shape (T,)
        Integer sample sizes.
    V : array_like, shape (p, p), optional
        Orthogonal eigenbasis (default identity).
    rng : int or numpy.random.Generator

    Returns
    -------
    list of numpy.ndarray
        ``X_t`` of shape ``(n_t, p)``.
    """
    g = _spectra(gammas)
    T, p = g.shape
    n = _ns(ns, T)
    if np.any(n != np.round(n)):
        raise ValueError("ns must be integers to build designs")
    V = np.eye(p) if V is None else _arr(V, "V", ndim=2)
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
    ns = np.broadcast_to(_arr(n, "n"), (T,)).astype(float)
    _ns(ns, T)
    if np.any(ns != np.round(ns)):
        raise ValueError("n must be integer sample sizes")
    k = check_positive_int(k, "k", minimum=0)
    value = _real_scalar(value, "value")
    w_norm = _real_scalar(w_norm, "w_norm")
    if design not in ("fixed", "random"):
        raise ValueError(f"design must be 'fixed' or 'random', got {design!r}")
    if basis not in ("random", "identity"):
        raise ValueError(f"basis must be 'random' or 'identity', got {basis!r}")
    gen = _rng(rng)
    V = haar_orthonormal(p, p, gen) if basis == "random" else np.eye(p)
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

    Parameters
    ----------
    T, p : int
        Number of tasks and dimension.
    n : int or sequence of int
        Sample size of every task, or one per task.
    design : {"fixed", "random"}
    w_norm : float
        :math:`\\lVert w^*\\rVert`.
    basis : {"random", "identity"}
        Haar-random eigenbasis :math:`V` (:func:`mylib.linalg.haar_orthonormal`) or the identity.
    rng : int or numpy.random.Generator

    Returns
    -------
    TaskSequence

    Raises
    ------
    ValueError
        Non-positive or non-integer sizes, an unknown ``design``/``basis``, a negative seed.
    """
    return _make_tasks(T, p, n, k=0, value=1.0, design=design, w_norm=w_norm, basis=basis, rng=rng)


def covariate_shift_tasks(T: int, p: int, n: int | Sequence[int], *, k: int = 5, value: float = 100.0,
                          design: str = "fixed", w_norm: float = 1.0, basis: str = "random",
                          rng: Any = 0) -> TaskSequence:
    """Covariate-shift task sequence: as :func:`isotropic_tasks`, but in every task ``k`` of the
    observed directions, drawn afresh per task, have eigenvalue ``value`` (e.g. 100) instead of 1, so
    that the informative directions change from task to task (heterogeneous information).

    Implements the covariate-shift setting of {doc}`../notebooks/part3_paper_experiment` (fixed design:
    {prf:ref}`asm-lcl-fixed-design`).

    Parameters
    ----------
    T, p, n, design, w_norm, basis, rng
        As in :func:`isotropic_tasks`.
    k : int
        Spiked directions per task (0 gives :func:`isotropic_tasks`).
    value : float
        Their eigenvalue.

    Returns
    -------
    TaskSequence

    Raises
    ------
    ValueError
        As :func:`isotropic_tasks`, or ``k`` larger than the number of observed directions.
    """
    return _make_tasks(T, p, n, k=k, value=value, design=design, w_norm=w_norm, basis=basis, rng=rng)


def ridge_gap_family(kappa: float, sigma2: float = 1.0, n: int = 2) -> dict[str, np.ndarray]:
    """The two-task, two-direction family of {prf:ref}`thm-lcl-ridge-gap`.

    With :math:`c = \\sigma^2/n`: :math:`\\gamma^{(1)} = c(\\kappa^4, 0)`, :math:`\\gamma^{(2)} = c(\\kappa^2, \\kappa^4)`,
    :math:`n_1 = n_2 = n`, :math:`e^{(0)} = (1, 1)`. Task 1 pins down direction 1; task 2 is very
    informative about direction 2 but only weakly about direction 1, which a single ridge
    parameter cannot accommodate: tuned ridge / optimal GR :math:`\\ge \\kappa / 8`.

    Parameters
    ----------
    kappa : float
        :math:`\\kappa \\ge 1`, the size of the gap.
    sigma2 : float, default 1.0
        Noise variance :math:`\\sigma^2 > 0`.
    n : int, default 2
        Samples per task, at least 2.

    Returns
    -------
    dict with ``gammas`` (2, 2), ``ns`` (2,), ``e0`` (2,), ``sigma2``.

    Raises
    ------
    ValueError
        If ``kappa < 1``, ``sigma2`` is zero (or not a finite non-negative real), or ``n`` is not an integer ``>= 2``.
    TypeError
        For a complex ``kappa`` or ``sigma2``.
    """
    kappa = _real_scalar(kappa, "kappa")
    if kappa < 1:
        raise ValueError(f"kappa must be >= 1, got {kappa}")
    sigma2 = _real_scalar(sigma2, "sigma2")
    if sigma2 == 0:
        raise ValueError("sigma2 must be positive for the ridge-gap family")
    n = check_positive_int(n, "n", minimum=2)
    c = sigma2 / n
    gammas = c * np.array([[kappa ** 4, 0.0], [kappa ** 2, kappa ** 4]])
    return {"gammas": gammas, "ns": np.array([n, n], float), "e0": np.ones(2), "sigma2": sigma2}


def sample_responses(Xs: Sequence[np.ndarray], w_star: Any, sigma2: float, reps: int, rng: Any
                     ) -> list[np.ndarray]:
    """Responses :math:`y_t = X_t w^* + \\sigma \\varepsilon_t` for ``reps`` independent noise draws:
    a list of ``(reps, n_t)`` arrays (designs may be ``(n_t, p)`` or batched ``(reps, n_t, p)``).

    Parameters
    ----------
    Xs : list of arrays
        Designs, ``(n_t, p)`` or ``(reps, n_t, p)``.
    w_star : array_like, shape (p,)
    sigma2 : float
        Noise variance.
    reps : int
        Independent noise draws.
    rng : int or numpy.random.Generator

    Returns
    -------
    list of numpy.ndarray
        ``(reps, n_t)`` per task.

    Raises
    ------
    ValueError
        Shapes that disagree, negative ``sigma2``, ``reps < 1``. TypeError for complex input.
    """
    Xs = _design_list(Xs)
    w = _arr(w_star, "w_star", ndim=1)
    if w.shape[0] != Xs[0].shape[-1]:
        raise ValueError(f"w_star has length {w.shape[0]}, designs have p={Xs[0].shape[-1]}")
    s = np.sqrt(_real_scalar(sigma2, "sigma2"))
    reps = check_positive_int(reps, "reps")
    gen = _rng(rng)
    return [X @ w + s * gen.standard_normal((reps, X.shape[-2])) for X in Xs]

