"""Shared numerics, each helper once: Haar-orthonormal frames, PSD solves and square roots, spectral entropy,
and the isotropic least-squares variance factor used by Parts III and IV."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._checks import check_positive_int

__all__ = ["haar_orthonormal", "psd_solve", "psd_sqrt", "xlogx_entropy", "isotropic_ls_variance", "PSD_RTOL"]

#: Relative eigenvalue threshold of the pseudo-inverse in :func:`psd_solve`.
PSD_RTOL = 1e-12


def haar_orthonormal(rows: int, cols: int, rng: Any = 0) -> np.ndarray:
    """A Haar-distributed ``rows x cols`` matrix with orthonormal columns (``rows >= cols``).

    QR of a standard Gaussian matrix with the signs of ``diag(R)`` moved into ``Q``, which makes the law exactly
    uniform (Haar) on the Stiefel manifold. Take ``.T`` for orthonormal rows.

    Parameters
    ----------
    rows, cols : int
        Shape, ``rows >= cols >= 1``.
    rng : int, numpy.random.Generator or numpy.random.SeedSequence
        Source of randomness (passed to :func:`numpy.random.default_rng`).

    Returns
    -------
    numpy.ndarray
        ``(rows, cols)``, float64, with :math:`Q^\\top Q = I`.

    Raises
    ------
    ValueError
        If ``rows < cols`` or either is not a positive integer.
    """
    rows = check_positive_int(rows, "rows")
    cols = check_positive_int(cols, "cols")
    if rows < cols:
        raise ValueError(f"orthonormal columns need rows >= cols, got rows={rows}, cols={cols}")
    q, r = np.linalg.qr(np.random.default_rng(rng).standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))[None, :]


def psd_solve(M: np.ndarray, B: np.ndarray, rtol: float = PSD_RTOL) -> np.ndarray:
    """:math:`M^+ B` for symmetric positive semi-definite ``M``, batched over leading axes.

    Cholesky when ``M`` is clearly non-singular (smallest pivot above ``1e-8`` times the largest diagonal entry),
    otherwise the eigenvalue pseudo-inverse that drops eigenvalues below ``rtol`` times the largest.

    Parameters
    ----------
    M : numpy.ndarray
        ``(..., p, p)`` symmetric PSD.
    B : numpy.ndarray
        ``(..., p, k)`` right-hand sides (broadcast against ``M``'s leading axes).
    rtol : float
        Relative eigenvalue cut-off of the pseudo-inverse.

    Returns
    -------
    numpy.ndarray
        ``(..., p, k)``.
    """
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
    tol = rtol * np.maximum(w.max(axis=-1, keepdims=True), 0.0)
    inv = np.where(w > tol, 1.0 / np.where(w > tol, w, 1.0), 0.0)
    return U @ (inv[..., :, None] * (np.swapaxes(U, -1, -2) @ B))


def psd_sqrt(M: np.ndarray) -> np.ndarray:
    """Symmetric square root :math:`M^{1/2}` of a PSD matrix (negative rounding errors clipped to 0)."""
    s, V = np.linalg.eigh((M + M.T) / 2)
    return (V * np.sqrt(np.clip(s, 0, None))) @ V.T


def xlogx_entropy(p: torch.Tensor) -> torch.Tensor:
    """:math:`-\\sum_j p_j \\log p_j` over the last axis, negatives clamped to 0 and :math:`0 \\log 0 = 0`.

    Gradient-safe: the logarithm never sees a zero, so a zero eigenvalue contributes a zero value and a zero
    gradient (the von Neumann entropy of {prf:ref}`def-mi-entropy` from a spectrum).
    """
    p = torch.clamp(p, min=0.0)
    pos = p > 0
    safe = torch.where(pos, p, torch.ones_like(p))
    return -torch.where(pos, p * torch.log(safe), torch.zeros_like(p)).sum(-1)


def isotropic_ls_variance(n: Any, p: Any) -> np.ndarray:
    """Variance factor :math:`v(n, p)` of least squares with ``n`` i.i.d. :math:`N(0, I_p)` samples.

    .. math::

        v(n, p) = \\begin{cases} p/(n - p - 1), & n \\ge p + 2,\\\\
                                n/(p - n - 1), & n \\le p - 2,\\\\
                                +\\infty, & |n - p| \\le 1, \\end{cases}

    so that the minimum-norm estimator has expected error :math:`(1 - n/p)_+ \\lVert w\\rVert^2 + \\sigma^2 v(n, p)`
    ({prf:ref}`thm-lcl-oracle`, {prf:ref}`thm-dd-underparam`, {prf:ref}`thm-dd-overparam`).

    Parameters
    ----------
    n, p : array_like
        Sample sizes and dimensions (broadcast), non-negative.

    Returns
    -------
    numpy.ndarray
        :math:`v(n, p)` (``inf`` where the inverse moment diverges).
    """
    n = np.asarray(n, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        over = p / (n - p - 1)
        under = n / (p - n - 1)
    return np.where(n >= p + 2, over, np.where(n <= p - 2, under, np.inf))
