"""Validation and the PSD solve shared by the modules of :mod:`mylib.linear_cl` (private)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._checks import check_finite_array, check_nonnegative, check_positive_int, check_seed
from ..linalg import psd_solve

_RTOL = 1e-10  # relative eigenvalue threshold of the pseudo-inverse (the Xi -> 0+ limit)


def _arr(x: Any, name: str, **kw) -> np.ndarray:
    """``check_finite_array`` that first refuses complex input with a TypeError naming ``name``."""
    if np.iscomplexobj(x) or (hasattr(x, "is_complex") and x.is_complex()):
        raise TypeError(f"{name} must be real, got complex values")
    return check_finite_array(x, name, **kw)


def _real_scalar(x: Any, name: str) -> float:
    """A non-negative finite real scalar; complex is a TypeError naming ``name``."""
    if isinstance(x, complex) or np.iscomplexobj(x) or (hasattr(x, "is_complex") and x.is_complex()):
        raise TypeError(f"{name} must be real, got complex value {x!r}")
    return check_nonnegative(x, name)


def _rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(check_seed(rng, "rng", also="a numpy Generator"))


def _spectra(gammas: Any, name: str = "gammas") -> np.ndarray:
    g = _arr(gammas, name, ndim=2, nonnegative=True)
    if g.size == 0:
        raise ValueError(f"{name} is empty (shape {g.shape})")
    return g


def _ns(ns: Any, T: int) -> np.ndarray:
    n = _arr(ns, "ns", ndim=1)
    if n.shape != (T,):
        raise ValueError(f"ns must have length T={T} (one sample size per task), got shape {n.shape}")
    if np.any(n <= 0):
        raise ValueError("ns must be positive (sample sizes)")
    return n


def _e0(e0: Any, p: int) -> np.ndarray:
    e = _arr(e0, "e0", ndim=1, nonnegative=True)
    if e.shape != (p,):
        raise ValueError(f"e0 must have length p={p} (one initial squared error per direction), got shape {e.shape}")
    return e


def _lams(lams: Any, shape: tuple[int, int], name: str = "lams") -> np.ndarray:
    """Eigenvalues of Xi_t: finite and >= 0, or +inf (the 'freeze' limit)."""
    if np.iscomplexobj(lams) or (hasattr(lams, "is_complex") and lams.is_complex()):
        raise TypeError(f"{name} must be real, got complex values")
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
    out = [_arr(X, f"{name}[{t}]") for t, X in enumerate(Xs)]
    p = out[0].shape[-1]
    for t, X in enumerate(out):
        if X.ndim not in (2, 3) or X.shape[-2] == 0 or X.shape[-1] == 0:
            raise ValueError(f"{name}[{t}] must be (n_t, p) or (R, n_t, p) and non-empty, got shape {X.shape}")
        if X.shape[-1] != p:
            raise ValueError(f"all designs must have p={p} columns, {name}[{t}] has {X.shape[-1]}")
    return out



def _psd_solve(M: np.ndarray, B: np.ndarray) -> np.ndarray:
    """:math:`M^+ B` for symmetric PSD ``M`` ((B,) p, p) and ``B`` (R, p, 1), by :func:`mylib.linalg.psd_solve`.

    Cholesky when ``M`` is clearly non-singular, else the eigenvalue pseudo-inverse with relative
    threshold ``_RTOL`` -- the :math:`\\Xi \\to 0^+` limit of {prf:ref}`def-lcl-gr`. A single matrix
    shared by all repetitions is factorised once.
    """
    if M.ndim == 2:
        M = M[None]
    if M.shape[0] == 1 and B.shape[0] != 1:
        return psd_solve(M, B[..., 0].T[None], rtol=_RTOL)[0].T[..., None]
    return psd_solve(M, B, rtol=_RTOL)


def _closed_inputs(gammas, ns, sigma2, e0):
    g = _spectra(gammas)
    T, p = g.shape
    return g, _ns(ns, T), _real_scalar(sigma2, "sigma2"), _e0(e0, p)


def _memory_rank(k: Any, p: int) -> int:
    """The rank ``k`` of a low-rank memory, ``1 <= k <= p`` (ValueError naming ``k`` otherwise)."""
    if k is None:
        raise ValueError("kind='lowrank' needs the rank k")
    k = check_positive_int(k, "k")
    if k > p:
        raise ValueError(f"k must be <= p={p}, got {k}")
    return k
