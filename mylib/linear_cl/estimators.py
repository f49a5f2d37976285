"""Estimators of Part III, batched over a leading axis of independent repetitions, and the Monte Carlo driver.

The generalized :math:`\\ell_2`-regularized (GR) update ({prf:ref}`def-lcl-gr`)

.. math::

    \\hat w_t = \\arg\\min_w \\tfrac{1}{n_t}\\lVert X_t w - y_t\\rVert^2
                + (w - \\hat w_{t-1})^\\top \\Xi_t (w - \\hat w_{t-1})

with the choices of :math:`\\Xi_t` the book compares: minimum norm (:math:`\\Xi_t \\to 0^+`), ridge
(:math:`\\lambda_t I`), practical GR (the accumulated Gram matrix, {prf:ref}`prop-lcl-practical`), optimal GR
({prf:ref}`thm-lcl-optimal`), and the memory-limited ones: a diagonal Fisher (EWC), a rank-``k`` Gram, the last
task's Gram only (:func:`memory_xis`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .. import stats
from .._checks import check_positive_int
from ..runtime import dry_run_cap, progress
from ._common import _arr, _design_list, _e0, _lams, _memory_rank, _psd_solve, _real_scalar, _rng
from .tasks import TaskSequence, _gaussian_designs

__all__ = ["gr_path", "oracle_path", "minnorm_path", "ridge_path", "practical_path", "optimal_path",
           "practical_xis", "optimal_xis", "xis_from_lams", "memory_xis", "memory_floats", "MEMORY_KINDS",
           "early_stopping", "monte_carlo", "mc_summary"]

#: The regularizers of :func:`memory_xis`, from most to least memory.
MEMORY_KINDS = ("full", "last", "lowrank", "diagonal")


def _prep(Xs, Ys):
    Xs = _design_list(Xs)
    if not isinstance(Ys, (list, tuple)) or len(Ys) != len(Xs):
        raise ValueError(f"Ys must be a list with one response vector per task ({len(Xs)})")
    Ys = [_arr(y, f"Ys[{t}]") for t, y in enumerate(Ys)]
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
        m = _arr(xi, f"xis[{t}]")
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
        w0 = _arr(w0, "w0", ndim=1)
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
    (GR with :math:`\\Xi_t \\to 0^+`); see {prf:ref}`thm-lcl-minnorm-floor`.

    Parameters
    ----------
    Xs, Ys
        As in :func:`gr_path`.

    Returns
    -------
    numpy.ndarray
        As :func:`gr_path`.

    Raises
    ------
    ValueError
        As :func:`gr_path`.
    """
    return gr_path(Xs, Ys, None)


def xis_from_lams(V: Any, lams: Any) -> list[np.ndarray]:
    """Matrices :math:`\\Xi_t = V \\operatorname{diag}(\\lambda^{(t)}) V^\\top` from eigenvalues ``lams`` (T, p).

    Raises ValueError on +inf (give any finite value >= 0 in a direction the task does not
    observe: there all choices give the same estimate).

    Parameters
    ----------
    V : array_like, shape (p, p)
    lams : array_like, shape (T, p)

    Returns
    -------
    list of numpy.ndarray
        ``T`` matrices ``(p, p)``.
    """
    V = _arr(V, "V", ndim=2)
    lam = _arr(lams, "lams", ndim=2, nonnegative=True)
    if V.shape[0] != V.shape[1] or lam.shape[1] != V.shape[0]:
        raise ValueError(f"lams must be (T, p) with p={V.shape[0]}, got {lam.shape}")
    return [(V * l) @ V.T for l in lam]


def ridge_path(Xs: Sequence[Any], Ys: Sequence[Any], lam: Any) -> np.ndarray:
    """Continual ridge: GR with :math:`\\Xi_t = \\lambda_t I` (``lam`` a scalar or one value per task).

    Parameters
    ----------
    Xs, Ys
        As in :func:`gr_path`.
    lam : float or array_like, shape (T,)
        Ridge parameters :math:`\\lambda_t \\ge 0` ({prf:ref}`def-lcl-gr` with :math:`\\Xi_t = \\lambda_t I`).

    Returns
    -------
    numpy.ndarray
        As :func:`gr_path`.

    Raises
    ------
    ValueError
        Negative or non-finite ``lam``, shapes that disagree.
    """
    T, p = len(Xs), np.shape(Xs[0])[-1]
    lam = np.broadcast_to(_arr(lam, "lam", nonnegative=True), (T,))
    return gr_path(Xs, Ys, [l * np.eye(p) for l in lam])


