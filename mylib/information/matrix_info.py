"""Matrix-based information quantities of representations (Part I).

Rows are samples. For a representation :math:`Z \\in \\mathbb{R}^{n\\times d}` let
:math:`\\hat z_i = z_i / \\lVert z_i \\rVert` and let :math:`G = \\hat Z \\hat Z^\\top` be the
cosine Gram matrix (unit diagonal), so :math:`\\operatorname{tr}(G/n) = 1`. This module
implements the quantities of {doc}`../book/part1_matrix_information`:

* matrix entropy (von Neumann, natural log) :math:`H(Z) = -\\sum_j \\lambda_j \\log \\lambda_j`,
  :math:`\\lambda_j` the eigenvalues of :math:`G/n` ({prf:ref}`def-mi-entropy`);
* matrix mutual information :math:`I(Z_1;Z_2) = H(G_1) + H(G_2) - H(G_1\\circ G_2)`
  ({prf:ref}`def-mi-mutual-information`);
* the mutual information ratio :math:`\\mathrm{MIR} = I / \\min(H_1, H_2)` and the entropy
  difference ratio :math:`\\mathrm{HDR} = |H_1 - H_2| / \\max(H_1, H_2)`
  ({prf:ref}`def-mi-mir-hdr`); the effective rank :math:`\\exp H`.

Cost. The :math:`n\\times n` Gram matrix is never formed when it can be avoided: the
nonzero spectrum of :math:`\\hat Z\\hat Z^\\top/n` is that of :math:`\\hat Z^\\top\\hat Z/n`
(:math:`d\\times d`), and :math:`G_1\\circ G_2` is the Gram matrix of the row-wise Kronecker
products :math:`y^{(1)}_i\\otimes y^{(2)}_i`, where :math:`Y_k = \\hat Z_k V_k` are the rows
projected on their top-:math:`r_k` right singular vectors (exact when :math:`r_k` is the
numerical rank, because :math:`Y_kY_k^\\top = \\hat Z_k\\hat Z_k^\\top`). The joint entropy then
costs :math:`O(n r_1^2 r_2^2 + r_1^3 r_2^3)` time and :math:`O(n(d_1+d_2) + r_1^2r_2^2)` memory
(the Kronecker rows are streamed in chunks) instead of :math:`O(n^3)` and :math:`O(n^2)`. When one
side has only :math:`m` distinct rows (the head of each sample's label: :math:`m = C`) and no
gradient is needed, the sum over samples is grouped by those rows, which costs
:math:`O(n r_1^2 + m r_1^2 r_2^2)`.
``method="auto"`` picks the cheaper of the two paths from a flop count; ``"gram"`` forces the
:math:`n\\times n` eigendecomposition (the reference) and ``"fast"`` forces the reduced one.

Inputs may be numpy arrays (computed in float64 on the CPU, results are Python floats) or
torch tensors on any device (computed in the input's floating dtype, at least float32;
results are 0-d tensors that keep the autograd graph so that they can serve as loss terms).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch

from .._checks import as_tensor, check_same_rows, is_torch, to_output
from ..linalg import xlogx_entropy

__all__ = [
    "METHODS",
    "normalize_rows",
    "gram_spectrum",
    "entropy_of_spectrum",
    "matrix_entropy",
    "joint_entropy",
    "mutual_information",
    "mir",
    "hdr",
    "effective_rank",
    "information_summary",
    "ZERO_ROWS",
    "SlowPathWarning",
    "check_real",
    "elementwise_product_mir",
]

#: What :func:`information_summary` does with all-zero rows: raise, or leave them out (no host synchronisation).
ZERO_ROWS: tuple[str, ...] = ("raise", "drop")


class SlowPathWarning(RuntimeWarning):
    """``method="fast"`` was forced where the Kronecker path costs more than the n x n path.

    Parameters
    ----------
    *args
        The message, as for ``RuntimeWarning``.
    """

METHODS: tuple[str, ...] = ("auto", "gram", "fast")

#: Number of elements of one chunk of Kronecker rows (the fast joint-entropy path streams
#: the n x (r1 r2) Kronecker matrix through memory in chunks of about this size).
_CHUNK_ELEMENTS = 1 << 20


# ----------------------------------------------------------------------------- helpers
def _check_method(method: Any) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid methods are {', '.join(map(repr, METHODS))}")
    return method


def check_real(x: Any, name: str) -> None:
    """Raise TypeError if ``x`` is a complex array or tensor (its imaginary part would be dropped silently).

    The quantities of {prf:ref}`def-mi-entropy` are defined for real representations.

    Parameters
    ----------
    x : array_like or torch.Tensor
    name : str
        Argument name for the message.

    Raises
    ------
    TypeError
        If ``x`` has a complex dtype.
    """
    if (torch.is_complex(x) if is_torch(x) else np.iscomplexobj(x)):
        raise TypeError(f"{name} is complex; matrix information is defined for real representations "
                        "(pass the real and imaginary parts as separate columns if both matter)")


def _prepare(Z: Any, name: str, like: torch.Tensor | None = None, check_finite: bool = True) -> torch.Tensor:
    """Validate ``Z`` (real, 2-D, non-empty, finite unless ``check_finite`` is False) and return a floating tensor.

    numpy input becomes float64 on the CPU (or the dtype/device of ``like`` when the other
    argument of a two-argument function is a tensor); half precision is promoted to float32
    because the symmetric eigensolvers do not support it. With ``check_finite=False`` a tensor is
    not scanned for NaN/inf, so no host synchronisation happens (for training losses, whose
    non-finite values the training loop detects).
    """
    check_real(Z, name)
    if check_finite or not is_torch(Z):
        t = as_tensor(Z, name, ndim=2)
    else:
        t = Z if torch.is_floating_point(Z) else Z.to(torch.get_default_dtype())
        if t.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got shape {tuple(t.shape)}")
        if t.numel() == 0:
            raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    if like is not None and not is_torch(Z):
        t = t.to(dtype=like.dtype, device=like.device)
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    if t.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {tuple(t.shape)})")
    return t


def _pair(Z1: Any, Z2: Any, check_finite: bool = True) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Validate two representations with the same number of rows; return them and ``numpy_out``."""
    check_real(Z1, "Z1")
    check_real(Z2, "Z2")
    like = Z1 if is_torch(Z1) else (Z2 if is_torch(Z2) else None)
    if like is not None and not torch.is_floating_point(like):
        like = like.to(torch.get_default_dtype())
    t1 = _prepare(Z1, "Z1", like, check_finite)
    t2 = _prepare(Z2, "Z2", like, check_finite)
    check_same_rows(t1, t2)
    if t1.device != t2.device:
        raise ValueError(f"Z1 and Z2 are on different devices ({t1.device} and {t2.device})")
    if t1.dtype != t2.dtype:
        dtype = torch.promote_types(t1.dtype, t2.dtype)
        t1, t2 = t1.to(dtype), t2.to(dtype)
    return t1, t2, not (is_torch(Z1) or is_torch(Z2))


