"""Heads and Monte Carlo risks: fit a head, simulate risk curves, compare them with the theory."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from .._checks import as_tensor, check_finite_array, check_nonnegative, check_positive_int, is_torch
from .. import seeds
from ..runtime import dry_run_cap, get_device
from ..stats import describe
from .readouts import HeadTask
from .sources import _DTYPE

__all__ = ["fit_head", "simulate_head_risks", "peak_location", "model_size_grid", "simulate_curve", "curve_agreement", "format_curve"]

# ----------------------------------------------------------------------------------------------------------------
# Heads, Monte Carlo risks, summaries
def fit_head(X: Any, Y: Any, ridge: float = 0.0, intercept: bool = False):
    """Fit a linear head ``B`` (p x d) on features ``X`` (n x p) and targets ``Y`` (n x d) ({prf:ref}`def-dd-head`).

    ``ridge == 0``: the minimum-norm least-squares head ``B = X^+ Y`` (SVD pseudo-inverse; ``(X^T X)^{-1} X^T Y``
    for ``p <= n`` and ``X^T (X X^T)^{-1} Y`` for ``p >= n`` when ``X`` has full rank). ``ridge > 0``: the ridge head
    minimising ``(1/n)||Y - X B||^2 + ridge ||B||^2``, ``B = X^T (X X^T + n ridge I)^{-1} Y``. Batched inputs
    ``(reps, n, p)`` / ``(reps, n, d)`` are fitted independently. numpy in, numpy out; torch in, torch out.

    ``intercept=True`` fits an unpenalised intercept as well (the feature mean is unknown): the same head on the
    training set centred by its own means, :math:`\\hat B = \\mathrm{head}(X - \\mathbf 1 \\bar x, Y - \\mathbf 1
    \\bar y)` and :math:`b_0 = \\bar y - \\bar x \\hat B` ({prf:ref}`prop-dd-intercept`).

    Parameters
    ----------
    X : array_like or torch.Tensor
        ``(n, p)`` or ``(reps, n, p)`` features.
    Y : array_like or torch.Tensor
        ``(n, d)`` or ``(reps, n, d)`` targets.
    ridge : float
        ``>= 0``; 0 is the minimum-norm head.
    intercept : bool
        Also fit an intercept.

    Returns
    -------
    B : array or tensor ``(p, d)`` / ``(reps, p, d)``
        With ``intercept=True`` the pair ``(B, b0)``, ``b0`` of shape ``(1, d)`` / ``(reps, 1, d)``.

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
    if not intercept:
        B = _fit(Xt, Yt, ridge)
        return B.cpu().numpy() if numpy_out else B
    B, b0 = _fit_intercept(Xt, Yt, ridge)
    return (B.cpu().numpy(), b0.cpu().numpy()) if numpy_out else (B, b0)


def _fit_intercept(X: torch.Tensor, Y: torch.Tensor, ridge: float) -> tuple[torch.Tensor, torch.Tensor]:
    xm, ym = X.mean(dim=-2, keepdim=True), Y.mean(dim=-2, keepdim=True)
    B = _fit(X - xm, Y - ym, ridge)
    return B, ym - xm @ B


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


