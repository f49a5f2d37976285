"""Shared statistics of Monte Carlo and multi-seed results, each helper once.

Every page that reports a mean over seeds or repetitions shows it as mean ± standard error with the number of
values (:func:`mean_se`, :func:`describe`); a Monte Carlo check of a closed form reports its z-score and relative
error (:func:`mc_agreement`); two methods run on the same seeds are compared through their paired differences
(:func:`paired_difference`). Inputs are numpy arrays, lists or torch tensors; NaN and complex values raise.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["mean_se", "mc_agreement", "paired_difference", "paired_verdict", "describe"]


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

    With :math:`m` values :math:`x_1, \\\\dots, x_m`: :math:`\\\\bar x = \\\\frac1m \\\\sum_i x_i` and
    :math:`s^2 = \\\\frac{1}{m-1} \\\\sum_i (x_i - \\\\bar x)^2`.

    Parameters
    ----------
    x : array_like
        Values (real, no NaN), at least 2 along ``axis``.
    axis : int
        The axis of repetitions.

    Returns
    -------
    mean : numpy.ndarray
        :math:`\\\\bar x`, the shape of ``x`` without ``axis``.
    se : numpy.ndarray
        :math:`s/\\\\sqrt{m}`, same shape.

    Raises
    ------
    ValueError
        Fewer than 2 values along ``axis``, an ``axis`` that ``x`` does not have, or NaN.
    TypeError
        Complex values.
    """
    return _mean_se(_array(x, "x"), axis, "x")


