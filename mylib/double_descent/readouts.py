"""Frozen models of size ``p`` (read-outs of the frozen state) and the head-tuning problem :class:`HeadTask`."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._checks import check_finite_array, check_nonnegative, check_positive_int, check_unit_interval, is_torch
from ..linalg import haar_orthonormal, psd_solve
from .sources import _DTYPE, _Source, _covariance, _t
from .theory import deterministic_equivalent_risk, intercept_ridgeless_risk, ridgeless_risk, spectral_signal_weights

__all__ = ["reveal_increments", "spread_readout", "reveal_readout", "anisotropic_readout", "anisotropic_spectrum", "HeadTask"]

# ----------------------------------------------------------------------------------------------------------------
# Frozen models of size p (readouts)
def spread_readout(source: _Source, p: int, readout: float = 1.0, rng: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """The degenerate ("spread") frozen model of width ``p >= r`` ({prf:ref}`def-dd-model-size`).

    With ``M`` the whitening of the frozen state (rank ``r``) and ``O`` a random ``r x p`` matrix with orthonormal
    rows: ``W = c M O`` and ``R = I_p - c^2 O^T O``, so that ``Cov(x) = I_p`` exactly and the information about the
    state does not grow with ``p``: per-output signal ``c^2 ||C||_F^2 / d`` and noise ``total - signal`` for every
    ``p`` ({prf:ref}`prop-dd-population`).

    Parameters
    ----------
    source : GaussianSource or PoolSource
    p : int
        Width, ``>= r``.
    readout : float
        Quality ``c`` in ``[0, 1]``.
    rng : int, numpy.random.Generator or numpy.random.SeedSequence
        Draw of the random embedding ``O`` (:func:`mylib.linalg.haar_orthonormal`).

    Returns
    -------
    W : numpy.ndarray (k, p)
    R : numpy.ndarray (p, p)

    Raises
    ------
    ValueError
        If ``p < r`` or ``readout`` is outside ``[0, 1]``.
    """
    c = check_unit_interval(readout, "readout")
    M, _ = source.whitening()
    r = M.shape[1]
    p = check_positive_int(p, "p")
    if p < r:
        raise ValueError(f"a spread readout needs p >= r = {r} (the rank of the frozen state), got p = {p}")
    O = haar_orthonormal(p, r, rng).T
    return c * M @ O, np.eye(p) - c * c * O.T @ O


def _reveal_basis(source: _Source, order: str) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal basis of the whitened state in reveal order, and the squared signal of each direction."""
    if order == "signal":
        return source.signal_basis()
    if order != "variance":
        raise ValueError(f"order must be 'signal' or 'variance', got {order!r}")
    M, C = source.whitening()
    perm = np.argsort(np.linalg.norm(M, axis=0), kind="stable")  # |M_j| = 1/sqrt(eigenvalue): largest first
    U = np.eye(M.shape[1])[:, perm]
    return U, ((U.T @ C) ** 2).sum(axis=1)