def simulate_head_risks(task: HeadTask, n: int, reps: int, ridge: float = 0.0, seed: int = 0,
                        device: Any = None, max_elements: int = 2 ** 24, intercept: bool = False) -> np.ndarray:
    """Monte Carlo: exact population risks of ``reps`` heads, each fitted on a fresh training set of size ``n``.

    The generator is seeded from ``(seed, p, n)`` so that a model size gives the same numbers whatever the order in
    which sizes are simulated. Runs on ``device`` (default CUDA when present); training sets are processed in
    chunks of at most ``max_elements`` feature entries. With ``intercept=True`` the head also fits an intercept
    (:func:`fit_head`); its population risk adds :math:`\\lVert b_0\\rVert^2/d` (features and targets of a
    :class:`HeadTask` have mean zero).

    Implements the Monte Carlo side of {prf:ref}`def-dd-risk` with the exact population risk of
    {prf:ref}`lem-dd-decomposition`.

    Parameters
    ----------
    task : HeadTask
    n, reps : int
        Training-set size and number of training sets.
    ridge : float
        ``>= 0``; 0 is the minimum-norm head.
    seed : int
        Run seed (stream ``("head-risks", seed, p, n)`` of :mod:`mylib.seeds`).
    device : str or torch.device, optional
    max_elements : int
        Feature entries per chunk.
    intercept : bool
        Heads with an intercept.

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
    reps = dry_run_cap(check_positive_int(reps, "reps"), 4)  # a dry run of the full profile: 4 training sets
    ridge = check_nonnegative(ridge, "ridge")
    seed = check_positive_int(seed, "seed", 0)
    dev = get_device() if device is None else torch.device(device)
    gen = torch.Generator(device=dev).manual_seed(seeds.derive_seed("head-risks", seed, task.p, n))
    chunk = max(1, min(reps, max_elements // max(1, n * task.p)))
    out = []
    done = 0
    while done < reps:
        m = min(chunk, reps - done)
        X, Y = task.sample(n, m, gen, dev)
        if intercept:
            B, b0 = _fit_intercept(X, Y, ridge)
            out.append((task.risk(B) + (b0 * b0).sum(dim=(-2, -1)) / task.d).cpu())
        else:
            out.append(task.risk(_fit(X, Y, ridge)).cpu())
        done += m
    return torch.cat(out).numpy()


def peak_location(ps: Any, values: Any) -> int:
    """The model size at which ``values`` is largest (ties: the first).

    Used for the peak of {prf:ref}`cor-dd-degenerate` and {prf:ref}`prop-dd-intercept`.

    Parameters
    ----------
    ps : array_like (m,)
        Model sizes.
    values : array_like (m,)
        A curve over them (NaN never wins).

    Returns
    -------
    int
        The size with the largest value.

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

    Parameters
    ----------
    p_min, p_max : int
        Range, ``1 <= p_min <= p_max``.
    num : int
        Points of the log grid, ``>= 2``.
    n : int, optional
        Training samples (adds the sizes around the peak of {prf:ref}`prop-dd-peak`).

    Returns
    -------
    numpy.ndarray of int
        Sorted, unique sizes.

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
                   device: Any = None, desc: str | None = None, intercept: bool = False) -> dict[str, np.ndarray]:
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
    intercept : bool
        Heads with an intercept (:func:`fit_head`); the theory is then :meth:`HeadTask.theory` with
        ``intercept=True``.

    Returns
    -------
    dict of numpy arrays
        ``p``, ``theory`` (:meth:`HeadTask.theory`), ``noise``, ``signal``, ``ridge``, and the
        :func:`mylib.stats.describe` fields ``mean``, ``se``, ``median``, ``q10``, ``q90``.

    Raises
    ------
    ValueError
        If ``make_task`` does not return a :class:`HeadTask`, or for invalid sizes (see
        :func:`simulate_head_risks`). Compares with {prf:ref}`thm-dd-underparam`, {prf:ref}`thm-dd-overparam`,
        {prf:ref}`thm-dd-deteq` or {prf:ref}`prop-dd-intercept` through :meth:`HeadTask.theory`.

    """
    from ..runtime import progress

    keys = ("p", "theory", "noise", "signal", "ridge", "mean", "se", "median", "q10", "q90")
    out: dict[str, list] = {k: [] for k in keys}
    for p in progress(list(ps), desc=desc or "model sizes", unit="size"):
        task = make_task(int(p))
        if not isinstance(task, HeadTask):
            raise ValueError("make_task must return a HeadTask")
        lam = float(ridge(task)) if callable(ridge) else check_nonnegative(ridge, "ridge")
        s = describe(simulate_head_risks(task, n, reps, ridge=lam, seed=seed, device=device, intercept=intercept))
        row = dict(p=int(p), theory=task.theory(n, ridge=lam, intercept=intercept), noise=task.noise, signal=task.signal, ridge=lam, **s)
        for k in keys:
            out[k].append(row[k])
    return {k: np.asarray(v, dtype=np.float64 if k != "p" else np.int64) for k, v in out.items()}


def curve_agreement(curve: dict[str, np.ndarray], n: int, min_gap: int = 4, p_min: float = 0,
                    p_max: float = math.inf) -> dict[str, float]:
    """Largest relative error and largest ``|z|`` of simulation against theory over the sizes with
    ``|p - n| >= min_gap`` and ``p_min <= p <= p_max`` (finite theory only).

    Parameters
    ----------
    curve : dict
        A :func:`simulate_curve` result.
    n : int
        Centre of the excluded window (the interpolation threshold, {prf:ref}`prop-dd-peak`).
    min_gap : int
        Sizes with ``|p - n| < min_gap`` are left out.
    p_min, p_max : float
        Size range compared.

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
    ({ref}`ex-dd-chi2`) or infinite mean, so their standard errors are not meaningful. Relative error
    :math:`\\bar e / e - 1` (signed) and :math:`z = (\\bar e - e)/\\mathrm{SE}`; rows with infinite theory show only the
    simulation. Part III's :func:`mylib.linear_cl.experiments.mc_table` is the same comparison from raw repetitions,
    as a DataFrame.

    Parameters
    ----------
    curve : dict
        A :func:`simulate_curve` result.
    n : int
        Interpolation threshold ({prf:ref}`prop-dd-peak`) around which rows are marked.
    digits : int
        Significant digits.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer.

    """
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