def normalize_rows(Z: Any, name: str = "Z"):
    """Return the rows of ``Z`` scaled to unit Euclidean norm, :math:`\\hat z_i = z_i/\\lVert z_i\\rVert`.

    The normalisation of {prf:ref}`def-mi-entropy`; rows are scaled by their largest entry first, so
    that float32 rows of size 1e20 or 1e-25 are normalised correctly instead of overflowing or underflowing.

    Parameters
    ----------
    Z : array_like or torch.Tensor, shape (n, d)
        Rows are samples.
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Same type as the input (numpy in float64).

    Raises
    ------
    TypeError
        For complex input.
    ValueError
        If ``Z`` is not 2-D, is empty, contains NaN/inf, or has an all-zero row (which has no
        direction and cannot be normalised).
    """
    t = _prepare(Z, name)
    out = _normalize(t, name)
    return out if is_torch(Z) else out.detach().cpu().numpy()


def _scaled(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows divided by their largest absolute entry (detached), and the row norms after that scaling.

    Scaling first keeps the norm in range: float32 rows of size 1e20 (float64: 1e155) would overflow
    when squared, rows of size 1e-25 underflow to a zero norm. The result of :func:`_normalize` does
    not depend on the scale, so detaching it leaves the gradient exact.
    """
    s = torch.amax(torch.abs(t.detach()), dim=1, keepdim=True)
    u = t / torch.where(s > 0, s, torch.ones_like(s))
    return u, torch.linalg.vector_norm(u, dim=1)


def _normalize(t: torch.Tensor, name: str) -> torch.Tensor:
    u, norms = _scaled(t)
    zero = (norms.detach() == 0)
    if bool(zero.any()):
        idx = torch.nonzero(zero).flatten().tolist()
        raise ValueError(f"{name} has {len(idx)} all-zero row(s) (first at index {idx[0]}); "
                         "a zero row cannot be normalised to unit norm")
    return u / norms[:, None]


def _normalize_masked(t1: torch.Tensor, t2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unit rows of both sides with the rows where either side is zero set to zero, and the kept count.

    No host synchronisation: the kept count stays a tensor (at least 1). A zero row of the Gram matrices
    contributes only zero eigenvalues, so dividing by the kept count gives exactly the quantities of the
    kept rows.
    """
    u1, n1 = _scaled(t1)
    u2, n2 = _scaled(t2)
    keep = (n1.detach() > 0) & (n2.detach() > 0)
    one1, one2 = torch.ones_like(n1), torch.ones_like(n2)
    z1 = torch.where(keep[:, None], u1 / torch.where(keep, n1, one1)[:, None], torch.zeros_like(u1))
    z2 = torch.where(keep[:, None], u2 / torch.where(keep, n2, one2)[:, None], torch.zeros_like(u2))
    count = torch.clamp(keep.sum(), min=1).to(z1.dtype)
    return z1, z2, count


def _xlogx_sum(p: torch.Tensor) -> torch.Tensor:
    """:math:`-\\sum_j p_j\\log p_j` (:func:`mylib.linalg.xlogx_entropy`), an exact zero as +0.0, never -0.0."""
    return xlogx_entropy(p) + 0.0


def _eigvalsh(A: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of the symmetric matrix ``A`` (symmetrised first, differentiable)."""
    return torch.linalg.eigvalsh(0.5 * (A + A.transpose(-1, -2)))


def _rank_tol(evals: torch.Tensor, size: int) -> float:
    """Numerical-rank cutoff ``lambda_max * size * eps`` for eigenvalues of a PSD Gram matrix.

    ``size`` is the dimension of the matrix that was diagonalised (``d`` for the d x d path, ``n`` for the
    n x n one): a symmetric eigensolver computes eigenvalues to about ``size * eps * lambda_max``, so
    values below this cannot be told from zero. (A cutoff of ``max(n, d) * eps`` dropped 97 of 128 real
    directions of float32 ReLU features with a power-law spectrum at n = 3000, an MIR error of 2.5e-2.)
    Directions below the cutoff are dropped by the Kronecker path; keeping more would be exact too, only
    slower.
    """
    top = float(evals.detach().max().clamp(min=0)) if evals.numel() else 0.0
    return top * max(size, 1) * float(torch.finfo(evals.dtype).eps)


class _Reduced:
    """Row-normalised representation with its spectrum and (lazily) rank-reduced coordinates.

    Attributes
    ----------
    zn : (n, d) tensor, unit rows (or zero rows left out of every quantity, see :func:`_normalize_masked`)
    count : number of rows that count (``n``, or a 0-d tensor of kept rows)
    evals : eigenvalues of ``zn zn^T / count`` (from the d x d or the n x n matrix; differentiable)
    rank : numerical rank (eigenvalues above the cutoff of :func:`_rank_tol`), computed on first use
    basis : (d, r) detached orthonormal basis of the row space (top-r right singular vectors),
        computed on first use only (the Kronecker path), so entropies cost one ``eigvalsh``.
    """

    def __init__(self, zn: torch.Tensor, method: str, count: Any = None):
        n, d = zn.shape
        self.n, self.d = n, d
        self.zn = zn
        self.count = n if count is None else count
        self._basis = None
        # n x n matrix for the reference path (or when it is the smaller one), else d x d
        self._on_gram = method == "gram" or (method == "auto" and d > n)
        A = (self.zn @ self.zn.T if self._on_gram else self.zn.T @ self.zn) / self.count
        self._A = 0.5 * (A + A.T)
        self.evals = torch.linalg.eigvalsh(self._A)
        self._rank = None

    @classmethod
    def of(cls, t: torch.Tensor, name: str, method: str) -> "_Reduced":
        """From unnormalised rows (an all-zero row is a ValueError naming ``name``)."""
        return cls(_normalize(t, name), method)

    @property
    def rank(self) -> int:
        """Numerical rank, computed on first use (the n x n path never needs it, so the training-loss
        path pays no host synchronisation for it)."""
        if self._rank is None:
            ev = self.evals.detach()
            self._rank = max(1, int((ev > _rank_tol(ev, self._A.shape[0])).sum()))
        return self._rank

    @property
    def entropy(self) -> torch.Tensor:
        return _xlogx_sum(self.evals)

    @property
    def basis(self) -> torch.Tensor:
        """Detached (d, r) orthonormal basis of the row space, r = numerical rank."""
        if self._basis is None:
            ev, vec = torch.linalg.eigh(self._A.detach())
            keep = torch.argsort(ev, descending=True)[: self.rank]
            if self._on_gram:
                # right singular vectors v_k = zn^T u_k / sqrt(count lambda_k)
                lam = torch.clamp(ev[keep], min=torch.finfo(ev.dtype).tiny)
                self._basis = (self.zn.detach().T @ vec[:, keep]) / torch.sqrt(self.count * lam)[None, :]
            else:
                self._basis = vec[:, keep]
        return self._basis

    def coords(self) -> torch.Tensor:
        """(n, r) coordinates Y = zn V_r with Y Y^T = zn zn^T (autograd flows through zn only)."""
        return self.zn @ self.basis


def _kron_flops(n: int, r1: int, r2: int, groups: int | None = None) -> float:
    """Flops of the Kronecker path: form K^T K (2 n k^2 streamed, or 2 n r1^2 + 2 m k^2 grouped over m
    distinct rows of one side) and its eigenvalues (~ 4/3 k^3), k = r1 r2."""
    k = float(r1 * r2)
    form = 2.0 * n * k * k if groups is None else 2.0 * n * max(r1, r2) ** 2 + 2.0 * groups * k * k
    return form + (4.0 / 3.0) * k ** 3


def _gram_flops(n: int, d1: int, d2: int) -> float:
    """Flops of the n x n path: two Gram products (n^2 (d1 + d2)) and eigvalsh of n x n (~ 4/3 n^3)."""
    return float(n) * n * (d1 + d2) + (4.0 / 3.0) * float(n) ** 3


def _use_kronecker(n: int, r1: int, r2: int, d1: int, d2: int) -> bool:
    """Flop-count choice between the Kronecker path and the n x n Hadamard path (never Kronecker for k >= n)."""
    if r1 * r2 >= n:
        return False
    return _kron_flops(n, r1, r2) < _gram_flops(n, d1, d2)


#: ``method="fast"`` warns (:class:`SlowPathWarning`) when its flop count exceeds this multiple of the n x n path's.
_SLOW_FACTOR = 4.0

#: Row-grouping (see :func:`_groups`) is used when one side has at most this many distinct rows.
_MAX_GROUPS = 4096
#: Switch for the grouped Kronecker sum (the benchmark turns it off to time the streamed path).
_GROUPING = True


def _groups(Y: torch.Tensor):
    """Distinct rows of ``Y`` and the group of each row, if there are few of them, else None.

    In the paper's setting one side is the classifier head of each sample's label, which has only
    C distinct rows. Not used when ``Y`` needs gradients (the grouped sum would route the gradient
    of a group through one row).
    """
    if Y.requires_grad or not _GROUPING:
        return None
    uniq, inv = torch.unique(Y, dim=0, return_inverse=True)
    if uniq.shape[0] > min(_MAX_GROUPS, Y.shape[0] // 2):
        return None
    return uniq, inv


def _kron_gram_grouped(Y1: torch.Tensor, U2: torch.Tensor, inv: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_i (y_i y_i^\top)\otimes(u_{g(i)}u_{g(i)}^\top) = \sum_g S_g \otimes u_g u_g^\top`.

    ``S_g`` is the second moment of the rows of ``Y1`` in group ``g``: cost :math:`O(n r_1^2 + m r_1^2 r_2^2)`
    for ``m`` groups instead of :math:`O(n r_1^2 r_2^2)`. Same index order as the Kronecker rows
    ``y1 (x) y2``.
    """
    m, r2 = U2.shape
    r1 = Y1.shape[1]
    order = torch.argsort(inv, stable=True)
    counts = torch.bincount(inv, minlength=m).tolist()
    S = torch.stack([blk.T @ blk for blk in torch.split(Y1[order], counts)])  # (m, r1, r1)
    T = S.reshape(m, r1 * r1).T @ (U2[:, :, None] * U2[:, None, :]).reshape(m, r2 * r2)
    return T.reshape(r1, r1, r2, r2).permute(0, 2, 1, 3).reshape(r1 * r2, r1 * r2)


def _kron_gram(Y1: torch.Tensor, Y2: torch.Tensor, groups: tuple | None = None) -> torch.Tensor:
    r""":math:`K^\top K` for the Kronecker rows :math:`y^{(1)}_i\otimes y^{(2)}_i` ({prf:ref}`lem-mi-kronecker`).

    Uses the grouped form when one side has few distinct rows (``groups`` from :func:`_plan_groups`:
    exact, much cheaper), otherwise streams the rows in chunks so that memory stays
    :math:`O(\text{chunk}\cdot r_1r_2 + r_1^2r_2^2)`.
    """
    n, r1 = Y1.shape
    r2 = Y2.shape[1]
    if groups is not None:
        side, (uniq, inv) = groups
        if side == 2:
            return _kron_gram_grouped(Y1, uniq, inv)
        return _kron_gram_grouped(Y2, uniq, inv)  # (y2 (x) y1) ordering: a permutation similarity, same spectrum
    k = r1 * r2
    chunk = max(64, _CHUNK_ELEMENTS // max(k, 1))
    M = None
    for s in range(0, n, chunk):
        K = (Y1[s:s + chunk, :, None] * Y2[s:s + chunk, None, :]).reshape(-1, k)
        part = K.T @ K
        M = part if M is None else M + part
    return M


def _plan_groups(Y1: torch.Tensor, Y2: torch.Tensor):
    """``(side, (distinct rows, group of each row))`` for the side with few distinct rows, or None."""
    g = _groups(Y2)
    if g is not None:
        return 2, g
    g = _groups(Y1)
    return None if g is None else (1, g)


def _joint_entropy(a: _Reduced, b: _Reduced, method: str) -> torch.Tensor:
    n = a.n
    if method == "fast" or (method == "auto" and _use_kronecker(n, a.rank, b.rank, a.d, b.d)):
        Y1, Y2 = a.coords(), b.coords()
        groups = _plan_groups(Y1, Y2)
        if method == "fast":
            m = None if groups is None else groups[1][0].shape[0]
            fast, gram = _kron_flops(n, a.rank, b.rank, m), _gram_flops(n, a.d, b.d)
            if fast > _SLOW_FACTOR * gram:
                warnings.warn(f"method='fast' with Kronecker dimension r1 r2 = {a.rank} x {b.rank} = "
                              f"{a.rank * b.rank} at n = {n} costs about {fast / gram:.3g} times the n x n path "
                              "(method='auto' picks the cheaper one)", SlowPathWarning, stacklevel=4)
        return _xlogx_sum(_eigvalsh(_kron_gram(Y1, Y2, groups) / a.count))
    G = (a.zn @ a.zn.T) * (b.zn @ b.zn.T) / a.count
    return _xlogx_sum(_eigvalsh(G))


def _zero_entropy_tol(dtype: torch.dtype) -> float:
    return max(1e-12, 100.0 * float(torch.finfo(dtype).eps))


def _summary(Z1: Any, Z2: Any, method: str, zero_rows: str = "raise",
             check_finite: bool = True) -> tuple[dict[str, torch.Tensor], bool]:
    _check_method(method)
    if zero_rows not in ZERO_ROWS:
        raise ValueError(f"unknown zero_rows {zero_rows!r}; valid: {', '.join(map(repr, ZERO_ROWS))}")
    t1, t2, numpy_out = _pair(Z1, Z2, check_finite)
    if zero_rows == "raise":
        a, b = _Reduced.of(t1, "Z1", method), _Reduced.of(t2, "Z2", method)
    else:
        z1, z2, count = _normalize_masked(t1, t2)
        a, b = _Reduced(z1, method, count), _Reduced(z2, method, count)
    H1, H2 = a.entropy, b.entropy
    H12 = _joint_entropy(a, b, method)
    return {"H1": H1, "H2": H2, "H12": H12, "MI": H1 + H2 - H12}, numpy_out


def _check_nonzero_entropy(H1: torch.Tensor, H2: torch.Tensor, which: str) -> None:
    tol = _zero_entropy_tol(H1.dtype)
    h1, h2 = float(H1.detach()), float(H2.detach())
    if which == "min" and min(h1, h2) <= tol:
        raise ValueError(f"MIR is undefined: min(H1, H2) is zero (<= {tol:.0e}): all rows of "
                         f"Z{1 if h1 <= h2 else 2} are parallel up to sign, so its Gram matrix has rank one")
    if which == "max" and max(h1, h2) <= tol:
        raise ValueError(f"HDR is undefined: both entropies are zero (<= {tol:.0e}): all rows of Z1 and all rows "
                         "of Z2 are parallel up to sign")


# ----------------------------------------------------------------------------- public API
def gram_spectrum(Z: Any, method: str = "auto"):
    """Eigenvalues of :math:`G/n`, :math:`G = \\hat Z\\hat Z^\\top` the cosine Gram matrix.

    Returns the nonzero part of the spectrum padded with zeros to length :math:`\\min(n, d)`
    for ``method="fast"``/``"auto"`` with :math:`d\\le n`, or all :math:`n` eigenvalues for
    ``"gram"`` (and for ``"auto"`` when :math:`d > n`), sorted in descending order, tiny
    negative round-off clamped to 0. The values sum to 1 ({prf:ref}`def-mi-entropy`).

    Parameters
    ----------
    Z : array_like or torch.Tensor, shape (n, d)
    method : {"auto", "gram", "fast"}

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (min(n, d),) or (n,)

    Raises
    ------
    TypeError
        For complex input.
    ValueError
        For NaN/inf, non-2-D or empty input, an all-zero row, or an unknown ``method``.
    """
    _check_method(method)
    t = _prepare(Z, "Z")
    red = _Reduced.of(t, "Z", method)
    ev = torch.flip(torch.clamp(red.evals, min=0.0), dims=(0,))
    return to_output(ev, not is_torch(Z))


def entropy_of_spectrum(p: Any):
    """Von Neumann entropy :math:`-\\sum_j p_j \\log p_j` (natural log) of a spectrum.

    Implements the entropy of {prf:ref}`def-mi-entropy` for given eigenvalues ``p`` of a
    trace-one PSD matrix, with :math:`0\\log 0 = 0`.

    Raises
    ------
    TypeError
        For complex input.
    ValueError
        If ``p`` is not 1-D, is empty, has NaN/inf or negative entries below ``-1e-12``, or does
        not sum to 1 within ``1e-8`` (``1e-5`` below float64).

    Parameters
    ----------
    p : array_like or torch.Tensor, shape (k,)
        Eigenvalues of a trace-one PSD matrix.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy input, a 0-d tensor for torch input.
    """
    check_real(p, "p")
    t = as_tensor(p, "p", ndim=1)
    if float(t.detach().min()) < -1e-12:
        raise ValueError("p must be non-negative (eigenvalues of a PSD matrix)")
    total = float(t.detach().sum())
    tol = 1e-8 if t.dtype == torch.float64 else 1e-5
    if abs(total - 1.0) > tol:
        raise ValueError(f"p must sum to 1 (a trace-one matrix), got sum {total:.12g}")
    return to_output(_xlogx_sum(t), not is_torch(p))


def matrix_entropy(Z: Any, method: str = "auto"):
    """Matrix (von Neumann) entropy of a representation.

    Implements {prf:ref}`def-mi-entropy`:

    .. math:: H(Z) = -\\sum_j \\lambda_j \\log \\lambda_j,
       \\qquad \\lambda_j = \\operatorname{eig}_j(G/n),\\quad G = \\hat Z\\hat Z^\\top,

    with :math:`\\hat z_i = z_i/\\lVert z_i\\rVert`, natural logarithm and :math:`0\\log 0 = 0`.
    :math:`0 \\le H \\le \\log\\min(n, d)`.

    Parameters
    ----------
    Z : array_like or torch.Tensor, shape (n, d)
        Rows are samples; no row may be all zeros.
    method : {"auto", "gram", "fast"}
        ``"gram"`` diagonalises the n x n Gram matrix; ``"fast"`` the d x d matrix
        :math:`\\hat Z^\\top\\hat Z/n` (same nonzero spectrum); ``"auto"`` the smaller one.

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy input, a 0-d tensor (differentiable) for torch input.

    Raises
    ------
    TypeError
        For complex input.
    ValueError
        For NaN/inf, non-2-D or empty input, an all-zero row, or an unknown ``method``.

    Examples
    --------
    >>> import numpy as np
    >>> round(matrix_entropy(np.eye(4)), 6) == round(float(np.log(4)), 6)
    True
    """
    _check_method(method)
    t = _prepare(Z, "Z")
    return to_output(_Reduced.of(t, "Z", method).entropy, not is_torch(Z))


def joint_entropy(Z1: Any, Z2: Any, method: str = "auto"):
    """Matrix joint entropy :math:`H(G_1\\circ G_2)` of two representations of the same samples.

    Implements the joint term of {prf:ref}`def-mi-mutual-information`: the entropy of
    :math:`(G_1\\circ G_2)/n` (Hadamard product of the cosine Gram matrices, unit diagonal).
    See :func:`mutual_information` for the fast path.

    Parameters
    ----------
    Z1, Z2, method
        As in :func:`mutual_information`: ``(n, d1)`` and ``(n, d2)`` arrays or tensors whose row ``i`` is the same
        sample, and the path (``"auto"``, ``"gram"`` or ``"fast"``).

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy input, a 0-d tensor if either input is a tensor.

    Raises
    ------
    TypeError
        For complex input.
    ValueError
        As :func:`mutual_information`.
    """
    out, numpy_out = _summary(Z1, Z2, method)
    return to_output(out["H12"], numpy_out)


def mutual_information(Z1: Any, Z2: Any, method: str = "auto"):
    """Matrix mutual information of two representations of the same ``n`` samples.

    Implements {prf:ref}`def-mi-mutual-information`:

    .. math:: I(Z_1; Z_2) = H(G_1) + H(G_2) - H(G_1\\circ G_2),

    all Gram matrices divided by :math:`n` (trace one). :math:`0 \\le I \\le \\min(H_1, H_2)`.

    Parameters
    ----------
    Z1 : array_like or torch.Tensor, shape (n, d1)
    Z2 : array_like or torch.Tensor, shape (n, d2)
        Row ``i`` of both is the same sample (e.g. its feature and the head of its label).
    method : {"auto", "gram", "fast"}
        ``"fast"`` reduces each side to its numerical rank :math:`r_k` and diagonalises the
        :math:`r_1r_2\\times r_1r_2` Gram matrix of the row-wise Kronecker products (exact);
        ``"gram"`` diagonalises the n x n Hadamard product; ``"auto"`` picks the cheaper one
        (never the Kronecker path when :math:`r_1r_2\\ge n`).

    Returns
    -------
    float or torch.Tensor
        A Python float for numpy input, a 0-d tensor (differentiable) if either input is a tensor.

    Raises
    ------
    TypeError
        For complex input.
    ValueError
        For NaN/inf, non-2-D or empty input, an all-zero row, different numbers of rows, or an
        unknown ``method``.
    """
    out, numpy_out = _summary(Z1, Z2, method)
    return to_output(out["MI"], numpy_out)


def mir(Z1: Any, Z2: Any, method: str = "auto"):
    """Mutual information ratio :math:`\\mathrm{MIR} = I(Z_1;Z_2)/\\min(H(Z_1), H(Z_2))`.

    Implements {prf:ref}`def-mi-mir-hdr`; under Neural Collapse it equals the closed form of
    {prf:ref}`thm-nc-mir` (:func:`mylib.information.nc_mir`). :math:`0\\le\\mathrm{MIR}\\le 1`.

    Raises
    ------
    TypeError
        For complex input.
    ValueError
        As :func:`mutual_information`, and when :math:`\\min(H_1, H_2) = 0` (all rows of one
        input parallel), where the ratio is undefined.

    Parameters
    ----------
    Z1, Z2 : array_like or torch.Tensor, shape (n, d1) and (n, d2)
    method : {"auto", "gram", "fast"}
        As :func:`mutual_information`.

    Returns
    -------
    float or torch.Tensor
    """
    out, numpy_out = _summary(Z1, Z2, method)
    _check_nonzero_entropy(out["H1"], out["H2"], "min")
    return to_output(out["MI"] / torch.minimum(out["H1"], out["H2"]), numpy_out)


def hdr(Z1: Any, Z2: Any, method: str = "auto"):
    """Entropy difference ratio :math:`\\mathrm{HDR} = |H(Z_1) - H(Z_2)| / \\max(H(Z_1), H(Z_2))`.

    Implements {prf:ref}`def-mi-mir-hdr`; zero under Neural Collapse ({prf:ref}`thm-nc-mir`).

    Raises
    ------
    TypeError
        For complex input.
    ValueError
        As :func:`matrix_entropy`, for different numbers of rows, and when both entropies are 0.

    Parameters
    ----------
    Z1, Z2 : array_like or torch.Tensor, shape (n, d1) and (n, d2)
    method : {"auto", "gram", "fast"}

    Returns
    -------
    float or torch.Tensor
    """
    _check_method(method)
    t1, t2, numpy_out = _pair(Z1, Z2)
    H1 = _Reduced.of(t1, "Z1", method).entropy
    H2 = _Reduced.of(t2, "Z2", method).entropy
    _check_nonzero_entropy(H1, H2, "max")
    return to_output(torch.abs(H1 - H2) / torch.maximum(H1, H2), numpy_out)


def effective_rank(Z: Any, method: str = "auto"):
    """Effective rank :math:`\\exp H(Z)` ({prf:ref}`def-mi-entropy`), between 1 and :math:`\\min(n,d)`.

    Parameters
    ----------
    Z : array_like or torch.Tensor, shape (n, d)
    method : {"auto", "gram", "fast"}

    Returns
    -------
    float or torch.Tensor

    Raises
    ------
    TypeError
        For complex input.
    ValueError
        As :func:`matrix_entropy`.
    """
    _check_method(method)
    t = _prepare(Z, "Z")
    return to_output(torch.exp(_Reduced.of(t, "Z", method).entropy), not is_torch(Z))


def information_summary(Z1: Any, Z2: Any, method: str = "auto", *, zero_rows: str = "raise",
                        check_finite: bool = True) -> dict[str, Any]:
    """All Part I quantities of a pair at once (one eigendecomposition per matrix).

    Implements {prf:ref}`def-mi-mutual-information` and {prf:ref}`def-mi-mir-hdr`: the entropies
    :math:`\\mathrm H_1, \\mathrm H_2`, the joint entropy :math:`\\mathrm H(G_1\\circ G_2)`, the mutual information
    and the two ratios.

    Parameters
    ----------
    Z1 : array_like or torch.Tensor, shape (n, d1)
    Z2 : array_like or torch.Tensor, shape (n, d2)
        Row ``i`` of both is the same sample.
    method : {"auto", "gram", "fast"}
        As :func:`mutual_information`.
    zero_rows : {"raise", "drop"}
        ``"raise"``: an all-zero row is a ValueError. ``"drop"``: rows where either side is zero are left
        out of every quantity (a ReLU network can produce zero features), without a host synchronisation.
    check_finite : bool
        Scan tensor inputs for NaN/inf (a host synchronisation). A training loss may pass False: a
        non-finite input then gives a non-finite result, which the training loop detects.

    Returns
    -------
    dict
        ``H1``, ``H2``, ``H12`` (joint entropy), ``MI``, ``MIR`` and ``HDR``; ``MIR``/``HDR`` are NaN where
        they are undefined (zero entropies) instead of raising, so that a sweep can continue. Floats for
        numpy input, 0-d tensors otherwise (differentiable).

    Raises
    ------
    TypeError
        For complex input.
    ValueError
        For non-2-D or empty input, NaN/inf (when checked), an all-zero row (``zero_rows="raise"``),
        different numbers of rows, or an unknown ``method`` or ``zero_rows``.

    Notes
    -----
    With torch input, ``method="gram"``, ``zero_rows="drop"`` and ``check_finite=False`` no value is
    converted to a Python number (no ``.item()``, ``float()``, ``bool()``), so the call can sit inside a
    training step on a GPU without synchronising with the host.
    """
    out, numpy_out = _summary(Z1, Z2, method, zero_rows, check_finite)
    H1, H2, MI = out["H1"], out["H2"], out["MI"]
    tol = _zero_entropy_tol(H1.dtype)
    lo, hi = torch.minimum(H1, H2), torch.maximum(H1, H2)
    nan = torch.full_like(lo, math.nan)
    ok_lo, ok_hi = lo > tol, hi > tol
    # safe denominators, so that the branch torch.where does not take has no 0/0 in its gradient
    out["MIR"] = torch.where(ok_lo, MI / torch.where(ok_lo, lo, torch.ones_like(lo)), nan)
    out["HDR"] = torch.where(ok_hi, torch.abs(H1 - H2) / torch.where(ok_hi, hi, torch.ones_like(hi)), nan)
    return {k: to_output(v, numpy_out) for k, v in out.items()}


def elementwise_product_mir(Z1: Any, Z2: Any) -> dict[str, Any]:
    """MIR with the joint entropy of :math:`\\operatorname{normalize}(\\hat z^{(1)}_i \\odot \\hat z^{(2)}_i)`
    instead of :math:`G_1\\circ G_2` -- the variant of a public implementation ({prf:ref}`rem-mi-elementwise`).

    The entrywise product of two feature vectors depends on the coordinate basis, so this "joint entropy" is not
    the entropy of :math:`G_1\\circ G_2` (:func:`joint_entropy`) and changes when both representations are rotated
    by the same orthogonal matrix; the resulting ratio can exceed 1 (e.g. at a rotated simplex ETF with
    self-dual heads). Provided so that the book can show the difference; not used elsewhere.

    Parameters
    ----------
    Z1, Z2 : array_like or torch.Tensor, shape (n, d)
        Same shape (the entrywise product needs the same dimension).

    Returns
    -------
    dict
        ``H1``, ``H2``, ``H12`` (entropy of the normalised entrywise products), ``MI`` and ``MIR``.

    Raises
    ------
    TypeError
        For complex input.
    ValueError
        For different shapes, bad input, or a zero row (also a zero entrywise product).
    """
    t1, t2, numpy_out = _pair(Z1, Z2)
    if t1.shape != t2.shape:
        raise ValueError(f"Z1 and Z2 must have the same shape for an entrywise product, got {tuple(t1.shape)} "
                         f"and {tuple(t2.shape)}")
    a, b = _Reduced.of(t1, "Z1", "gram"), _Reduced.of(t2, "Z2", "gram")
    c = _Reduced.of(a.zn * b.zn, "Z1 * Z2", "gram")
    H1, H2, H12 = a.entropy, b.entropy, c.entropy
    MI = H1 + H2 - H12
    out = {"H1": H1, "H2": H2, "H12": H12, "MI": MI, "MIR": MI / torch.minimum(H1, H2)}
    return {k: to_output(v, numpy_out) for k, v in out.items()}