def practical_xis(Xs: Sequence[Any]) -> list[np.ndarray]:
    """The practical choice :math:`\\Xi_t = \\tfrac{1}{n_t}\\sum_{\\tau<t} X_\\tau^\\top X_\\tau`
    (online EWC with :math:`\\gamma = 1` for equal :math:`n_t`; {prf:ref}`prop-lcl-practical`).

    Parameters
    ----------
    Xs : list of (n_t, p) or (R, n_t, p) arrays

    Returns
    -------
    list of numpy.ndarray
        ``T`` matrices ``(p, p)`` (or ``(R, p, p)``), the first one 0.

    Raises
    ------
    ValueError
        Designs with different ``p`` or empty. TypeError for complex input.
    """
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

    Parameters
    ----------
    Xs : list of (n_t, p) or (R, n_t, p) arrays
    V : array_like, shape (p, p)
        The common eigenbasis.
    e0 : array_like, shape (p,)
        :math:`(v_j^\\top w^*)^2`.
    sigma2 : float

    Returns
    -------
    list of numpy.ndarray
    """
    Xs = _design_list(Xs)
    p = Xs[0].shape[-1]
    V = _arr(V, "V", ndim=2)
    e0 = _e0(e0, p)
    s2 = _real_scalar(sigma2, "sigma2")
    if s2 > 0 and np.any(e0 == 0):
        raise ValueError("optimal_xis needs e0 > 0 in every direction (lambda* is infinite where e0 = 0)")
    P0 = (V * (s2 / np.where(e0 > 0, e0, 1.0))) @ V.T
    return [x + P0 / X.shape[-2] for x, X in zip(practical_xis(Xs), Xs)]


def _lowrank(A: np.ndarray, k: int) -> np.ndarray:
    """Best rank-``k`` approximation of the PSD matrix ``A`` (batched): its top-``k`` eigenpairs."""
    w, U = np.linalg.eigh(A)
    Uk, wk = U[..., -k:], np.clip(w[..., -k:], 0.0, None)
    return (Uk * wk[..., None, :]) @ np.swapaxes(Uk, -1, -2)


def memory_xis(Xs: Sequence[Any], kind: str, k: int | None = None) -> list[np.ndarray]:
    """Regularizers :math:`\\Xi_t` built from what a learner keeps of the past tasks (memory against accuracy).

    With :math:`G_\\tau = X_\\tau^\\top X_\\tau` (``n_t`` times the empirical Fisher of task :math:`\\tau` for the
    squared loss), :math:`\\Xi_t = B_{t-1}/n_t` where the stored matrix :math:`B` is

    * ``"full"``: :math:`B_t = \\sum_{\\tau\\le t} G_\\tau` (practical GR, :func:`practical_xis`; equals the
      oracle, {prf:ref}`prop-lcl-practical`), :math:`p(p+1)/2` numbers;
    * ``"diagonal"``: :math:`B_t = \\operatorname{diag}(\\sum_{\\tau\\le t} G_\\tau)` in the coordinate basis, the
      diagonal Fisher of EWC as practised ({prf:ref}`rem-lcl-ewc`), :math:`p` numbers;
    * ``"lowrank"``: :math:`B_t = [B_{t-1} + G_t]_k`, the best rank-``k`` approximation kept online (top-``k``
      eigenpairs), :math:`k(p+1)` numbers;
    * ``"last"``: :math:`B_t = G_t` (the previous task only), :math:`\\min(n_t p, p(p+1)/2)` numbers.

    Parameters
    ----------
    Xs : list of (n_t, p) or (R, n_t, p) arrays
        The designs.
    kind : {"full", "diagonal", "lowrank", "last"}
    k : int, optional
        Rank for ``"lowrank"`` (``1 <= k <= p``); ignored otherwise.

    Returns
    -------
    list of numpy.ndarray
        ``T`` matrices ``(p, p)`` (or ``(R, p, p)``); :math:`\\Xi_1 = 0`.

    Raises
    ------
    ValueError
        Unknown ``kind``, missing or out-of-range ``k``, bad designs.
    """
    Xs = _design_list(Xs)
    p = Xs[0].shape[-1]
    if kind not in MEMORY_KINDS:
        raise ValueError(f"kind must be one of {MEMORY_KINDS}, got {kind!r}")
    if kind == "lowrank":
        k = _memory_rank(k, p)
    B = np.zeros(Xs[0].shape[:-2] + (p, p))
    out = []
    for X in Xs:
        out.append(B / X.shape[-2])
        G = np.swapaxes(X, -1, -2) @ X
        if kind == "full":
            B = B + G
        elif kind == "last":
            B = G
        elif kind == "diagonal":
            B = B + np.diagonal(G, axis1=-2, axis2=-1)[..., None] * np.eye(p)
        else:
            B = _lowrank(B + G, k)
    return out


def memory_floats(kind: str, p: int, k: int | None = None, n: int | None = None) -> int:
    """Numbers a learner stores between tasks besides :math:`\\hat w` for each regularizer of :func:`memory_xis`.

    Parameters
    ----------
    kind : {"full", "diagonal", "lowrank", "last", "minnorm", "ridge"}
        ``"minnorm"`` stores nothing (0), ``"ridge"`` its scalar :math:`\\lambda` (1).
    p : int
        Dimension.
    k : int, optional
        Rank for ``"lowrank"``.
    n : int, optional
        Sample size of a task, for ``"last"`` (stores :math:`X_{t-1}` or its Gram matrix, whichever is smaller).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Unknown ``kind`` or a missing ``k``/``n``.
    """
    p = check_positive_int(p, "p")
    if kind == "minnorm":
        return 0
    if kind == "ridge":
        return 1
    if kind == "full":
        return p * (p + 1) // 2
    if kind == "diagonal":
        return p
    if kind == "lowrank":
        if k is None:
            raise ValueError("kind='lowrank' needs the rank k")
        return check_positive_int(k, "k") * (p + 1)
    if kind == "last":
        if n is None:
            raise ValueError("kind='last' needs the task sample size n")
        return min(check_positive_int(n, "n") * p, p * (p + 1) // 2)
    raise ValueError(f"kind must be one of {MEMORY_KINDS + ('minnorm', 'ridge')}, got {kind!r}")


def practical_path(Xs, Ys) -> np.ndarray:
    """GR with :func:`practical_xis`; equals :func:`oracle_path` ({prf:ref}`prop-lcl-practical`).

    Parameters
    ----------
    Xs, Ys
        As in :func:`gr_path`.

    Returns
    -------
    numpy.ndarray
        As :func:`gr_path`.

    Raises
    ------
    ValueError
        As :func:`gr_path`.
    """
    return gr_path(Xs, Ys, practical_xis(Xs))


def optimal_path(Xs, Ys, V, e0, sigma2) -> np.ndarray:
    """GR with :func:`optimal_xis` ({prf:ref}`thm-lcl-optimal`).

    Parameters
    ----------
    Xs, Ys
        As in :func:`gr_path`.
    V, e0, sigma2
        As in :func:`optimal_xis`.

    Returns
    -------
    numpy.ndarray
        As :func:`gr_path`.

    Raises
    ------
    ValueError
        As :func:`gr_path` and :func:`optimal_xis`.
    """
    return gr_path(Xs, Ys, optimal_xis(Xs, V, e0, sigma2))


def oracle_path(Xs: Sequence[Any], Ys: Sequence[Any]) -> np.ndarray:
    """Oracle: least squares on all data so far, :math:`\\hat w_t = (\\sum_{\\tau\\le t}X_\\tau^\\top X_\\tau)^{+}\\sum_{\\tau\\le t}X_\\tau^\\top y_\\tau`
    (minimum-norm solution while the stacked design is rank deficient); {prf:ref}`thm-lcl-oracle`.

    Parameters
    ----------
    Xs, Ys
        As in :func:`gr_path`.

    Returns
    -------
    numpy.ndarray
        ``(T, p)``, or ``(R, T, p)`` for batched responses.

    Raises
    ------
    ValueError
        Shapes that disagree. TypeError for complex input.
    """
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

    Parameters
    ----------
    X : array_like, shape (n, p)
    y : array_like, shape (n,)
    w_prev : array_like, shape (p,)
        Starting point :math:`\\hat w_{t-1}`.
    lr : float or array_like, shape (p, p)
        Learning rate :math:`\\eta > 0` or PSD matrix :math:`H`.
    k : int
        Number of steps.

    Returns
    -------
    numpy.ndarray, shape (p,)

    Raises
    ------
    ValueError
        Shapes that disagree, a non-positive or non-PSD ``lr``, ``k < 1``. TypeError for complex input.
    """
    X = _arr(X, "X", ndim=2)
    n, p = X.shape
    y = _arr(y, "y", ndim=1)
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {y.shape}")
    w = _arr(w_prev, "w_prev", ndim=1).copy()
    if w.shape != (p,):
        raise ValueError(f"w_prev must have shape ({p},), got {w.shape}")
    k = check_positive_int(k, "k")
    H = _arr(lr, "lr")
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