def _mean_se(a: np.ndarray, axis: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if a.ndim and not -a.ndim <= axis < a.ndim:
        raise ValueError(f"axis {axis} is out of range for {name} with shape {a.shape}")
    m = a.shape[axis] if a.ndim else 0
    if m < 2:
        raise ValueError(f"{name} needs at least 2 values along axis {axis} for a standard error, got {m}")
    return a.mean(axis), a.std(axis, ddof=1) / np.sqrt(m)


def mc_agreement(samples: Any, theory: Any, axis: int = 0) -> dict[str, np.ndarray]:
    """Agreement of a Monte Carlo mean with a closed form: mean, SE, z-score and relative error.

    :math:`z = (\\\\bar e - e)/\\\\mathrm{SE}` and :math:`|\\\\bar e - e|/e`, where :math:`\\\\bar e, \\\\mathrm{SE}` are
    :func:`mean_se` of ``samples`` and :math:`e` is ``theory``. A correct closed form gives :math:`|z| \\\\lesssim 3`
    at every point (about normal for many repetitions).

    Parameters
    ----------
    samples : array_like
        Monte Carlo values, at least 2 along ``axis``.
    theory : array_like
        The closed form, broadcastable to the shape of the mean.
    axis : int
        The axis of repetitions in ``samples``.

    Returns
    -------
    dict
        ``mean``, ``se``, ``theory`` (broadcast), ``z`` (NaN where SE = 0), ``rel`` (NaN where theory <= 0), arrays of
        the shape of the mean.

    Raises
    ------
    ValueError
        As :func:`mean_se` for ``samples``; NaN in ``theory`` or a shape that does not broadcast to the mean's.
    """
    mean, se = _mean_se(_array(samples, "samples"), axis, "samples")
    th = _array(theory, "theory")
    try:
        th = np.broadcast_to(th, mean.shape)
    except ValueError:
        raise ValueError(f"theory with shape {th.shape} does not broadcast to the mean's shape {mean.shape}") from None
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (mean - th) / np.where(se > 0, se, np.nan)
        rel = np.abs(mean - th) / np.where(th > 0, th, np.nan)
    return {"mean": mean, "se": se, "theory": th, "z": z, "rel": rel}


def paired_difference(a: Any, b: Any) -> dict[str, float]:
    """Mean ± SE of the paired differences ``a - b`` (same seeds/splits), with their count.

    With :math:`d_i = a_i - b_i`, :math:`i = 1..n`: the mean :math:`\\\\bar d`, :math:`\\\\mathrm{sd} = s_d`,
    :math:`\\\\mathrm{SE} = s_d/\\\\sqrt n` and :math:`z = \\\\bar d/\\\\mathrm{SE}`. Pairing removes the seed-to-seed variation
    that both methods share.

    Parameters
    ----------
    a, b : array_like
        The two methods' results, paired element by element (flattened), at least 2 pairs.

    Returns
    -------
    dict
        ``mean``, ``se``, ``sd`` (floats), ``n`` (int) and ``z`` (NaN where SE = 0).

    Raises
    ------
    ValueError
        If ``a`` and ``b`` differ in size, have fewer than 2 pairs or hold NaN.
    """
    a, b = _array(a, "a").ravel(), _array(b, "b").ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must be paired (same length), got {a.size} and {b.size}")
    d = a - b
    if d.size < 2:
        raise ValueError(f"a and b need at least 2 pairs for a standard error, got {d.size}")
    mean, se = mean_se(d)
    return {"mean": float(mean), "se": float(se), "sd": float(d.std(ddof=1)), "n": int(d.size),
            "z": float(mean / se) if se > 0 else float("nan")}


def paired_verdict(d: Any, threshold: float = 2.0) -> str:
    """Say how method A compares with method B from their paired differences ``d = a - b``, naming a direction only
    where it exceeds the noise.

    With :math:`\\bar d` and :math:`\\mathrm{SE} = s_d/\\sqrt n` (:func:`paired_difference`): ``"above"`` if
    :math:`\\bar d > \\mathrm{threshold}\\cdot\\mathrm{SE}`, ``"below"`` if :math:`\\bar d < -\\mathrm{threshold}\\cdot
    \\mathrm{SE}`, ``"the same runs as"`` if every difference is exactly 0, ``"untested (1 seed, no standard
    error) against"`` for a single non-zero difference, and otherwise ``"within 2 SE of"`` (the threshold printed).
    A sign inside the noise is not reported, so the sentence does not flip with the last bits of another CPU's
    kernels.

    Parameters
    ----------
    d : array_like
        Paired differences (flattened), at least 1, no NaN.
    threshold : float
        Number of standard errors a mean difference must exceed, positive.

    Returns
    -------
    str
        One of ``"above"``, ``"below"``, ``"the same runs as"``, ``"within <threshold> SE of"``, ``"untested (1
        seed, no standard error) against"``, to be followed by the name of method B.

    Raises
    ------
    ValueError
        If ``d`` is empty or holds NaN, or ``threshold`` is not a positive finite number.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < np.inf:
        raise ValueError(f"threshold must be a positive finite number, got {threshold!r}")
    r = _array(d, "d").ravel()
    if r.size == 0:
        raise ValueError("d needs at least 1 paired difference, got none")
    if np.all(r == 0):
        return "the same runs as"
    if r.size < 2:
        return "untested (1 seed, no standard error) against"
    p = paired_difference(r, np.zeros_like(r))
    if abs(p["mean"]) > threshold * p["se"]:
        return "above" if p["mean"] > 0 else "below"
    return f"within {threshold:g} SE of"


def describe(x: Any) -> dict[str, float]:
    """Mean, SE, standard deviation, median and 10 %/90 % quantiles of a 1-D sample.

    Parameters
    ----------
    x : array_like
        1-D, at least 2 values, no NaN.

    Returns
    -------
    dict
        ``mean``, ``se`` (:math:`s/\\sqrt n`), ``sd`` (:math:`s`, ``ddof=1``), ``median``, ``q10``, ``q90`` (linear
        interpolation, :func:`numpy.quantile`) as floats and ``n`` as int.

    Raises
    ------
    ValueError
        If ``x`` is not 1-D, has fewer than 2 values or holds NaN.
    """
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