def reveal_readout(source: _Source, p: int, readout: float = 1.0, order: str = "signal"
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The non-degenerate ("revealing") frozen model of width ``p <= r`` ({prf:ref}`prop-dd-reveal`).

    Exposes ``p`` whitened directions of the frozen state: with ``U`` an orthonormal basis of the whitened state,
    ``W = c M U[:, :p]`` and ``R = (1 - c^2) I_p``, so ``Cov(x) = I_p`` and the signal
    ``c^2 sum_{j<p} ||U_j^T C||^2 / d`` grows with ``p``. ``order="signal"``: ``U`` from the SVD of the whitened
    cross-covariance ``C`` (the directions that carry the most signal about this target first: an oracle order);
    ``order="variance"``: the principal directions of the frozen state, largest variance first -- a rank-``p``
    truncation of the state that a model of width ``p`` could keep without knowing the downstream task
    ({prf:ref}`def-dd-model-size`).

    Parameters
    ----------
    source : GaussianSource or PoolSource
    p : int
        Width, ``1 <= p <= r`` (the rank of the frozen state's covariance).
    readout : float
        Quality ``c`` in ``[0, 1]``.
    order : {"signal", "variance"}

    Returns
    -------
    W : numpy.ndarray (k, p)
    R : numpy.ndarray (p, p)

    Raises
    ------
    ValueError
        If ``p > r``, ``readout`` is outside ``[0, 1]`` or ``order`` is unknown.
    """
    c = check_unit_interval(readout, "readout")
    M, C = source.whitening()
    r = M.shape[1]
    p = check_positive_int(p, "p")
    if p > r:
        raise ValueError(f"a revealing readout needs p <= r = {r}, got p = {p}")
    U, _ = _reveal_basis(source, order)
    return c * M @ U[:, :p], (1 - c * c) * np.eye(p)


def reveal_increments(source: _Source, readout: float = 1.0, order: str = "signal") -> np.ndarray:
    """Per-output signal carried by each revealed direction of :func:`reveal_readout`, ``c^2 ||U_j^T C||^2 / d``
    (length ``r``, in reveal order); the input of :func:`reveal_risk`.

    Implements the increments of {prf:ref}`prop-dd-reveal`.

    Parameters
    ----------
    source : GaussianSource or PoolSource
    readout : float
        Quality ``c`` in ``[0, 1]``.
    order : {"signal", "variance"}
        As :func:`reveal_readout`.

    Returns
    -------
    numpy.ndarray (r,)

    Raises
    ------
    ValueError
        If ``readout`` is outside ``[0, 1]`` or ``order`` is unknown.
    """
    c = check_unit_interval(readout, "readout")
    _, s2 = _reveal_basis(source, order)
    return c * c * s2 / source.d


def _anisotropic_args(source: _Source, p: int, scale: float, emission_noise: float
                      ) -> tuple[float, float, int, int]:
    """Validated (scale, emission noise, p, k) of an anisotropic readout of width ``p >= k``."""
    scale = check_nonnegative(scale, "scale")
    su = check_nonnegative(emission_noise, "emission_noise")
    p = check_positive_int(p, "p")
    k = source.k
    if p < k:
        raise ValueError(f"an anisotropic readout needs p >= k = {k}, got p = {p}")
    return scale, su, p, k


def anisotropic_readout(source: _Source, p: int, scale: float = 1.0, emission_noise: float = 1.0,
                        rng: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """A frozen model of width ``p >= k`` without whitening: ``W = scale * O``, ``R = emission_noise * I_p``.

    ``O`` is a random ``k x p`` matrix with orthonormal rows. ``Cov(x) = scale^2 O^T Cov(phi) O + sigma_u^2 I`` has
    ``k`` spikes above a flat bulk, so the isotropic formula does not apply for ``p > n``; use
    :func:`deterministic_equivalent_risk` ({prf:ref}`thm-dd-deteq`). For ``p < n - 1``
    {prf:ref}`thm-dd-underparam` still holds exactly.

    Parameters
    ----------
    source : GaussianSource or PoolSource
    p : int
        Width, ``>= k``.
    scale : float
        ``w >= 0``.
    emission_noise : float
        :math:`\\sigma_u^2 \\ge 0`.
    rng : int, numpy.random.Generator or numpy.random.SeedSequence

    Returns
    -------
    W : numpy.ndarray (k, p)
    R : numpy.ndarray (p, p)

    Raises
    ------
    ValueError
        If ``p < k`` or ``scale``/``emission_noise`` is negative.
    """
    scale, su, p, k = _anisotropic_args(source, p, scale, emission_noise)
    return scale * haar_orthonormal(p, k, rng).T, su * np.eye(p)


def anisotropic_spectrum(source: _Source, p: int, scale: float = 1.0, emission_noise: float = 1.0
                         ) -> tuple[np.ndarray, np.ndarray, float]:
    """Spectrum, signal weights and noise of :func:`anisotropic_readout` without forming ``p x p`` matrices.

    By {prf:ref}`cor-dd-spread` (item 3) ``Sigma_x`` has eigenvalues ``w^2 lambda_j(Cov phi) + sigma_u^2``
    (eigenvectors ``O^T v_j``) and ``sigma_u^2`` (``p - k`` times, no signal), and the signal weight of spike ``j``
    is ``||v_j^T (w^2 Cov(phi) + sigma_u^2 I)^{-1} w Cov(phi, y)||^2 / d``. These are the inputs of
    :func:`deterministic_equivalent_risk`; the result does not depend on the random ``O``.

    Parameters
    ----------
    source, p, scale, emission_noise
        As :func:`anisotropic_readout`.

    Returns
    -------
    eigenvalues, signal_weights : numpy.ndarray (p,)
    noise : float

    Raises
    ------
    ValueError
        If ``p < k`` or ``scale``/``emission_noise`` is negative or zero noise makes ``Sigma_x`` singular.
    """
    w, su, p, k = _anisotropic_args(source, p, scale, emission_noise)
    lam, V = np.linalg.eigh(source.cov_phi)
    spikes = w * w * lam + su
    if np.any(spikes <= 0) or (p > k and su <= 0):
        raise ValueError("Sigma_x is singular: use emission_noise > 0")
    coef = V.T @ (w * source.cov_phi_y)  # v_j^T w Cov(phi, y)
    Bspk = coef / spikes[:, None]        # coordinates of B* on the spike eigenvectors
    weights = (Bspk ** 2).sum(axis=1) / source.d
    signal = float(np.sum(spikes * weights))
    eig = np.concatenate([spikes, np.full(p - k, su)])
    wts = np.concatenate([weights, np.zeros(p - k)])
    return eig, wts, max(source.total - signal, 0.0)


# ----------------------------------------------------------------------------------------------------------------
# The head-tuning problem at one model size
@dataclass
class _Population:
    Sigma_x: np.ndarray
    B_star: np.ndarray
    noise: float
    signal: float


class HeadTask:
    """Head tuning at model size ``p``: features ``x = (phi - E phi) W + u``, ``u ~ N(0, R)``, target ``y - E y``.

    Exact population quantities ({prf:ref}`prop-dd-population`): ``Sigma_x = W^T Cov(phi) W + R``,
    ``B* = Sigma_x^+ W^T Cov(phi, y)``, per-output ``signal = tr(B*^T Sigma_x B*)/d`` and
    ``noise = tr(Cov y)/d - signal``. The population risk of any head ``B`` is
    ``noise + tr((B - B*)^T Sigma_x (B - B*)) / d`` ({prf:ref}`lem-dd-decomposition`).

    Parameters
    ----------
    source : GaussianSource or PoolSource
    W : array_like (k, p)
    R : float or array_like (p, p)

    Raises
    ------
    ValueError
        For shapes that do not match the source, or a non-PSD ``R``.
    """

    def __init__(self, source: _Source, W: Any, R: Any = 0.0):
        if not isinstance(source, _Source):
            raise ValueError(f"source must be a GaussianSource or PoolSource, got {type(source).__name__}")
        Wn = check_finite_array(W, "W", ndim=2)
        if Wn.shape[0] != source.k:
            raise ValueError(f"W must have {source.k} rows (the frozen-state dimension), got shape {Wn.shape}")
        self.source, self.W = source, Wn
        self.p, self.d = Wn.shape[1], source.d
        self.R = _covariance(R, self.p, "R", check_psd=False)
        s, V = np.linalg.eigh(self.R)
        if s.min() < -1e-10 * max(1.0, np.abs(s).max()):
            raise ValueError("R must be positive semi-definite")
        self._R_eig = (np.clip(s, 0, None), V)
        Sx = Wn.T @ source.cov_phi @ Wn + self.R
        Sxy = Wn.T @ source.cov_phi_y
        Sx_sym = (Sx + Sx.T) / 2
        B = psd_solve(Sx_sym, Sxy)
        signal = float(np.trace(B.T @ Sx @ B)) / self.d
        self.population = _Population(Sx_sym, B, max(source.total - signal, 0.0), signal)
        self._isotropic = self.isotropic()
        self._cache: dict[str, tuple] = {}

    @property
    def noise(self) -> float:
        return self.population.noise

    @property
    def signal(self) -> float:
        return self.population.signal

    @property
    def B_star(self) -> np.ndarray:
        return self.population.B_star

    @property
    def Sigma_x(self) -> np.ndarray:
        return self.population.Sigma_x

    def isotropic(self, atol: float = 1e-8) -> bool:
        """True when ``Sigma_x = I_p`` (then :func:`ridgeless_risk` is the exact theory for Gaussian sources)."""
        return bool(np.allclose(self.Sigma_x, np.eye(self.p), atol=atol))

    def theory(self, n: int, ridge: float = 0.0, intercept: bool = False) -> float:
        """Theory curve at this size.

        ``ridge == 0``: :func:`ridgeless_risk` when isotropic (exact for Gaussian sources), and for any covariance
        when ``p <= n + 1`` ({prf:ref}`thm-dd-underparam`, {prf:ref}`prop-dd-peak`); otherwise, and for
        ``ridge > 0``, :func:`deterministic_equivalent_risk` (asymptotic, {prf:ref}`thm-dd-deteq`).
        ``intercept=True`` (heads with an intercept, ``ridge == 0`` only): :func:`intercept_ridgeless_risk` when
        isotropic or ``p <= n`` ({prf:ref}`prop-dd-intercept`).

        Parameters
        ----------
        n : int
            Training samples.
        ridge : float
            ``>= 0``.
        intercept : bool
            Heads with an intercept.

        Returns
        -------
        float
            The expected risk per output (``inf`` at the peak).

        Raises
        ------
        ValueError
            For ``intercept=True`` with a ridge, or with anisotropic features above ``p = n`` (no formula: simulate).
        """
        n = check_positive_int(n, "n")
        ridge = check_nonnegative(ridge, "ridge")
        if intercept:
            if ridge != 0 or not (self._isotropic or self.p <= n):
                raise ValueError("the intercept theory covers the min-norm head (ridge 0) with isotropic features "
                                 "or p <= n only")
            return float(intercept_ridgeless_risk(self.p, n, self.noise, self.signal))
        if ridge == 0 and (self._isotropic or self.p <= n + 1):
            # exact: any covariance below the peak and at the peak (prop-dd-peak), isotropic everywhere
            return float(ridgeless_risk(self.p, n, self.noise, self.signal))
        s, w = spectral_signal_weights(self.Sigma_x, self.B_star)
        return float(deterministic_equivalent_risk(s, w, n, self.noise, ridge=ridge))

    def _noise_factor(self) -> tuple[float, np.ndarray, np.ndarray]:
        """``R^{1/2} = a I + V diag(b) V^T`` with ``V`` of few columns when ``R`` is identity plus low rank."""
        s, V = self._R_eig
        base = float(np.median(s))
        off = np.abs(s - base) > 1e-12 * max(1.0, base)
        return math.sqrt(base), V[:, off], np.sqrt(s[off]) - math.sqrt(base)

    def _device_tensors(self, device) -> tuple:
        key = str(device)
        if key not in self._cache:
            s = self.source
            a, V, b = self._noise_factor()
            self._cache[key] = (_t(self.W, device), (a, _t(V, device), _t(b, device)), _t(s.mean_phi, device),
                                _t(s.mean_y, device), _t(self.Sigma_x, device), _t(self.B_star, device))
        return self._cache[key]

    def sample(self, n: int, reps: int, gen: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``reps`` independent training sets of size ``n``: ``X`` (reps, n, p), ``Y`` (reps, n, d).

        Parameters
        ----------
        n, reps : int
        gen : torch.Generator
            On ``device``.
        device : torch.device

        Returns
        -------
        X : torch.Tensor (reps, n, p)
        Y : torch.Tensor (reps, n, d)
            Centred with the population means ({prf:ref}`def-dd-head`).

        """
        W, (a, V, b), mphi, my, _, _ = self._device_tensors(device)
        phi, y = self.source.sample_pairs(n * reps, gen, device)
        g = torch.randn(n * reps, self.p, generator=gen, dtype=_DTYPE, device=device)
        u = a * g + ((g @ V) * b) @ V.T if V.shape[1] else a * g
        X = (phi - mphi) @ W + u
        return X.reshape(reps, n, self.p), (y - my).reshape(reps, n, self.d)

    def risk(self, B_hat: torch.Tensor) -> torch.Tensor:
        """Exact population risk per output of head(s) ``B_hat`` (p, d) or (reps, p, d).

        Parameters
        ----------
        B_hat : torch.Tensor
            ``(p, d)`` or ``(reps, p, d)``, float64.

        Returns
        -------
        torch.Tensor
            ``()`` or ``(reps,)``: :math:`\\sigma^2 + \\mathrm{tr}(D^\\top \\Sigma_x D)/d`, :math:`D = \\hat B - B_\\star`
            ({prf:ref}`lem-dd-decomposition`).

        """
        _, _, _, _, Sx, Bs = self._device_tensors(B_hat.device)
        D = B_hat - Bs
        if self._isotropic:
            return self.noise + (D * D).sum(dim=(-2, -1)) / self.d
        return self.noise + (D * (Sx @ D)).sum(dim=(-2, -1)) / self.d