def _string_xi(spec: str, A: np.ndarray, G: np.ndarray, P0: np.ndarray, n: int):
    """:math:`\\Xi_t` of a named method from the accumulated Gram ``A``, the previous task's ``G``, the prior ``P0``."""
    if spec == "minnorm":
        return None
    if spec == "practical":
        return A / n
    if spec == "optimal":
        return (A + P0) / n
    if spec == "diagonal":
        return np.diagonal(A, axis1=-2, axis2=-1)[..., None] * np.eye(A.shape[-1]) / n
    return G / n  # "last"


def monte_carlo(tasks: TaskSequence, methods: Mapping[str, Any], sigma2: float, reps: int, rng: Any, *,
                redraw_design: bool | None = None, chunk: int | None = None) -> dict[str, np.ndarray]:
    """Squared errors :math:`\\lVert\\hat w_t - w^*\\rVert^2` of several methods over independent repetitions.

    Parameters
    ----------
    tasks : TaskSequence
    methods : mapping name -> spec
        ``"oracle"``, ``"minnorm"``, ``"practical"``, ``"optimal"`` (:func:`optimal_xis`), ``"diagonal"`` and
        ``"last"`` (:func:`memory_xis`: diagonal Fisher, previous task's Gram), an array
        ``lams`` (T, p) of :math:`\\Xi_t` eigenvalues in the basis ``tasks.V`` (e.g. ridge:
        ``lam_t * np.ones((T, p))``), or (fixed design only) a list of ``T`` matrices :math:`\\Xi_t`
        (e.g. :func:`memory_xis` of ``tasks.X``).
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
    s2 = _real_scalar(sigma2, "sigma2")
    reps = dry_run_cap(check_positive_int(reps, "reps"), 4)  # a dry run of the full profile: 4 repetitions
    gen = _rng(rng)
    redraw = (tasks.design == "random") if redraw_design is None else bool(redraw_design)
    T, p = tasks.T, tasks.p
    specs: dict[str, Any] = {}
    for name, spec in methods.items():
        if isinstance(spec, str):
            if spec not in ("oracle", "minnorm", "practical", "optimal", "diagonal", "last"):
                raise ValueError(f"unknown method spec {spec!r} for {name!r}; use 'oracle', 'minnorm', "
                                 "'practical', 'optimal', 'diagonal', 'last' or a (T, p) array of Xi eigenvalues")
            specs[name] = spec
        elif isinstance(spec, (list, tuple)):
            if redraw:
                raise ValueError(f"methods[{name!r}]: a list of Xi matrices needs a fixed design")
            specs[name] = _xi_list(list(spec), T, p)
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
        G = A
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
                w[name] = _gr_step(w[name], X, y, _string_xi(spec, A, G, P0, n) if isinstance(spec, str)
                                   else spec[t])
            G = Xt @ X
            A = A + G
            b = b + (Xt @ y[..., None] if X.ndim == 3 else (y @ X)[..., None])
            for name, spec in specs.items():
                if isinstance(spec, str) and spec == "oracle":
                    w[name] = _psd_solve(A, b)[..., 0]
                out[name][s:s + R, t] = ((w[name] - tasks.w_star) ** 2).sum(-1)
    return out


def mc_summary(errors: np.ndarray, theory: Any | None = None) -> dict[str, np.ndarray]:
    """Mean and standard error per task of a ``(reps, T)`` array of squared errors, and with ``theory`` the
    z-score and relative error (:func:`mylib.stats.mc_agreement`).

    Parameters
    ----------
    errors : array_like, shape (reps, T)
        Squared errors, ``reps >= 2``.
    theory : array_like, optional
        Closed-form expectation per task (broadcast to ``(T,)``).

    Returns
    -------
    dict
        ``mean``, ``se``; with ``theory`` also ``theory``, ``z`` :math:`= (\\bar e - e)/\\mathrm{SE}` and ``rel``
        :math:`= |\\bar e - e|/e`.

    Raises
    ------
    ValueError
        Fewer than 2 repetitions, not 2-D, or not finite. TypeError for complex input.
    """
    e = _arr(errors, "errors", ndim=2)
    if e.shape[0] < 2:
        raise ValueError("need at least 2 repetitions for a standard error")
    if theory is None:
        mean, se = stats.mean_se(e)
        return {"mean": mean, "se": se}
    return stats.mc_agreement(e, _arr(theory, "theory"))
