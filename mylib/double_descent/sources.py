"""Sources of (frozen state, target) pairs: the linear-Gaussian HMM and the discrete HMM with its forward filter."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._checks import as_tensor, check_finite_array, check_nonnegative, check_positive_int, check_seed, check_unit_interval, is_torch
from ..linalg import psd_sqrt
from ..runtime import get_device

_DTYPE = torch.float64

__all__ = ["stationary_covariance", "sample_linear_gaussian_hmm", "GaussianSource", "random_discrete_hmm", "ring_hmm", "stationary_distribution", "sample_discrete_hmm", "forward_filter", "next_token_probs", "belief_pool", "PoolSource"]

# ----------------------------------------------------------------------------------------------------------------
# Linear-Gaussian HMM
def _square(M: Any, name: str, d: int | None = None) -> np.ndarray:
    arr = check_finite_array(M, name, ndim=2)
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be square, got shape {arr.shape}")
    if d is not None and arr.shape[0] != d:
        raise ValueError(f"{name} must be {d}x{d}, got shape {arr.shape}")
    return arr


def _covariance(Q: Any, d: int, name: str, check_psd: bool = True) -> np.ndarray:
    """Scalar (times identity) or PSD matrix -> PSD matrix (``check_psd=False``: the caller checks)."""
    if np.ndim(Q.detach().cpu().numpy() if is_torch(Q) else Q) == 0:
        return check_nonnegative(Q, name) * np.eye(d)
    M = _square(Q, name, d)
    if not np.allclose(M, M.T, atol=1e-10 * max(1.0, np.abs(M).max())):
        raise ValueError(f"{name} must be symmetric")
    if check_psd and np.linalg.eigvalsh((M + M.T) / 2).min() < -1e-10 * max(1.0, np.abs(M).max()):
        raise ValueError(f"{name} must be positive semi-definite")
    return (M + M.T) / 2


def stationary_covariance(A: Any, Q: Any) -> np.ndarray:
    """Stationary covariance of ``z_t = z_{t-1} A + eps_t``, ``eps_t ~ N(0, Q)`` (row vectors).

    Solves the discrete Lyapunov equation ``Sigma_z = A^T Sigma_z A + Q`` ({prf:ref}`prop-dd-population`).

    Parameters
    ----------
    A : array_like (d, d)
        Transition matrix.
    Q : float or array_like (d, d)
        Innovation covariance (a scalar means ``Q * I``).

    Returns
    -------
    numpy.ndarray (d, d)
        :math:`\\Sigma_z`.

    Raises
    ------
    ValueError
        If ``A`` is not square, its spectral radius is ``>= 1`` (no stationary law), or ``Q`` is not PSD.
    """
    from scipy.linalg import solve_discrete_lyapunov

    A = _square(A, "A")
    d = A.shape[0]
    Qm = _covariance(Q, d, "Q")
    rho = np.abs(np.linalg.eigvals(A)).max()
    if rho >= 1:
        raise ValueError(f"A must have spectral radius < 1 for a stationary chain, got {rho:.6g}")
    S = solve_discrete_lyapunov(A.T, Qm)
    return (S + S.T) / 2


def _generator(seed_or_gen: Any, device: torch.device) -> torch.Generator:
    if isinstance(seed_or_gen, torch.Generator):
        return seed_or_gen
    seed = check_seed(seed_or_gen, also="a torch.Generator")
    return torch.Generator(device=device).manual_seed(seed)


def _t(a: np.ndarray, device) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), dtype=_DTYPE, device=device)


def _sample_states(At: torch.Tensor, Lz: torch.Tensor, Lq: torch.Tensor, n_seq: int, length: int,
                   gen: torch.Generator) -> torch.Tensor:
    """Core of :func:`sample_linear_gaussian_hmm`: stationary start ``z_0 = g Lz``, then ``z_t = z_{t-1} A + g Lq``."""
    d, dev = At.shape[0], At.device
    z = torch.empty(n_seq, length, d, dtype=_DTYPE, device=dev)
    z[:, 0] = torch.randn(n_seq, d, generator=gen, dtype=_DTYPE, device=dev) @ Lz
    for t in range(1, length):
        z[:, t] = z[:, t - 1] @ At + torch.randn(n_seq, d, generator=gen, dtype=_DTYPE, device=dev) @ Lq
    return z


def sample_linear_gaussian_hmm(A: Any, Q: Any, n_seq: int, length: int, W: Any = None, R: Any = 0.0,
                               seed: Any = 0, device: Any = None):
    """Sample stationary trajectories of the linear-Gaussian HMM of {prf:ref}`def-dd-lgssm`.

    ``z_0 ~ N(0, Sigma_z)`` (the stationary law), ``z_t = z_{t-1} A + eps_t`` with ``eps_t ~ N(0, Q)``, and,
    when ``W`` (``d x p``) is given, ``x_t = z_t W + u_t`` with ``u_t ~ N(0, R)``.

    Parameters
    ----------
    A : array_like, (d, d)
        Transition matrix, spectral radius ``< 1``.
    Q : float or array_like (d, d)
        Innovation covariance (a scalar means ``Q * I``).
    n_seq, length : int
        Number of independent sequences and their length (``>= 1``).
    W : array_like (d, p), optional
        Observation (read-out) matrix.
    R : float or array_like (p, p)
        Observation noise covariance.
    seed : int or torch.Generator
    device : str or torch.device, optional
        Default :func:`mylib.get_device`.

    Returns
    -------
    z : (n_seq, length, d)
    x : (n_seq, length, p) or None
        numpy arrays, or torch tensors when ``A`` is a torch tensor.

    Raises
    ------
    ValueError
        For bad shapes, non-stationary ``A``, non-PSD covariances or non-positive sizes.
    """
    torch_out = is_torch(A)
    A_np = _square(A, "A")
    d = A_np.shape[0]
    n_seq = check_positive_int(n_seq, "n_seq")
    length = check_positive_int(length, "length")
    Sz = stationary_covariance(A_np, Q)
    Qm = _covariance(Q, d, "Q")
    dev = get_device() if device is None else torch.device(device)
    gen = _generator(seed, dev)
    z = _sample_states(_t(A_np, dev), _t(psd_sqrt(Sz), dev), _t(psd_sqrt(Qm), dev), n_seq, length, gen)
    x = None
    if W is not None:
        Wn = check_finite_array(W, "W", ndim=2)
        if Wn.shape[0] != d:
            raise ValueError(f"W must have {d} rows (the state dimension), got shape {Wn.shape}")
        Rm = _covariance(R, Wn.shape[1], "R")
        x = z @ _t(Wn, dev) + torch.randn(n_seq, length, Wn.shape[1], generator=gen, dtype=_DTYPE,
                                          device=dev) @ _t(psd_sqrt(Rm), dev)
    if torch_out:
        return z, x
    return z.cpu().numpy(), (None if x is None else x.cpu().numpy())


class _Source:
    """A joint law of (frozen state ``phi``, target ``y``) with known first and second moments."""

    mean_phi: np.ndarray
    mean_y: np.ndarray
    cov_phi: np.ndarray
    cov_phi_y: np.ndarray
    cov_y: np.ndarray

    @property
    def k(self) -> int:
        """Dimension of the frozen state ``phi``."""
        return self.cov_phi.shape[0]

    @property
    def d(self) -> int:
        """Number of outputs (target dimension)."""
        return self.cov_y.shape[0]

    @property
    def total(self) -> float:
        """Per-output variance of the target, ``tr(Cov y) / d`` (= noise + signal at any size)."""
        return float(np.trace(self.cov_y)) / self.d

    def whitening(self, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
        """``M`` (``k x r``) with ``M^T Cov(phi) M = I_r`` and the whitened cross-covariance ``C = M^T Cov(phi, y)``.

        ``r`` is the numerical rank of ``Cov(phi)`` (eigenvalues above ``tol * max``). Cached.
        """
        cache = self.__dict__.setdefault("_whitening_cache", {})
        if tol not in cache:
            s, V = np.linalg.eigh(self.cov_phi)
            keep = s > tol * s.max()
            M = V[:, keep] / np.sqrt(s[keep])
            cache[tol] = (M, M.T @ self.cov_phi_y)
        M, C = cache[tol]
        return M.copy(), C.copy()

    def signal_basis(self) -> tuple[np.ndarray, np.ndarray]:
        """Orthonormal basis ``U`` (``r x r``) of the whitened state ordered by decreasing signal, and the squared
        singular values ``s_j^2`` of ``C`` (zero-padded to length ``r``). Cached.

        The first ``rank(C)`` columns are the left singular vectors of ``C`` (sign fixed: largest entry positive).
        The directions without signal are completed deterministically -- the principal directions of the frozen
        state, largest variance first, made orthogonal to the signal directions (Gram-Schmidt) -- rather than by
        the arbitrary null-space basis of the SVD, which differs between LAPACK builds and CPU kernels.
        """
        if "_basis_cache" not in self.__dict__:
            _, C = self.whitening()
            r = C.shape[0]
            U, s, _ = np.linalg.svd(C, full_matrices=False)
            k = int(np.sum(s > (s.max() if s.size else 0.0) * max(C.shape) * np.finfo(float).eps))
            cols = [u * np.sign(u[np.argmax(np.abs(u))]) for u in U[:, :k].T]
            for j in range(r - 1, -1, -1):  # whitened coordinate j has the (j+1)-th smallest variance
                if len(cols) == r:
                    break
                v = np.zeros(r)
                v[j] = 1.0
                for _ in range(2):  # Gram-Schmidt, twice for orthogonality to working precision
                    for u in cols:
                        v -= (u @ v) * u
                norm = np.linalg.norm(v)
                if norm > 1e-8:
                    cols.append(v / norm)
            s2 = np.zeros(r)
            s2[:k] = s[:k] ** 2
            self._basis_cache = (np.stack(cols, axis=1), s2)
        U, s2 = self._basis_cache
        return U.copy(), s2.copy()

    def sample_pairs(self, m: int, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class GaussianSource(_Source):
    """Frozen state ``phi = z_t`` and target ``y = z_{t+1}`` of a stationary linear-Gaussian HMM.

    Moments ({prf:ref}`prop-dd-population`): ``Cov(phi) = Cov(y) = Sigma_z`` and ``Cov(phi, y) = Sigma_z A``.
    :meth:`sample_pairs` draws independent stationary sequences with :func:`sample_linear_gaussian_hmm`.

    Parameters
    ----------
    A : array_like (d, d)
        Transition matrix, spectral radius ``< 1``.
    Q : float or array_like (d, d)
        Innovation covariance.
    """

    def __init__(self, A: Any, Q: Any):
        self.A = _square(A, "A")
        dd = self.A.shape[0]
        self.Q = _covariance(Q, dd, "Q")
        Sz = stationary_covariance(self.A, self.Q)
        self.mean_phi = np.zeros(dd)
        self.mean_y = np.zeros(dd)
        self.cov_phi = Sz
        self.cov_phi_y = Sz @ self.A
        self.cov_y = Sz
        self._factors: dict[str, tuple] = {}

    def sample_pairs(self, m: int, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``m`` independent pairs ``(z_t, z_{t+1})`` from stationary sequences of length 2 (torch, float64).

        Same draws as ``sample_linear_gaussian_hmm(A, Q, m, 2, seed=gen)``; the factors are cached per device.
        """
        key = str(device)
        if key not in self._factors:
            self._factors[key] = (_t(self.A, device), _t(psd_sqrt(self.cov_phi), device),
                                  _t(psd_sqrt(self.Q), device))
        z = _sample_states(*self._factors[key], m, 2, gen)
        return z[:, 0], z[:, 1]


