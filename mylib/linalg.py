"""Shared numerics, each helper once: Haar-orthonormal frames, PSD solves and square roots, spectral entropy,
and the isotropic least-squares variance factor used by Parts III and IV."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._checks import check_finite_array, check_positive_int

__all__ = ["haar_orthonormal", "psd_solve", "psd_sqrt", "xlogx_entropy", "isotropic_ls_variance", "PSD_RTOL"]

#: Relative eigenvalue threshold of the pseudo-inverse in :func:`psd_solve`.
PSD_RTOL = 1e-12


def haar_orthonormal(rows: int, cols: int, rng: Any = 0) -> np.ndarray:
    """A Haar-distributed ``rows x cols`` matrix with orthonormal columns (``rows >= cols``).

    QR of a standard Gaussian matrix :math:`G = QR` with the signs of :math:`\\operatorname{diag}(R)` moved into
    :math:`Q`, which makes the law exactly uniform (Haar) on the Stiefel manifold: :math:`OQ` has the law of
    :math:`Q` for every orthogonal :math:`O`, so e.g. :math:`\\mathbb{E}[Q_{ij}^2] = 1/\\text{rows}`. Take ``.T`` for
    orthonormal rows (the random orthogonal frames of {ref}`ex-nc-orthogonal`).

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

    Cholesky when ``M`` is clearly non-singular (smallest squared pivot above :math:`10^{-8}` times the largest
    diagonal entry, and ``rtol`` at most :math:`10^{-8}`), otherwise the eigenvalue pseudo-inverse
    :math:`M^+ = \\sum_{\\lambda_i > r \\lambda_{\\max}} \\lambda_i^{-1} u_i u_i^\\top` with :math:`r` = ``rtol``:
    the :math:`\\Xi \\to 0^+` limit of the generalized-ridge solution ({prf:ref}`lem-lcl-gr-solution`) and the
    least-squares heads of {prf:ref}`def-dd-head`. When one matrix ``M`` (``(p, p)`` or ``(1, p, p)``) serves a batch of
    single right-hand sides ``B`` of shape ``(R, p, 1)``, it is factorised once and the ``R`` columns solved together.

    Parameters
    ----------
    M : numpy.ndarray
        ``(..., p, p)`` symmetric PSD, finite.
    B : numpy.ndarray
        ``(..., p, k)`` right-hand sides (broadcast against ``M``'s leading axes), finite.
    rtol : float
        Relative eigenvalue cut-off :math:`r \\ge 0` of the pseudo-inverse.

    Returns
    -------
    numpy.ndarray
        ``(..., p, k)``, float64.

    Raises
    ------
    ValueError
        If ``M`` is not a (batch of) square matrices, ``B`` has fewer than 2 axes or another ``p``, either holds NaN
        or inf, or ``rtol`` is negative.
    """
    M = check_finite_array(M, "M")
    B = check_finite_array(B, "B")
    if M.ndim < 2 or M.shape[-1] != M.shape[-2]:
        raise ValueError(f"M must be (..., p, p), got shape {M.shape}")
    if B.ndim < 2 or B.shape[-2] != M.shape[-1]:
        raise ValueError(f"B must be (..., p, k) with p = {M.shape[-1]} (from M), got shape {B.shape}")
    if not (np.isfinite(rtol) and rtol >= 0):
        raise ValueError(f"rtol must be finite and >= 0, got {rtol!r}")
    if M.ndim == 2:
        M = M[None]
        if B.ndim == 2:
            return _psd_solve_core(M, B, rtol)[0]
    if M.ndim == 3 and M.shape[0] == 1 and B.ndim == 3 and B.shape[0] != 1 and B.shape[-1] == 1:
        # one factorisation for R right-hand sides: solve M X = [b_1 ... b_R] and split the columns again
        return _psd_solve_core(M, B[..., 0].T[None], rtol)[0].T[..., None]
    return _psd_solve_core(M, B, rtol)


_CHOLESKY_PIVOT = 1e-8


def _psd_solve_core(M: np.ndarray, B: np.ndarray, rtol: float) -> np.ndarray:
    scale = np.max(np.abs(np.diagonal(M, axis1=-2, axis2=-1)), axis=-1)
    try:
        # A larger cut-off than the pivot threshold could drop eigenvalues that Cholesky would keep.
        if rtol > _CHOLESKY_PIVOT:
            raise np.linalg.LinAlgError
        L = np.linalg.cholesky(M)
        piv = np.diagonal(L, axis1=-2, axis2=-1) ** 2
        if np.all(piv.min(axis=-1) > _CHOLESKY_PIVOT * np.maximum(scale, np.finfo(float).tiny)):
            z = np.linalg.solve(L, B)
            return np.linalg.solve(np.swapaxes(L, -1, -2), z)
    except np.linalg.LinAlgError:
        pass
    w, U = np.linalg.eigh(M)
    tol = rtol * np.maximum(w.max(axis=-1, keepdims=True), 0.0)
    inv = np.where(w > tol, 1.0 / np.where(w > tol, w, 1.0), 0.0)
    return U @ (inv[..., :, None] * (np.swapaxes(U, -1, -2) @ B))


def psd_sqrt(M: np.ndarray) -> np.ndarray:
    """Symmetric square root :math:`M^{1/2} = V \\operatorname{diag}(\\sqrt{\\max(s, 0)}) V^\\top` of a PSD matrix.

    :math:`M` is symmetrised, :math:`(M + M^\\top)/2 = V \\operatorname{diag}(s) V^\\top`, and negative rounding errors
    of the eigenvalues are clipped to 0 (the covariance square roots of {prf:ref}`def-dd-lgssm`).

    Parameters
    ----------
    M : numpy.ndarray
        ``(p, p)`` symmetric positive semi-definite, finite.

    Returns
    -------
    numpy.ndarray
        ``(p, p)`` symmetric PSD :math:`S` with :math:`S^2 = M` (up to rounding).

    Raises
    ------
    ValueError
        If ``M`` is not a finite square matrix.
    """
    M = check_finite_array(M, "M", ndim=2)
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"M must be square, got shape {M.shape}")
    s, V = np.linalg.eigh((M + M.T) / 2)
    return (V * np.sqrt(np.clip(s, 0, None))) @ V.T


def xlogx_entropy(p: torch.Tensor) -> torch.Tensor:
    """:math:`-\\sum_j p_j \\log p_j` over the last axis, negatives clamped to 0 and :math:`0 \\log 0 = 0`.

    Gradient-safe: the logarithm never sees a zero, so a zero eigenvalue contributes a zero value and a zero
    gradient (the von Neumann entropy of {prf:ref}`def-mi-entropy` from a spectrum). No host synchronisation, so it
    may run inside a training step.

    Parameters
    ----------
    p : torch.Tensor or numpy.ndarray
        Weights (e.g. the eigenvalues of a trace-one matrix), any shape; the sum runs over the last axis.

    Returns
    -------
    torch.Tensor or numpy.ndarray
        Shape ``p.shape[:-1]``; a numpy input gives a numpy output.

    Raises
    ------
    TypeError
        If ``p`` is neither a tensor nor an array of real numbers.
    """
    if not isinstance(p, torch.Tensor):
        arr = np.asarray(p)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"p must be a torch.Tensor or a real numpy array, got {type(p).__name__}")
        return xlogx_entropy(torch.as_tensor(arr, dtype=torch.float64)).numpy()
    if p.is_complex():
        raise TypeError("p must be real, got a complex tensor")
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

    The two branches are the inverse-Wishart moment of {prf:ref}`lem-lcl-inverse-wishart` applied to
    :math:`(X^\\top X)^{-1}` and to :math:`(X X^\\top)^{-1}`.

    Parameters
    ----------
    n : array_like
        Sample sizes, non-negative, finite.
    p : array_like
        Dimensions, non-negative, finite (broadcast against ``n``).

    Returns
    -------
    numpy.ndarray
        :math:`v(n, p)` (``inf`` where the inverse moment diverges), float64, the broadcast shape.

    Raises
    ------
    ValueError
        If ``n`` or ``p`` is negative, NaN or infinite.
    """
    n = check_finite_array(n, "n", nonnegative=True)
    p = check_finite_array(p, "p", nonnegative=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        over = p / (n - p - 1)
        under = n / (p - n - 1)
    return np.where(n >= p + 2, over, np.where(n <= p - 2, under, np.inf))
