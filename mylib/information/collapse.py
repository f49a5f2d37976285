"""Neural Collapse: the simplex ETF, the closed forms of {prf:ref}`thm-nc-mir`, and NC1-NC4.

Rows are samples (features ``H``, shape (n, d)) or classes (class means ``M`` and classifier
heads ``W``, shape (C, d)); labels ``y`` are integers in ``0..C-1``. Array functions accept numpy
arrays (results are Python floats / numpy arrays, computed in float64) and torch tensors on any
device (results are tensors). Implements the definitions and the theorem of
{doc}`../book/part1_matrix_information`:

* :func:`simplex_etf` -- a simplex equiangular tight frame ({prf:ref}`def-nc-etf`);
* :func:`nc_mir`, :func:`nc_hdr`, :func:`nc_entropy`, :func:`nc_joint_entropy`,
  :func:`nc_mutual_information`, :func:`nc_one_minus_mir` -- closed forms of
  {prf:ref}`thm-nc-mir`;
* :func:`nc1`, :func:`nc2`, :func:`nc3`, :func:`nc4`, :func:`nc_metrics` -- the four Neural
  Collapse properties of {prf:ref}`def-nc-properties` as distances to their optimum;
* :func:`collapsed_features`, :func:`class_means`, :func:`center_rows`, :func:`batch_information`,
  :func:`orthogonal_rows` -- helpers for the verification notebook.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .. import profiles
from .._checks import as_tensor, check_nonnegative, check_positive_int, check_seed, is_torch, to_output
from ..linalg import haar_orthonormal
from ..runtime import dry_run_cap
from .matrix_info import check_real, information_summary

__all__ = [
    "simplex_etf",
    "etf_gram",
    "nc_entropy",
    "nc_joint_entropy",
    "nc_mutual_information",
    "nc_mir",
    "nc_one_minus_mir",
    "nc_hdr",
    "nc_shifted_entropy",
    "nc_shifted_hdr",
    "nc_shift_crossing",
    "class_means",
    "center_rows",
    "centered_class_means",
    "collapsed_features",
    "orthogonal_rows",
    "etf_distance",
    "nc1",
    "nc2",
    "nc3",
    "nc4",
    "nc_metrics",
    "batch_information",
    "class_grid",
    "explore_collapse",
    "fannes_audenaert",
    "collapse_deviations",
    "mir_perturbation_bound",
]

# Sizes of the verification notebook (notebooks/part1_nc_verification.md). A dry run of the full profile
# (mylib.runtime.is_dry_run, set before the notebook's kernel imports mylib) caps the costliest sizes (counts, and
# tuples to their first entries) so every cell runs in seconds on a CPU; otherwise dry_run_cap returns them unchanged.
profiles.register(
    "part1_nc_verification",
    smoke=dict(
        n_C=25,               # about this many C values, log-spaced in [3, C_max]
        C_max=1000,
        sample_C=(3, 5, 10, 20),   # sample level: classes ...
        sample_per_class=(1, 2, 5, 10),   # ... and samples per class
        d=64,                 # feature dimension (>= C - 1 where used)
        batch_C=10,           # classes in the mini-batch study
        batch_per_class=100,  # size of the collapsed balanced pool per class
        batch_sizes=(10, 20, 50, 100, 200, 500),
        batch_reps=20,
        noise_C=10,
        noise_per_class=50,
        noise_levels=(0.0, 0.03, 0.1, 0.3, 1.0, 3.0),
        noise_reps=3,
        ortho_n=(10, 50, 100, 200),
        ortho_d=512,
    ),
    full=dict(
        n_C=dry_run_cap(998, 12),  # a dry run: 12 values of C (the printed table needs 11)
        C_max=1000,
        sample_C=(3, 5, 10, 20, 50, 100),
        sample_per_class=(1, 2, 5, 10, 20)[:dry_run_cap(5, 3)],  # a dry run: n <= 500, not 2000
        d=1024,
        batch_C=100,
        batch_per_class=100,
        batch_sizes=(50, 100, 200, 500, 1000, 2000)[:dry_run_cap(6, 4)],
        batch_reps=dry_run_cap(20, 2),
        noise_C=100,
        noise_per_class=dry_run_cap(50, 12),  # a dry run: n = 1200, not 5000 (the explorer's batch of 100 needs > 10)
        noise_levels=(0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)[:dry_run_cap(8, 4)],
        noise_reps=dry_run_cap(5, 1),
        ortho_n=(10, 50, 100, 200, 500, 1000)[:dry_run_cap(6, 4)],
        ortho_d=4096,
    ),
)


# ----------------------------------------------------------------------------- validation
def _check_C(C: Any, minimum: int = 3, what: str = "the closed form") -> int:
    C = check_positive_int(C, "C", minimum=1)
    if C < minimum:
        if C == 2 and minimum == 3:
            raise ValueError("C = 2 is degenerate for the closed form: the class-mean Gram matrix has rank one, "
                             "so H = log(C - 1) = 0 and MIR = I / min(H1, H2) is 0/0; use C >= 3")
        raise ValueError(f"{what} needs C >= {minimum}, got C = {C}")
    return C


def _C_values(C: Any) -> tuple[np.ndarray, bool]:
    """Validate one C or an array of C values (integers >= 3); return float64 array and scalar flag."""
    if np.ndim(C) == 0:
        return np.array([_check_C(C)], dtype=np.float64), True
    arr = np.asarray(C)
    if arr.size == 0:
        raise ValueError("C is empty")
    return np.array([_check_C(c) for c in arr.ravel()], dtype=np.float64).reshape(arr.shape), False


class _Labels:
    """Labels already validated by :func:`_labels` (long tensor ``y`` on its device, class count ``C``).

    Passing one to another function of this module skips a second validation (and its host syncs):
    :func:`nc_metrics` validates once for NC1-NC4.
    """

    __slots__ = ("y", "C")

    def __init__(self, y: torch.Tensor, C: int):
        self.y, self.C = y, C


def _labels(y: Any, n: int, C: int | None, device: torch.device) -> tuple[torch.Tensor, int]:
    """Validate integer labels of length ``n``; return them (long, on ``device``) and C."""
    if isinstance(y, _Labels):
        if y.y.shape[0] != n:
            raise ValueError(f"features and labels must have the same number of rows, got {n} and {y.y.shape[0]}")
        if C is not None and C != y.C:
            C = check_positive_int(C, "C")
            if C < y.C:
                raise ValueError(f"labels go up to {y.C - 1} but C = {C}")
            return y.y.to(device), C
        return y.y.to(device), y.C
    check_real(y, "y")
    if is_torch(y):
        yt = y.detach()
        if yt.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {tuple(yt.shape)}")
        if torch.is_floating_point(yt):
            if not bool(torch.isfinite(yt).all()) or not bool((yt == torch.round(yt)).all()):
                raise ValueError("y must hold integer class labels")
        yt = yt.long().to(device)
    else:
        arr = np.asarray(y)
        if arr.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {arr.shape}")
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise ValueError("y must hold integer class labels")
        elif arr.dtype.kind not in "iu":
            raise ValueError(f"y must hold integer class labels, got dtype {arr.dtype}")
        yt = torch.as_tensor(arr.astype(np.int64), device=device)
    if yt.shape[0] != n:
        raise ValueError(f"features and labels must have the same number of rows, got {n} and {yt.shape[0]}")
    if n == 0:
        raise ValueError("labels are empty")
    if int(yt.min()) < 0:
        raise ValueError("labels must be >= 0")
    C_seen = int(yt.max()) + 1
    if C is None:
        C = C_seen
    else:
        C = check_positive_int(C, "C")
        if C_seen > C:
            raise ValueError(f"labels go up to {C_seen - 1} but C = {C}")
    return yt, C


def _features(H: Any, name: str = "H", like: torch.Tensor | None = None) -> torch.Tensor:
    check_real(H, name)
    t = as_tensor(H, name, ndim=2)
    if like is not None and not is_torch(H):
        t = t.to(dtype=like.dtype, device=like.device)
    return t


# ----------------------------------------------------------------------------- ETF and closed forms
def simplex_etf(C: int, d: int, seed: int | None = 0) -> np.ndarray:
    """A simplex equiangular tight frame of ``C`` unit vectors in :math:`\\mathbb{R}^d`.

    Implements {prf:ref}`def-nc-etf`: rows :math:`m_1,\\dots,m_C` with :math:`\\lVert m_c\\rVert = 1`,
    :math:`\\sum_c m_c = 0` and :math:`\\langle m_c, m_{c'}\\rangle = -1/(C-1)` for
    :math:`c\\ne c'`, i.e. :math:`MM^\\top = \\tfrac{C}{C-1}(I - \\tfrac1C\\mathbf 1\\mathbf 1^\\top)`.
    Built as :math:`M = \\sqrt{C/(C-1)}\\,B^\\top Q^\\top` with :math:`B` the
    :math:`(C-1)\\times C` Helmert basis of :math:`\\mathbf 1^\\perp` and :math:`Q` a random
    :math:`d\\times(C-1)` matrix with orthonormal columns (Haar, from ``seed``).

    Parameters
    ----------
    C : int
        Number of classes, at least 2.
    d : int
        Ambient dimension, at least ``C - 1``.
    seed : int or None
        Seed (non-negative) of the random rotation; ``None`` gives the canonical embedding (first
        ``C - 1`` coordinates, zeros elsewhere).

    Returns
    -------
    numpy.ndarray, shape (C, d), float64

    Raises
    ------
    ValueError
        If ``C < 2``, ``d < C - 1`` or ``seed`` is not None or a non-negative integer.
    """
    C = _check_C(C, minimum=2, what="a simplex ETF")
    if seed is not None:
        seed = check_seed(seed)
    d = check_positive_int(d, "d")
    if d < C - 1:
        raise ValueError(f"a simplex ETF of C = {C} vectors needs d >= C - 1 = {C - 1}, got d = {d}")
    # Helmert rows h_k = (1, ..., 1, -k, 0, ..., 0) / sqrt(k (k + 1)), k = 1..C-1 (orthonormal, sum 0)
    k = np.arange(1, C, dtype=np.float64)
    B = np.zeros((C - 1, C))
    cols = np.arange(C)
    B[:] = (cols[None, :] < k[:, None]).astype(np.float64)
    B[np.arange(C - 1), np.arange(1, C)] = -k
    B /= np.sqrt(k * (k + 1))[:, None]
    coords = math.sqrt(C / (C - 1)) * B.T  # (C, C-1): rows form the ETF in R^{C-1}
    if seed is None:
        out = np.zeros((C, d))
        out[:, : C - 1] = coords
        return out
    return coords @ haar_orthonormal(d, C - 1, seed).T  # Haar-distributed orthonormal columns


def etf_gram(C: int) -> np.ndarray:
    """Gram matrix of a simplex ETF, :math:`\\tfrac{C}{C-1}(I - \\tfrac1C \\mathbf 1\\mathbf 1^\\top)` ({prf:ref}`def-nc-etf`).

    Parameters
    ----------
    C : int
        Number of classes, >= 2.

    Returns
    -------
    numpy.ndarray, shape (C, C)

    Raises
    ------
    ValueError
        If ``C < 2`` or not an integer.
    """
    C = _check_C(C, minimum=2, what="a simplex ETF")
    return (C / (C - 1)) * (np.eye(C) - np.full((C, C), 1.0 / C))


def nc_entropy(C):
    """Matrix entropy of a simplex ETF (class or balanced sample level): :math:`\\log(C-1)`.

    Part of {prf:ref}`thm-nc-mir`. Accepts an int (returns float) or an array of ints >= 3.

    Parameters
    ----------
    C : int or array_like of int
        Number of classes, each >= 3.

    Returns
    -------
    float or numpy.ndarray

    Raises
    ------
    ValueError
        For C < 3 or non-integer C.
    """
    c, scalar = _C_values(C)
    out = np.log(c - 1)
    return float(out[0]) if scalar else out


def nc_joint_entropy(C):
    """Entropy of the Hadamard square of the ETF Gram matrix (divided by C), {prf:ref}`thm-nc-mir`.

    .. math:: H_{12} = \\frac{\\log(C-1)}{C-1} - \\frac{C-2}{C-1}\\log\\frac{C-2}{(C-1)^2},

    from the eigenvalue :math:`1/(C-1)` (once) and :math:`(C-2)/(C-1)^2` (``C - 1`` times).

    Parameters
    ----------
    C : int or array_like of int
        Number of classes, each >= 3.

    Returns
    -------
    float or numpy.ndarray

    Raises
    ------
    ValueError
        For C < 3 or non-integer C.
    """
    c, scalar = _C_values(C)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(c > 2, (c - 2) / (c - 1) * (np.log(np.maximum(c - 2, 1)) - 2 * np.log(c - 1)), 0.0)
    out = np.log(c - 1) / (c - 1) - tail
    return float(out[0]) if scalar else out


def nc_mutual_information(C):
    """Matrix mutual information under Neural Collapse ({prf:ref}`thm-nc-mir`).

    .. math:: I = \\frac{\\log(C-1) + (C-2)\\log(C-2)}{C-1}.

    Parameters
    ----------
    C : int or array_like of int
        Number of classes, each >= 3.

    Returns
    -------
    float or numpy.ndarray
        Below :math:`\\log(C-1)` for every C, the supremum over collapsed configurations being
        :math:`\\log C` ({prf:ref}`thm-nc-info-sup`).

    Raises
    ------
    ValueError
        For C < 3 or non-integer C.
    """
    c, scalar = _C_values(C)
    out = (np.log(c - 1) + (c - 2) * np.log(np.maximum(c - 2, 1))) / (c - 1)
    return float(out[0]) if scalar else out


def nc_mir(C):
    """Closed-form MIR under Neural Collapse, {prf:ref}`thm-nc-mir`:

    .. math:: \\mathrm{MIR}(C) = \\frac{1}{C-1} + \\frac{(C-2)\\log(C-2)}{(C-1)\\log(C-1)}.

    Valid at class level (heads vs class means) and at balanced sample level.

    Parameters
    ----------
    C : int or array_like of int
        Number of classes, each >= 3.

    Returns
    -------
    float or numpy.ndarray

    Raises
    ------
    ValueError
        For C < 3 (C = 2 is degenerate: both entropies are 0) or non-integer C.

    Examples
    --------
    >>> nc_mir(3)
    0.5
    """
    c, scalar = _C_values(C)
    out = 1.0 / (c - 1) + (c - 2) * np.log(np.maximum(c - 2, 1)) / ((c - 1) * np.log(c - 1))
    return float(out[0]) if scalar else out


def nc_one_minus_mir(C):
    """:math:`1 - \\mathrm{MIR}(C)` without cancellation ({prf:ref}`cor-nc-mir-rate`):

    .. math:: 1 - \\mathrm{MIR}(C) = \\frac{(C-2)\\log\\bigl(1 + \\tfrac{1}{C-2}\\bigr)}{(C-1)\\log(C-1)}
       \\sim \\frac{1}{C\\log C}.

    Parameters
    ----------
    C : int or array_like of int
        Number of classes, each >= 3.

    Returns
    -------
    float or numpy.ndarray

    Raises
    ------
    ValueError
        For C < 3 or non-integer C.
    """
    c, scalar = _C_values(C)
    with np.errstate(divide="ignore", invalid="ignore"):
        num = np.where(c > 2, (c - 2) * np.log1p(1.0 / np.maximum(c - 2, 1)), 0.0)
    out = num / ((c - 1) * np.log(c - 1))
    return float(out[0]) if scalar else out


def nc_hdr(C):
    """Closed-form HDR under Neural Collapse: 0 for every C >= 3 ({prf:ref}`thm-nc-mir`).

    Parameters
    ----------
    C : int or array_like of int
        Number of classes, each >= 3.

    Returns
    -------
    float or numpy.ndarray

    Raises
    ------
    ValueError
        For C < 3 or non-integer C.
    """
    c, scalar = _C_values(C)
    out = np.zeros_like(c)
    return float(out[0]) if scalar else out


def nc_shifted_entropy(C, shift):
    r"""Entropy of collapsed features whose global mean was not removed ({prf:ref}`rem-nc-centring`).

    Balanced features :math:`h_i = m_{y_i} + \mu`, with :math:`m_c` a unit simplex ETF and a
    global mean :math:`\mu \perp \operatorname{span}\{m_c\}` of norm ``shift`` :math:`=s`, have the
    cosine Gram spectrum :math:`a = s^2/(1+s^2)` (once) and :math:`(1-a)/(C-1)` (``C - 1`` times), so

    .. math:: H(s) = -a\log a - (1-a)\log\frac{1-a}{C-1}.

    ``shift = 0`` gives :math:`\log(C-1)` ({prf:ref}`thm-nc-mir`).

    Parameters
    ----------
    C : int
        Number of classes, >= 3.
    shift : float or array_like
        Offset norms :math:`s \ge 0`.

    Returns
    -------
    float or numpy.ndarray

    Raises
    ------
    ValueError
        For C < 3, or a negative or non-finite shift.
    """
    C = _check_C(C)
    s = np.asarray(shift, dtype=np.float64)
    if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("shift must be finite and >= 0")
    a = s**2 / (1 + s**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        head = np.where(a > 0, -a * np.log(np.where(a > 0, a, 1.0)), 0.0)
        tail = np.where(a < 1, -(1 - a) * np.log(np.where(a < 1, (1 - a) / (C - 1), 1.0)), 0.0)
    out = head + tail
    return float(out) if out.ndim == 0 else out


def nc_shifted_hdr(C, shift):
    r"""HDR between uncentred collapsed features (:func:`nc_shifted_entropy`) and centred self-dual heads.

    .. math:: \mathrm{HDR}(s) = \frac{|H(s) - \log(C-1)|}{\max(H(s), \log(C-1))},

    zero only at ``shift = 0`` and at the one other shift where :math:`H(s) = \log(C-1)`
    ({prf:ref}`rem-nc-centring`).

    Parameters
    ----------
    C : int
        Number of classes, >= 3.
    shift : float or array_like
        Offset norms :math:`s \ge 0`.

    Returns
    -------
    float or numpy.ndarray

    Raises
    ------
    ValueError
        As :func:`nc_shifted_entropy`.
    """
    H = np.asarray(nc_shifted_entropy(C, shift))
    H0 = math.log(C - 1)
    out = np.abs(H - H0) / np.maximum(H, H0)
    return float(out) if out.ndim == 0 else out


def nc_shift_crossing(C) -> float:
    r"""The nonzero offset norm :math:`s^*` where the uncentred entropy returns to :math:`\log(C-1)`.

    With :math:`a = s^2/(1+s^2)`, :math:`\mathrm{H}(s) = h(a) + (1-a)\log(C-1)` (:func:`nc_shifted_entropy`,
    :math:`h` the binary entropy) is concave in :math:`a`, so :math:`h(a) = a\log(C-1)` has exactly one root
    :math:`a^*\in(0,1)`; returns :math:`s^* = \sqrt{a^*/(1-a^*)}`, the one nonzero offset at which
    :func:`nc_shifted_hdr` vanishes ({prf:ref}`rem-nc-centring`).

    Parameters
    ----------
    C : int
        Number of classes, >= 3.

    Returns
    -------
    float
        :math:`s^* > 0`.

    Raises
    ------
    ValueError
        For C < 3.
    """
    from scipy.optimize import brentq

    C = _check_C(C)
    L = math.log(C - 1)

    def f(a: float) -> float:
        return -a * math.log(a) - (1 - a) * math.log1p(-a) - a * L

    a_star = brentq(f, 1e-300, 1 - 1e-15, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
    return math.sqrt(a_star / (1 - a_star))


# ----------------------------------------------------------------------------- means, centring, data
def class_means(H: Any, y: Any, C: int | None = None):
    """Class means :math:`\\mu_c = \\frac{1}{n_c}\\sum_{i: y_i = c} h_i`, shape (C, d).

    Implements the :math:`\\mu_c` of {prf:ref}`def-nc-properties`.

    Parameters
    ----------
    H : array_like or torch.Tensor, shape (n, d)
        Features.
    y : array_like or torch.Tensor of int, shape (n,)
        Labels in ``0..C-1``.
    C : int, optional
        Number of classes (default: largest label + 1).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (C, d)

    Raises
    ------
    TypeError
        For complex features or labels.
    ValueError
        For bad features/labels, mismatched lengths, or a class in ``0..C-1`` with no sample.
    """
    t = _features(H)
    yt, C = _labels(y, t.shape[0], C, t.device)
    counts = torch.bincount(yt, minlength=C)
    if bool((counts == 0).any()):
        missing = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"class(es) {missing[:10]} have no sample; class means are undefined")
    sums = torch.zeros(C, t.shape[1], dtype=t.dtype, device=t.device).index_add(0, yt, t)
    return to_output(sums / counts.to(t.dtype)[:, None], not is_torch(H))


def center_rows(X: Any, mean: Any = None):
    """Subtract a mean row: :math:`x_i - \\bar x` with :math:`\\bar x` the row mean (or ``mean``).

    Used for the centring of {prf:ref}`asm-nc-exact` (c) and {prf:ref}`rem-nc-centring`.

    Parameters
    ----------
    X : array_like or torch.Tensor, shape (n, d)
    mean : array_like, shape (d,), optional
        The row to subtract (default: the mean row of ``X``).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (n, d)

    Raises
    ------
    ValueError
        For bad input or a ``mean`` of the wrong length.
    TypeError
        For complex input.
    """
    t = _features(X, "X")
    if mean is None:
        m = t.mean(dim=0, keepdim=True)
    else:
        m = as_tensor(mean, "mean", ndim=1).to(dtype=t.dtype, device=t.device)
        if m.shape[0] != t.shape[1]:
            raise ValueError(f"mean has length {m.shape[0]}, X has {t.shape[1]} columns")
        m = m[None, :]
    return to_output(t - m, not is_torch(X))


def centered_class_means(H: Any, y: Any, C: int | None = None):
    """Centred class means :math:`\\tilde M = [\\mu_c - \\mu_G]_c`, :math:`\\mu_G` the global feature mean.

    This is the :math:`\\tilde M` of {prf:ref}`def-nc-properties` (Papyan et al.'s convention).

    Parameters
    ----------
    H, y, C :
        As :func:`class_means`.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (C, d)

    Raises
    ------
    ValueError
        As :func:`class_means`.
    """
    t = _features(H)
    M = as_tensor(class_means(t, y, C), "M")
    return to_output(M - t.mean(dim=0, keepdim=True), not is_torch(H))


def collapsed_features(C: int, n_per_class: int, d: int, noise: float = 0.0, seed: int = 0):
    """Features near Neural Collapse: ETF class means plus isotropic Gaussian noise.

    :math:`h_i = m_{y_i} + \\frac{\\sigma}{\\sqrt d}\\,\\xi_i`, :math:`\\xi_i\\sim\\mathcal N(0, I_d)`, with
    :math:`m_c` the rows of :func:`simplex_etf` (unit norm) and ``n_per_class`` samples of each
    class (labels sorted), so the noise has expected norm about :math:`\\sigma` against class means
    of norm 1. With ``noise = 0`` these are exactly collapsed, balanced features; the self-dual
    heads are :math:`W = M`.

    Parameters
    ----------
    C, n_per_class, d : int
        Classes (>= 2), samples per class (>= 1), dimension (>= C - 1).
    noise : float
        :math:`\\sigma \\ge 0`.
    seed : int
        Seeds the ETF rotation and the noise (numpy Generator).

    Returns
    -------
    H : numpy.ndarray, shape (C * n_per_class, d)
    y : numpy.ndarray of int64, shape (C * n_per_class,)
    M : numpy.ndarray, shape (C, d) -- the ETF class means (= self-dual heads)
    """
    C = _check_C(C, minimum=2, what="collapsed features")
    n_per_class = check_positive_int(n_per_class, "n_per_class")
    d = check_positive_int(d, "d")
    noise = check_nonnegative(noise, "noise")
    rng = np.random.default_rng(check_seed(seed))
    M = simplex_etf(C, d, seed=int(rng.integers(2**31)))
    y = np.repeat(np.arange(C, dtype=np.int64), n_per_class)
    H = M[y] + (noise / math.sqrt(d)) * rng.standard_normal((y.size, d)) if noise > 0 else M[y].copy()
    return H, y, M


def orthogonal_rows(n: int, d: int, seed: int = 0) -> np.ndarray:
    """``n`` orthonormal rows in :math:`\\mathbb{R}^d` (random, Haar), needs ``d >= n``.

    The near-orthogonal counterexample of {prf:ref}`rem-nc-mir-not-sufficient`: two such
    representations give MIR = 1 and HDR = 0 without any class structure.

    Parameters
    ----------
    n, d : int
        Rows and dimension, ``d >= n``.
    seed : int
        Non-negative seed of the Haar sampler (:func:`mylib.linalg.haar_orthonormal`).

    Returns
    -------
    numpy.ndarray, shape (n, d)

    Raises
    ------
    ValueError
        If ``d < n``, sizes are not positive integers, or ``seed`` is negative.
    """
    n = check_positive_int(n, "n")
    d = check_positive_int(d, "d")
    if d < n:
        raise ValueError(f"n = {n} orthonormal rows need d >= n, got d = {d}")
    return haar_orthonormal(d, n, check_seed(seed)).T


# ----------------------------------------------------------------------------- NC1-NC4
def etf_distance(X: Any):
    """Distance of the rows of ``X`` (C, d) to a simplex ETF, invariant to scale and rotation.

    .. math:: \\Bigl\\lVert \\frac{XX^\\top}{\\lVert XX^\\top\\rVert_F}
       - \\frac{I - \\mathbf 1\\mathbf 1^\\top/C}{\\lVert I - \\mathbf 1\\mathbf 1^\\top/C\\rVert_F}\\Bigr\\rVert_F,

    where :math:`\\lVert I - \\mathbf 1\\mathbf 1^\\top/C\\rVert_F = \\sqrt{C-1}`. Zero exactly when
    the rows are a scaled simplex ETF (NC2 of {prf:ref}`def-nc-properties`); at most 2.

    Parameters
    ----------
    X : array_like or torch.Tensor, shape (C, d)

    Returns
    -------
    float or torch.Tensor

    Raises
    ------
    ValueError
        For fewer than 2 rows or an all-zero ``X``.
    """
    t = _features(X, "X")
    C = t.shape[0]
    if C < 2:
        raise ValueError(f"an ETF distance needs at least 2 rows, got {C}")
    G = t @ t.T
    nrm = torch.linalg.matrix_norm(G)
    if float(nrm.detach()) == 0:
        raise ValueError("X is all zeros; its Gram matrix cannot be normalised")
    P = torch.eye(C, dtype=t.dtype, device=t.device) - 1.0 / C
    return to_output(torch.linalg.matrix_norm(G / nrm - P / math.sqrt(C - 1)), not is_torch(X))


def _pinv_rank_tol(s: torch.Tensor, shape: tuple[int, int]) -> float:
    return float(s.max()) * max(shape) * float(torch.finfo(s.dtype).eps) if s.numel() else 0.0


def nc1(H: Any, y: Any, C: int | None = None):
    """NC1, within-class variability collapse: :math:`\\operatorname{tr}(\\Sigma_W\\Sigma_B^\\dagger)/C`.

    Implements NC1 of {prf:ref}`def-nc-properties` with
    :math:`\\Sigma_W = \\frac1n\\sum_i (h_i-\\mu_{y_i})(h_i-\\mu_{y_i})^\\top` and
    :math:`\\Sigma_B = \\frac1C\\sum_c(\\mu_c-\\mu_G)(\\mu_c-\\mu_G)^\\top`. Computed without
    :math:`d\\times d` matrices from the SVD :math:`\\tilde M = USV^\\top`:
    :math:`\\operatorname{tr}(\\Sigma_W\\Sigma_B^\\dagger) = \\sum_k \\frac{C}{s_k^2}\\,
    \\frac1n\\lVert (H - M_y)v_k\\rVert^2` over the nonzero singular values.

    Raises
    ------
    ValueError
        For bad input, a class without samples, or :math:`\\Sigma_B = 0` (all class means equal).

    Parameters
    ----------
    H : array_like or torch.Tensor, shape (n, d)
    y : array_like or torch.Tensor of int, shape (n,)
    C : int, optional

    Returns
    -------
    float or torch.Tensor
    """
    t = _features(H)
    yt, C = _labels(y, t.shape[0], C, t.device)
    M = as_tensor(class_means(t, _Labels(yt, C), C), "M")
    Mt = M - t.mean(dim=0, keepdim=True)
    U, s, Vh = torch.linalg.svd(Mt, full_matrices=False)
    keep = s > _pinv_rank_tol(s.detach(), tuple(Mt.shape))
    if not bool(keep.any()):
        raise ValueError("all class means coincide (Sigma_B = 0): NC1 is undefined")
    R = (t - M[yt]) @ Vh[keep].T  # (n, r) within-class residuals in the between-class directions
    val = torch.sum((C / s[keep] ** 2) * (R ** 2).mean(dim=0)) / C
    return to_output(val, not is_torch(H))


def nc2(X: Any, y: Any = None, C: int | None = None):
    """NC2, convergence to a simplex ETF.

    With labels: :func:`etf_distance` of the centred class means :math:`\\tilde M` of features
    ``X``; without labels: :func:`etf_distance` of the rows of ``X`` (e.g. the heads ``W``, used
    uncentred as in Papyan et al.). Implements NC2 of {prf:ref}`def-nc-properties`.

    Parameters
    ----------
    X : array_like or torch.Tensor
        Features (n, d) with labels ``y``, or class vectors (C, d) without.
    y : array_like of int, optional
    C : int, optional

    Returns
    -------
    float or torch.Tensor
        Between 0 and 2.

    Raises
    ------
    ValueError
        As :func:`etf_distance` and :func:`class_means`.
    """
    if y is None:
        return etf_distance(X)
    t = _features(X)
    val = etf_distance(as_tensor(centered_class_means(t, y, C), "M"))
    return to_output(val, not is_torch(X))


def nc3(W: Any, H: Any, y: Any, C: int | None = None):
    """NC3, self-duality: :math:`\\lVert W/\\lVert W\\rVert_F - \\tilde M/\\lVert\\tilde M\\rVert_F\\rVert_F^2`.

    Implements NC3 of {prf:ref}`def-nc-properties`; ``W`` has one row per class (C, d), ``H``
    the features (n, d) with labels ``y``. Between 0 (self-dual) and 4.

    Parameters
    ----------
    W : array_like or torch.Tensor, shape (C, d)
    H : array_like or torch.Tensor, shape (n, d)
    y : array_like of int, shape (n,)
    C : int, optional

    Returns
    -------
    float or torch.Tensor

    Raises
    ------
    ValueError
        For a ``W`` of the wrong shape, bad labels, or all-zero ``W`` or centred class means.
    """
    Wt = _features(W, "W", like=H if is_torch(H) else None)
    t = _features(H, like=Wt if is_torch(W) else None)
    yt, C = _labels(y, t.shape[0], C if C is not None else Wt.shape[0], t.device)
    if Wt.shape != (C, t.shape[1]):
        raise ValueError(f"W must have shape (C, d) = ({C}, {t.shape[1]}), got {tuple(Wt.shape)}")
    Mt = as_tensor(centered_class_means(t, _Labels(yt, C), C), "M")
    nw, nm = torch.linalg.matrix_norm(Wt), torch.linalg.matrix_norm(Mt)
    if float(nw.detach()) == 0 or float(nm.detach()) == 0:
        raise ValueError("W or the centred class means are all zeros; NC3 is undefined")
    val = torch.linalg.matrix_norm(Wt / nw - Mt / nm) ** 2
    return to_output(val, not (is_torch(W) or is_torch(H)))


def nc4(H: Any, W: Any, b: Any = None, means: Any = None, y: Any = None):
    """NC4, simplification to the nearest class centre: fraction of samples where
    :math:`\\arg\\max_c (Wh+b)_c \\ne \\arg\\min_c\\lVert h - \\mu_c\\rVert`.

    Implements NC4 of {prf:ref}`def-nc-properties`. The class centres are ``means`` (C, d), or
    the class means of ``H`` itself when ``means`` is None and labels ``y`` are given (for test
    features pass the training means). ``b`` defaults to zero.

    Returns
    -------
    float or torch.Tensor
        Disagreement rate in [0, 1] (not differentiable).

    Parameters
    ----------
    H : array_like or torch.Tensor, shape (n, d)
    W : array_like or torch.Tensor, shape (C, d)
    b : array_like, shape (C,), optional
    means : array_like, shape (C, d), optional
    y : array_like of int, shape (n,), optional

    Raises
    ------
    ValueError
        For mismatched shapes, or when neither ``means`` nor ``y`` is given.
    """
    t = _features(H)
    Wt = _features(W, "W", like=t).to(dtype=t.dtype, device=t.device)
    if Wt.shape[1] != t.shape[1]:
        raise ValueError(f"W has {Wt.shape[1]} columns, H has {t.shape[1]}")
    C = Wt.shape[0]
    if b is None:
        bt = torch.zeros(C, dtype=t.dtype, device=t.device)
    else:
        bt = as_tensor(b, "b", ndim=1).to(dtype=t.dtype, device=t.device)
        if bt.shape[0] != C:
            raise ValueError(f"b has length {bt.shape[0]}, W has {C} rows")
    if means is None:
        if y is None:
            raise ValueError("nc4 needs the class centres: pass means=... or the labels y")
        Mu = as_tensor(class_means(t, y, C), "means")
    else:
        Mu = as_tensor(means, "means", ndim=2).to(dtype=t.dtype, device=t.device)
        if Mu.shape != Wt.shape:
            raise ValueError(f"means must have shape {tuple(Wt.shape)}, got {tuple(Mu.shape)}")
    with torch.no_grad():
        pred = torch.argmax(t @ Wt.T + bt, dim=1)
        ncc = torch.argmin(torch.cdist(t, Mu), dim=1)
        val = (pred != ncc).to(t.dtype).mean()
    return to_output(val, not is_torch(H))


def nc_metrics(H: Any, y: Any, W: Any, b: Any = None, C: int | None = None) -> dict[str, Any]:
    """NC1, NC2 (means and heads), NC3 and NC4 of features ``H`` with labels ``y`` and head ``W``.

    Returns a dict with keys ``nc1``, ``nc2_means``, ``nc2_heads``, ``nc3``, ``nc4``
    ({prf:ref}`def-nc-properties`); all are 0 at exact Neural Collapse.

    Parameters
    ----------
    H : array_like or torch.Tensor, shape (n, d)
    y : array_like of int, shape (n,)
        Validated once for all four metrics.
    W : array_like or torch.Tensor, shape (C, d)
    b : array_like, shape (C,), optional
    C : int, optional

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        As the individual metrics.
    """
    C = C if C is not None else (W.shape[0] if hasattr(W, "shape") else None)
    t = _features(H)
    yt, C = _labels(y, t.shape[0], C, t.device)
    y = _Labels(yt, C)  # validated once for the four metrics
    H = t if is_torch(H) else H
    return {
        "nc1": nc1(H, y, C),
        "nc2_means": nc2(H, y, C),
        "nc2_heads": nc2(W),
        "nc3": nc3(W, H, y, C),
        "nc4": nc4(H, W, b, y=y),
    }


# ----------------------------------------------------------------------------- mini-batches
def batch_information(Z1: Any, Z2: Any, batch_size: int, n_batches: int, seed: int = 0,
                      method: str = "auto") -> dict[str, np.ndarray]:
    """MIR and HDR of random mini-batches of paired rows ({prf:ref}`rem-nc-batch`).

    Draws ``n_batches`` batches of ``batch_size`` rows uniformly without replacement (numpy
    Generator seeded with ``seed``) and evaluates :func:`mylib.information.information_summary`
    on each (e.g. ``Z1`` = features, ``Z2`` = heads of their labels).

    Returns
    -------
    dict
        ``"MIR"``, ``"HDR"``, ``"MI"``, ``"H1"``, ``"H2"``: float arrays of length ``n_batches``
        (NaN where a batch has zero entropy, e.g. a single class).

    Parameters
    ----------
    Z1, Z2 : array_like or torch.Tensor, shape (n, d1) and (n, d2)
    batch_size : int
        Rows per batch, 2 <= ``batch_size`` <= n.
    n_batches : int
    seed : int
    method : {"auto", "gram", "fast"}

    Raises
    ------
    ValueError
        For different numbers of rows or bad sizes.
    """
    t1 = _features(Z1, "Z1")
    t2 = _features(Z2, "Z2", like=t1 if is_torch(Z1) else None)
    n = t1.shape[0]
    if t2.shape[0] != n:
        raise ValueError(f"Z1 and Z2 must have the same number of rows, got {n} and {t2.shape[0]}")
    batch_size = check_positive_int(batch_size, "batch_size", minimum=2)
    n_batches = check_positive_int(n_batches, "n_batches")
    if batch_size > n:
        raise ValueError(f"batch_size = {batch_size} exceeds the number of rows n = {n}")
    rng = np.random.default_rng(seed)
    keys = ("MIR", "HDR", "MI", "H1", "H2")
    out = {k: np.empty(n_batches) for k in keys}
    for j in range(n_batches):
        idx = torch.as_tensor(rng.choice(n, size=batch_size, replace=False), device=t1.device)
        s = information_summary(t1[idx].detach(), t2[idx].detach(), method=method)
        for k in keys:
            out[k][j] = float(s[k])
    return out


# ----------------------------------------------------------------------------- notebook helpers
def class_grid(n_values: int, C_max: int, C_min: int = 3) -> np.ndarray:
    """Integers from ``C_min`` to ``C_max``: all of them if ``n_values`` covers the range, else about
    ``n_values`` log-spaced ones (always including both ends); the values of C at which the verification
    notebook checks {prf:ref}`thm-nc-mir`.

    Parameters
    ----------
    n_values : int
        About this many values (>= 2).
    C_max, C_min : int
        Range, ``3 <= C_min <= C_max``.

    Returns
    -------
    numpy.ndarray of int

    Raises
    ------
    ValueError
        For bad sizes.
    """
    n_values = check_positive_int(n_values, "n_values", minimum=2)
    C_min = _check_C(C_min)
    C_max = check_positive_int(C_max, "C_max", minimum=C_min)
    if n_values >= C_max - C_min + 1:
        return np.arange(C_min, C_max + 1)
    return np.unique(np.round(np.geomspace(C_min, C_max, n_values)).astype(np.int64))


def explore_collapse(C: int = 10, noise: float = 0.1, batch_size: int = 100, n_per_class: int = 50,
                     d: int = 64, n_batches: int = 20, seed: int = 0) -> dict[str, Any]:
    """Everything the interactive explorer of the verification notebook shows, for one setting
    ({prf:ref}`thm-nc-mir`, {prf:ref}`rem-nc-batch`).

    Features are :func:`collapsed_features` (``C`` classes, ``n_per_class`` each, noise ``noise``),
    the heads are the exact ETF (self-dual with the noiseless means). Returns the theorem's MIR
    (:func:`nc_mir`), the full-sample MIR/HDR of features vs heads of their labels, the MIR/HDR of
    ``n_batches`` random mini-batches of ``batch_size`` rows (:func:`batch_information`), and the
    NC1-NC4 metrics (:func:`nc_metrics`).

    Parameters
    ----------
    C, noise, batch_size, n_per_class, d, n_batches, seed :
        The setting (see :func:`collapsed_features` and :func:`batch_information`).

    Returns
    -------
    dict
        ``C``, ``noise``, ``batch_size``, ``n``, ``theory_mir``, ``full``, ``batches``, ``nc``.

    Raises
    ------
    ValueError
        For C < 3 or bad sizes.
    """
    C = _check_C(C)
    H, y, M = collapsed_features(C, n_per_class, max(d, C - 1), noise=noise, seed=seed)
    full = information_summary(H, M[y])
    batch_size = min(check_positive_int(batch_size, "batch_size", minimum=2), H.shape[0])
    batches = batch_information(H, M[y], batch_size, n_batches, seed=seed + 1)
    return {
        "C": C, "noise": float(noise), "batch_size": batch_size, "n": int(H.shape[0]),
        "theory_mir": nc_mir(C), "full": full, "batches": batches, "nc": nc_metrics(H, y, M),
    }


# ----------------------------------------------------------------------------- perturbation bound
def fannes_audenaert(T: Any, D: int):
    """Continuity modulus of the von Neumann entropy: :math:`f_D(T) = T\\log(D-1) + h(T)`.

    For density matrices of dimension :math:`D` at trace distance :math:`\\tfrac12\\lVert\\rho-\\sigma\\rVert_1
    \\le T`, :math:`|S(\\rho) - S(\\sigma)| \\le f_D(T)` (Audenaert, 2007), with :math:`h` the binary entropy.
    Made non-decreasing: :math:`f_D(T) = \\log D` for :math:`T \\ge 1 - 1/D` (used in {prf:ref}`thm-nc-perturbation`).

    Parameters
    ----------
    T : float or array_like
        Trace-distance bounds, >= 0.
    D : int
        Dimension, >= 2.

    Returns
    -------
    float or numpy.ndarray

    Raises
    ------
    ValueError
        For negative or non-finite ``T`` or ``D < 2``.
    """
    D = check_positive_int(D, "D", minimum=2)
    t = np.asarray(T, dtype=np.float64)
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("T must be finite and >= 0")
    tc = np.clip(t, 0.0, 1.0 - 1.0 / D)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where((tc > 0) & (tc < 1), -tc * np.log(np.where(tc > 0, tc, 1.0))
                     - (1 - tc) * np.log(np.where(tc < 1, 1 - tc, 1.0)), 0.0)
    out = np.where(t >= 1.0 - 1.0 / D, math.log(D), tc * math.log(D - 1) + h)
    return float(out) if out.ndim == 0 else out


def _trace_distance_to_etf(G: np.ndarray) -> float:
    """:math:`\\tfrac12\\lVert G/C - G^*/C\\rVert_1` for a C x C cosine Gram matrix, :math:`G^*` the ETF's."""
    C = G.shape[0]
    Gs = (C / (C - 1)) * (np.eye(C) - 1.0 / C)
    return 0.5 * float(np.abs(np.linalg.eigvalsh((G - Gs) / C)).sum())


def collapse_deviations(H: Any, y: Any, W: Any) -> dict[str, float]:
    """Distances from collapse that control MIR and HDR ({prf:ref}`thm-nc-perturbation`).

    With unit rows :math:`\\hat w_c`, :math:`\\hat\\mu_c` of the heads and of the centred class means
    :math:`\\mu_c - \\mu_G`, and :math:`\\hat h_i` of the centred features :math:`h_i - \\mu_G`:

    * ``eps_W``, ``eps_M`` -- trace distances :math:`\\tfrac12\\lVert \\hat G/C - G^*/C\\rVert_1` of the cosine Gram
      matrices of the heads and of the centred class means from the simplex ETF's (NC2, and NC3 through the heads);
    * ``nu`` -- the root-mean-square angular spread :math:`\\bigl(\\frac1n\\sum_i\\lVert\\hat h_i -
      \\hat\\mu_{y_i}\\rVert^2\\bigr)^{1/2}` (NC1 of directions).

    Parameters
    ----------
    H : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    W : array_like, shape (C, d)

    Returns
    -------
    dict
        ``eps_W``, ``eps_M``, ``nu`` (floats), ``C`` and ``n``.

    Raises
    ------
    ValueError
        For bad input, a class without samples, or a zero centred feature, class mean or head.
    """
    t = _features(H).detach().double().cpu()
    Wt = _features(W, "W").detach().double().cpu()
    yt, C = _labels(y, t.shape[0], Wt.shape[0], t.device)
    if Wt.shape != (C, t.shape[1]):
        raise ValueError(f"W must have shape (C, d) = ({C}, {t.shape[1]}), got {tuple(Wt.shape)}")
    Hc = (t - t.mean(0, keepdim=True)).numpy()
    M = as_tensor(centered_class_means(t, yt, C), "M").numpy()
    Wn = Wt.numpy()

    def unit(A, what):
        nrm = np.linalg.norm(A, axis=1, keepdims=True)
        if np.any(nrm == 0):
            raise ValueError(f"a {what} is zero; its direction is undefined")
        return A / nrm

    Mh, Wh, Hh = unit(M, "centred class mean"), unit(Wn, "head"), unit(Hc, "centred feature")
    yn = yt.cpu().numpy()
    nu = float(np.sqrt(np.mean(np.sum((Hh - Mh[yn]) ** 2, axis=1))))
    return {"eps_W": _trace_distance_to_etf(Wh @ Wh.T), "eps_M": _trace_distance_to_etf(Mh @ Mh.T),
            "nu": nu, "C": C, "n": int(t.shape[0])}


def mir_perturbation_bound(eps_W: Any, eps_M: Any, C: int, nu: Any = 0.0, D: int | None = None) -> dict[str, Any]:
    """Bounds of {prf:ref}`thm-nc-perturbation` on how far MIR and HDR are from their collapse values.

    With :math:`\\varepsilon_1 = \\varepsilon_M + \\nu` (features), :math:`\\varepsilon_2 = \\varepsilon_W` (heads),
    :math:`f = f_D` of :func:`fannes_audenaert`, :math:`H^* = \\log(C-1)`, :math:`\\Delta_H = \\max_k f(\\varepsilon_k)`:

    .. math::
        |\\mathrm I - \\mathrm I_{NC}| \\le \\Delta_I = f(\\varepsilon_1) + f(\\varepsilon_2) + f(\\varepsilon_1 + \\varepsilon_2),\\quad
        |\\mathrm{MIR} - \\mathrm{MIR}_{NC}| \\le \\frac{\\Delta_I + \\mathrm{MIR}_{NC}\\,\\Delta_H}{H^* - \\Delta_H},\\quad
        \\mathrm{HDR} \\le \\frac{f(\\varepsilon_1) + f(\\varepsilon_2)}{H^* - \\Delta_H}

    (ratios are ``inf`` when :math:`\\Delta_H \\ge H^*`). Class level: ``nu = 0``, ``D = C``; sample level
    (balanced classes): ``nu`` from :func:`collapse_deviations` and ``D = n``.

    Parameters
    ----------
    eps_W, eps_M : float or array_like
        Trace distances of the heads' and the centred class means' cosine Gram matrices from the ETF's.
    C : int
        Number of classes, >= 3.
    nu : float or array_like
        Angular within-class spread (0 at class level).
    D : int, optional
        Dimension of the Gram matrices (default ``C``).

    Returns
    -------
    dict
        ``entropy`` (bound on each :math:`|H_k - H^*|`), ``mi``, ``mir``, ``hdr`` (floats or arrays).

    Raises
    ------
    ValueError
        For negative or non-finite deviations, ``C < 3`` or ``D < 2``.
    """
    C = _check_C(C)
    D = C if D is None else check_positive_int(D, "D", minimum=2)
    arrs = [np.asarray(v, dtype=np.float64) for v in (eps_W, eps_M, nu)]
    for name, a in zip(("eps_W", "eps_M", "nu"), arrs):
        if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"{name} must be finite and >= 0")
    e2, e1 = arrs[0], arrs[1] + arrs[2]
    f1, f2, f12 = fannes_audenaert(e1, D), fannes_audenaert(e2, D), fannes_audenaert(e1 + e2, D)
    dH = np.maximum(f1, f2)
    dI = f1 + f2 + f12
    Hs = math.log(C - 1)
    den = Hs - dH
    with np.errstate(divide="ignore", invalid="ignore"):
        mir_b = np.where(den > 0, (dI + nc_mir(C) * dH) / np.where(den > 0, den, 1.0), np.inf)
        hdr_b = np.where(den > 0, (f1 + f2) / np.where(den > 0, den, 1.0), np.inf)
    conv = (lambda v: float(v) if np.ndim(v) == 0 else v)
    return {"entropy": conv(dH), "mi": conv(dI), "mir": conv(mir_b), "hdr": conv(hdr_b)}