# ----------------------------------------------------------------------------------------------------------------
# Discrete HMM
def _stochastic(M: Any, name: str) -> np.ndarray:
    arr = check_finite_array(M, name, ndim=2, nonnegative=True)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.allclose(arr.sum(axis=1), 1.0, atol=1e-8):
        raise ValueError(f"rows of {name} must sum to 1")
    return arr


def _check_hmm(T: Any, E: Any, pi0: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    T = _stochastic(T, "T")
    if T.shape[0] != T.shape[1]:
        raise ValueError(f"T must be square, got shape {T.shape}")
    E = _stochastic(E, "E")
    if E.shape[0] != T.shape[0]:
        raise ValueError(f"E must have {T.shape[0]} rows (one per hidden state), got shape {E.shape}")
    pi0 = check_finite_array(pi0, "pi0", ndim=1, nonnegative=True)
    if pi0.shape[0] != T.shape[0] or not np.isclose(pi0.sum(), 1.0, atol=1e-8):
        raise ValueError(f"pi0 must be a probability vector of length {T.shape[0]}")
    return T, E, pi0


def stationary_distribution(T: Any) -> np.ndarray:
    """Stationary distribution ``pi = pi T`` of an irreducible row-stochastic matrix ``T``.

    Implements the stationary law of {prf:ref}`def-dd-discrete-hmm`.

    Parameters
    ----------
    T : array_like (K, K)
        Row-stochastic transition matrix.

    Returns
    -------
    numpy.ndarray (K,)
        :math:`\\pi` with :math:`\\pi T = \\pi`, :math:`\\sum_k \\pi_k = 1`.

    Raises
    ------
    ValueError
        If ``T`` is not square and row-stochastic, or the chain has no unique stationary law.
    """
    T = _stochastic(T, "T")
    K = T.shape[0]
    if T.shape[1] != K:
        raise ValueError(f"T must be square, got shape {T.shape}")
    M = np.vstack([T.T - np.eye(K), np.ones((1, K))])
    rhs = np.concatenate([np.zeros(K), [1.0]])
    pi, *_ = np.linalg.lstsq(M, rhs, rcond=None)
    if np.linalg.matrix_rank(T.T - np.eye(K)) != K - 1:
        raise ValueError("T has no unique stationary distribution (reducible chain)")
    pi = np.clip(pi, 0, None)
    return pi / pi.sum()


def random_discrete_hmm(K: int, V: int, stay: float = 0.7, concentration: float = 0.5,
                        rng: Any = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random discrete HMM ({prf:ref}`def-dd-discrete-hmm`) started at its stationary law.

    ``T = stay * I + (1 - stay) * D`` with Dirichlet(1) rows ``D``; emission rows ``E_k`` are
    Dirichlet(``concentration``) over ``V`` tokens (small concentration = informative tokens).

    Parameters
    ----------
    K, V : int
        Hidden states and vocabulary size.
    stay : float
        Probability mass kept on the diagonal of ``T``.
    concentration : float
        Dirichlet concentration of the random rows.
    rng : int, numpy.random.Generator or numpy.random.SeedSequence

    Returns
    -------
    T : (K, K), E : (K, V), pi0 : (K,)

    Raises
    ------
    ValueError
        For ``K < 2``, ``V < 2``, ``stay`` outside ``[0, 1)`` or non-positive ``concentration``.
    """
    K = check_positive_int(K, "K", 2)
    V = check_positive_int(V, "V", 2)
    stay = check_nonnegative(stay, "stay")
    if stay >= 1:
        raise ValueError(f"stay must lie in [0, 1), got {stay}")
    conc = check_nonnegative(concentration, "concentration")
    if conc == 0:
        raise ValueError("concentration must be > 0")
    g = np.random.default_rng(rng)
    T = stay * np.eye(K) + (1 - stay) * g.dirichlet(np.ones(K), size=K)
    E = g.dirichlet(conc * np.ones(V), size=K)
    return T, E, stationary_distribution(T)


def ring_hmm(K: int, drift: float = 0.25, width: float = 1.5, vocab: int | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A hidden random walk on a ring of ``K`` states with noisy position tokens (the contrast HMM).

    Transitions: stay with probability ``1 - 2 drift``, step to either neighbour with probability ``drift``.
    Emissions: position ``v`` (one per state) with probability proportional to ``exp(-dist(k, v)^2 / (2 width^2))``
    (ring distance). With ``vocab`` given, the token is the arc of that noisy position (``vocab`` equal arcs,
    token ``floor(v * vocab / K)``): a coarse vocabulary. The uniform law is stationary.

    Used for the contrast of {prf:ref}`prop-dd-reveal` on a discrete HMM ({prf:ref}`def-dd-discrete-hmm`).

    Parameters
    ----------
    K : int
        Hidden states, ``>= 3``.
    drift : float
        Probability of a step to each neighbour, in ``(0, 1/2]``.
    width : float
        Emission width in positions, ``> 0``.
    vocab : int, optional
        Number of tokens (arcs), ``1 <= vocab <= K``; default ``K`` (one token per position).

    Returns
    -------
    T : numpy.ndarray (K, K)
    E : numpy.ndarray (K, vocab)
    pi0 : numpy.ndarray (K,)

    Raises
    ------
    ValueError
        For ``K < 3``, ``drift`` outside ``(0, 1/2]``, non-positive ``width`` or ``vocab`` outside ``[1, K]``.
    """
    K = check_positive_int(K, "K", 3)
    drift = check_nonnegative(drift, "drift")
    if not 0 < drift <= 0.5:
        raise ValueError(f"drift must lie in (0, 0.5], got {drift}")
    width = check_nonnegative(width, "width")
    if width == 0:
        raise ValueError("width must be > 0")
    idx = np.arange(K)
    T = (1 - 2 * drift) * np.eye(K) + drift * (np.eye(K)[(idx + 1) % K] + np.eye(K)[(idx - 1) % K])
    dist = np.abs(idx[:, None] - idx[None, :])
    dist = np.minimum(dist, K - dist)
    E = np.exp(-dist ** 2 / (2 * width ** 2))
    E /= E.sum(axis=1, keepdims=True)
    if vocab is not None:
        vocab = check_positive_int(vocab, "vocab")
        if vocab > K:
            raise ValueError(f"vocab must be <= K = {K}, got {vocab}")
        E = E @ np.eye(vocab)[idx * vocab // K]
    return T, E, np.full(K, 1.0 / K)


def sample_discrete_hmm(T: Any, E: Any, pi0: Any, n_seq: int, length: int,
                        rng: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample hidden states and tokens of a discrete HMM ({prf:ref}`def-dd-discrete-hmm`).

    ``h_1 ~ pi0``, ``h_{t+1} | h_t ~ T[h_t]``, ``o_t | h_t ~ E[h_t]``.

    Parameters
    ----------
    T, E, pi0 : array_like
        Transition ``(K, K)``, emission ``(K, V)`` and initial ``(K,)`` probabilities.
    n_seq, length : int
        Number of sequences and their length.
    rng : int, numpy.random.Generator or numpy.random.SeedSequence

    Returns
    -------
    states, tokens : int arrays of shape (n_seq, length)

    Raises
    ------
    ValueError
        For non-stochastic ``T``/``E``, a bad ``pi0`` or non-positive sizes.
    """
    T, E, pi0 = _check_hmm(T, E, pi0)
    n_seq = check_positive_int(n_seq, "n_seq")
    length = check_positive_int(length, "length")
    g = np.random.default_rng(rng)
    cT, cE = np.cumsum(T, axis=1), np.cumsum(E, axis=1)
    cT[:, -1] = cE[:, -1] = 1.0
    K, V = E.shape
    h = np.empty((n_seq, length), dtype=np.int64)
    o = np.empty((n_seq, length), dtype=np.int64)
    c0 = np.cumsum(pi0)
    c0[-1] = 1.0
    h[:, 0] = np.minimum(np.searchsorted(c0, g.random(n_seq), side="right"), K - 1)
    for t in range(length):
        if t > 0:
            u = g.random(n_seq)[:, None]
            h[:, t] = np.minimum((u >= cT[h[:, t - 1]]).sum(axis=1), K - 1)
        u = g.random(n_seq)[:, None]
        o[:, t] = np.minimum((u >= cE[h[:, t]]).sum(axis=1), V - 1)
    return h, o


def forward_filter(T: Any, E: Any, pi0: Any, tokens: Any) -> tuple[np.ndarray, np.ndarray]:
    """Forward filtering: beliefs ``b_t(k) = P(h_t = k | o_1..o_t)`` and log-likelihoods ({prf:ref}`lem-dd-forward`).

    ``b_1 ∝ pi0 * E[:, o_1]``, ``b_t ∝ (b_{t-1} T) * E[:, o_t]``; ``log P(o_1..o_L) = sum_t log c_t`` with ``c_t``
    the normalisers.

    Parameters
    ----------
    T, E, pi0 : the HMM
    tokens : int array (n_seq, length) or (length,)

    Returns
    -------
    beliefs : (n_seq, length, K) (or (length, K) for 1-D tokens)
    loglik : (n_seq,) (or float)

    Raises
    ------
    ValueError
        For a bad HMM, tokens outside ``0..V-1`` or non-integer tokens, or an impossible token sequence.
    """
    T, E, pi0 = _check_hmm(T, E, pi0)
    o = check_finite_array(tokens, "tokens")
    single = o.ndim == 1
    if single:
        o = o[None]
    if o.ndim != 2 or o.size == 0:
        raise ValueError(f"tokens must be a non-empty 1-D or 2-D array, got shape {o.shape}")
    if np.any(o != np.round(o)) or o.min() < 0 or o.max() >= E.shape[1]:
        raise ValueError(f"tokens must be integers in 0..{E.shape[1] - 1}")
    beliefs, loglik = _forward(T, E, pi0, o.astype(np.int64), keep_all=True)
    if single:
        return beliefs[0], float(loglik[0])
    return beliefs, loglik


def _forward(T: np.ndarray, E: np.ndarray, pi0: np.ndarray, o: np.ndarray, keep_all: bool
             ) -> tuple[np.ndarray, np.ndarray]:
    """Core of :func:`forward_filter` on validated input; ``keep_all=False`` returns only the last belief."""
    n_seq, L = o.shape
    K = T.shape[0]
    ET = np.ascontiguousarray(E.T)  # row v = likelihood of token v under every state
    beliefs = np.empty((n_seq, L, K)) if keep_all else None
    loglik = np.zeros(n_seq)
    prior = np.broadcast_to(pi0, (n_seq, K))
    b = None
    for t in range(L):
        a = prior * ET[o[:, t]]
        c = a.sum(axis=1)
        if np.any(c <= 0):
            raise ValueError("token sequence has probability zero under the HMM")
        b = a / c[:, None]
        if keep_all:
            beliefs[:, t] = b
        loglik += np.log(c)
        prior = b @ T
    return (beliefs if keep_all else b), loglik


def next_token_probs(beliefs: Any, T: Any, E: Any) -> np.ndarray:
    """Next-token probabilities ``P(o_{t+1} | o_1..o_t) = b_t T E`` of the frozen model (last axis K -> V).

    Implements the next-token law of {prf:ref}`lem-dd-forward`: :math:`b_L T E`.

    Parameters
    ----------
    beliefs : array_like (..., K)
    T, E : array_like
        Transition ``(K, K)`` and emission ``(K, V)`` matrices.

    Returns
    -------
    numpy.ndarray (..., V)

    Raises
    ------
    ValueError
        If the last axis of ``beliefs`` is not ``K`` or the matrices are not stochastic.
    """
    T = _stochastic(T, "T")
    E = _stochastic(E, "E")
    b = check_finite_array(beliefs, "beliefs", nonnegative=True)
    if b.ndim == 0 or b.shape[-1] != T.shape[0] or E.shape[0] != T.shape[0]:
        raise ValueError(f"beliefs must end with an axis of length K={T.shape[0]}, got shape {b.shape}")
    return b @ T @ E


def belief_pool(T: Any, E: Any, pi0: Any, n_seq: int, length: int, rng: Any = 0, target: str = "state",
                features: str = "belief", labels: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """A finite population of (frozen-model features, one-hot next target) pairs from a discrete HMM.

    Each of ``n_seq`` independent sequences is observed for ``length`` tokens; the frozen "pre-trained" model is
    the exact forward filter (:func:`forward_filter`). Features: the filtered belief ``b_L`` (``"belief"``, length
    ``K``) or the next-token probabilities ``b_L T E`` (``"next_token"``, length ``V``). Target: one-hot of the next
    hidden state ``h_{L+1}`` (``"state"``) or of the next token ``o_{L+1}`` (``"token"``). With ``labels`` (an
    integer class per hidden state, for ``target="state"``) the target is the one-hot class of ``h_{L+1}`` (e.g. the
    sector of a ring position): a coarse downstream label.

    Implements the frozen filter of {prf:ref}`def-dd-discrete-hmm` and {prf:ref}`lem-dd-forward`.

    Parameters
    ----------
    T, E, pi0 : array_like
        The HMM (:func:`random_discrete_hmm`, :func:`ring_hmm`).
    n_seq, length : int
        Pool size and number of tokens read before the prediction.
    rng : int, numpy.random.Generator or numpy.random.SeedSequence
    target : {"state", "token"}
    features : {"belief", "next_token"}
    labels : array_like of int, optional
        One class per hidden state (``target="state"`` only).

    Returns
    -------
    phi : (n_seq, K or V) float array
    y : (n_seq, K or V) float one-hot array

    Raises
    ------
    ValueError
        For unknown ``target``/``features``, bad ``labels`` or invalid HMM/sizes.
    """
    if target not in ("state", "token"):
        raise ValueError(f"target must be 'state' or 'token', got {target!r}")
    if features not in ("belief", "next_token"):
        raise ValueError(f"features must be 'belief' or 'next_token', got {features!r}")
    T, E, pi0 = _check_hmm(T, E, pi0)
    length = check_positive_int(length, "length")
    h, o = sample_discrete_hmm(T, E, pi0, n_seq, length + 1, rng)
    bL, _ = _forward(T, E, pi0, o[:, :length], keep_all=False)
    phi = bL if features == "belief" else next_token_probs(bL, T, E)
    if labels is not None:
        if target != "state":
            raise ValueError("labels apply to target='state' only")
        lab = check_finite_array(labels, "labels", ndim=1, nonnegative=True)
        if lab.shape[0] != T.shape[0] or np.any(lab != np.round(lab)):
            raise ValueError(f"labels must be {T.shape[0]} non-negative integers (one per hidden state)")
        lab = lab.astype(np.int64)
        return phi, np.eye(int(lab.max()) + 1)[lab[h[:, length]]]
    nxt = h[:, length] if target == "state" else o[:, length]
    y = np.eye(T.shape[0] if target == "state" else E.shape[1])[nxt]
    return phi, y


class PoolSource(_Source):
    """The uniform law on a finite population of (frozen state ``phi``, target ``y``) pairs.

    All moments are exact for this law (computed with ``1/N``), so the head's population risk and the theory's
    noise and signal are exact for it; training sets are drawn from the pool with replacement.

    Parameters
    ----------
    phi : array_like (N, k)
    y : array_like (N, d)

    Raises
    ------
    ValueError
        For mismatched rows, fewer than 2 rows or NaN/inf.
    """

    def __init__(self, phi: Any, y: Any):
        P = check_finite_array(phi, "phi", ndim=2)
        Y = check_finite_array(y, "y", ndim=2)
        if P.shape[0] != Y.shape[0]:
            raise ValueError(f"phi and y must have the same number of rows, got {P.shape[0]} and {Y.shape[0]}")
        if P.shape[0] < 2:
            raise ValueError("the pool needs at least 2 rows")
        self.phi, self.y = P, Y
        self.mean_phi, self.mean_y = P.mean(axis=0), Y.mean(axis=0)
        Pc, Yc = P - self.mean_phi, Y - self.mean_y
        N = P.shape[0]
        self.cov_phi = Pc.T @ Pc / N
        self.cov_phi_y = Pc.T @ Yc / N
        self.cov_y = Yc.T @ Yc / N
        self._tensors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def sample_pairs(self, m: int, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``m`` rows drawn uniformly with replacement (torch, float64, uncentred)."""
        key = str(device)
        if key not in self._tensors:
            self._tensors[key] = (_t(self.phi, device), _t(self.y, device))
        P, Y = self._tensors[key]
        idx = torch.randint(P.shape[0], (m,), generator=gen, device=device)
        return P[idx], Y[idx]
