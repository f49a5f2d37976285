"""Shared statistics of Monte Carlo and multi-seed results, each helper once."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["mean_se", "mc_agreement", "paired_difference", "describe"]


def _array(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x)
    if np.iscomplexobj(a):
        raise TypeError(f"{name} must be real, got complex values")
    a = a.astype(np.float64)
    if np.any(np.isnan(a)):
        raise ValueError(f"{name} contains NaN")
    return a


def mean_se(x: Any, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean and its standard error :math:`s/\\sqrt{m}` (``ddof=1``) along ``axis``.

    Parameters
    ----------
    x : array_like
        Values (real, no NaN), at least 2 along ``axis``.
    axis : int
        The axis of repetitions.

    Returns
    -------
    mean, se : numpy.ndarray

    Raises
    ------
    ValueError
        Fewer than 2 values along ``axis``, or NaN.
    """
    a = _array(x, "x")
    m = a.shape[axis] if a.ndim else 0
    if m < 2:
        raise ValueError(f"x needs at least 2 values along axis {axis} for a standard error, got {m}")
    return a.mean(axis), a.std(axis, ddof=1) / np.sqrt(m)


def mc_agreement(samples: Any, theory: Any, axis: int = 0) -> dict[str, np.ndarray]:
    """Agreement of a Monte Carlo mean with a closed form: mean, SE, z-score and relative error.

    :math:`z = (\\bar e - e)/\\mathrm{SE}` and :math:`|\\bar e - e|/e`, where :math:`e` is ``theory``.

    Returns
    -------
    dict
        ``mean``, ``se``, ``theory``, ``z`` (NaN where SE = 0), ``rel`` (NaN where theory <= 0).
    """
    mean, se = mean_se(samples, axis)
    th = np.broadcast_to(_array(theory, "theory"), mean.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (mean - th) / np.where(se > 0, se, np.nan)
        rel = np.abs(mean - th) / np.where(th > 0, th, np.nan)
    return {"mean": mean, "se": se, "theory": th, "z": z, "rel": rel}


def paired_difference(a: Any, b: Any) -> dict[str, float]:
    """Mean ± SE of the paired differences ``a - b`` (same seeds/splits), with their count.

    Returns
    -------
    dict
        ``mean``, ``se``, ``sd``, ``n`` and ``z = mean/se`` (NaN where SE = 0).

    Raises
    ------
    ValueError
        If ``a`` and ``b`` differ in shape or have fewer than 2 pairs.
    """
    a, b = _array(a, "a").ravel(), _array(b, "b").ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must be paired (same length), got {a.size} and {b.size}")
    d = a - b
    mean, se = mean_se(d)
    return {"mean": float(mean), "se": float(se), "sd": float(d.std(ddof=1)), "n": int(d.size),
            "z": float(mean / se) if se > 0 else float("nan")}


def describe(x: Any) -> dict[str, float]:
    """Mean, SE, standard deviation, median and 10 %/90 % quantiles of a 1-D sample (at least 2 values)."""
    r = _array(x, "x")
    if r.ndim != 1 or r.size < 2:
        raise ValueError(f"x must be 1-D with at least 2 values, got shape {r.shape}")
    q10, med, q90 = np.quantile(r, [0.1, 0.5, 0.9])
    return {"mean": float(r.mean()), "se": float(r.std(ddof=1) / np.sqrt(r.size)), "sd": float(r.std(ddof=1)),
            "median": float(med), "q10": float(q10), "q90": float(q90), "n": int(r.size)}


def mean_ci(x: Any, level: float = 0.95, axis: int = 0) -> dict[str, np.ndarray]:
    """Mean with a Student-t confidence interval :math:`\\bar x \\pm t_{m-1, (1+\\mathrm{level})/2}\\, s/\\sqrt{m}`.

    Parameters
    ----------
    x : array_like
        Independent replicates along ``axis`` (at least 2), e.g. one value per task-sequence draw.
    level : float
        Coverage in (0, 1).
    axis : int
        The axis of replicates.

    Returns
    -------
    dict
        ``mean``, ``se``, ``lo``, ``hi``, ``n`` (number of replicates), ``level``.

    Raises
    ------
    ValueError
        Fewer than 2 replicates, NaN, or ``level`` outside (0, 1). TypeError for complex input.
    """
    from scipy.stats import t as student_t

    if not 0 < float(level) < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    mean, se = mean_se(x, axis)
    m = np.shape(x)[axis]
    half = student_t.ppf((1 + float(level)) / 2, m - 1) * se
    return {"mean": mean, "se": se, "lo": mean - half, "hi": mean + half, "n": int(m), "level": float(level)}
