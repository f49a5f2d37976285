"""Part II: the mathematics of contrastive continual learning (Co2L, CILA, the bound).

This module holds the mathematics of {doc}`../book/part2_contrastive_cl`: the losses in the theory's (unscaled)
units, both sides of the bound and their margins, and CILA's coefficients. Co2L's scaled training objective is
:mod:`mylib.contrastive.co2l`, the replay buffer :mod:`mylib.contrastive.buffer`, the trainer and the linear probe
:mod:`mylib.contrastive.continual`.

Conventions
-----------
Representations are rows :math:`z_i` of a matrix :math:`Z` (one row per sample). Every function normalises the rows
first (dividing by the largest entry, then by the Euclidean norm, so any representable magnitude works), so all
similarities :math:`s_{ij} = \\langle z_i, z_j \\rangle` lie in :math:`[-1, 1]`. For an anchor :math:`i` the
*candidates* are all other rows :math:`j \\ne i` of the same matrix, and

.. math:: q^{T}_{ij}(Z) = \\frac{e^{s_{ij}/T}}{\\sum_{k \\ne i} e^{s_{ik}/T}}

is the softmax of its similarities at temperature :math:`T` ({prf:ref}`def-ccl-softmax`). The positives
:math:`P(i)` of :math:`i` are the candidates with the same label. Bad input raises: ``TypeError`` for complex
arrays, non-boolean masks and non-real parameters, ``ValueError`` (naming the argument) for bad values.

Contents
--------
* losses: :func:`supcon_per_anchor`, :func:`asym_supcon_loss` ({prf:ref}`def-ccl-asym-supcon`),
  :func:`distillation_per_anchor`, :func:`relation_distillation_loss` ({prf:ref}`def-ccl-ird`),
  :func:`max_contrastive_loss` ({prf:ref}`rem-ccl-sharper`);
* the constants of the bound: :func:`transfer_log_weights` ({prf:ref}`lem-ccl-transfer`),
  :func:`consecutive_bound_per_anchor` and :func:`consecutive_margin_per_anchor` ({prf:ref}`lem-ccl-consecutive`),
  :func:`bound_terms`, :func:`continual_bound` and :func:`bound_margins` ({prf:ref}`thm-ccl-bound`);
* the coefficients: :func:`descent_check` ({prf:ref}`prop-ccl-descent`), :func:`buffer_rho`
  ({prf:ref}`asm-ccl-buffer`), :func:`gamma_bound` ({prf:ref}`thm-ccl-gamma`), :func:`cila_lambdas`
  ({prf:ref}`def-ccl-cila`).

The image augmentations of Part II's views live in :mod:`mylib.nn.augment` (:class:`~mylib.nn.augment.Augment`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import (as_tensor, check_finite_array, check_labels, check_nonnegative, check_not_complex,
                       check_positive_int, check_positive_real, is_torch, to_output)
from .buffer import ClassBalancedBuffer, task_classes  # noqa: F401  (moved; kept importable from here)

__all__ = [
    "supcon_per_anchor", "asym_supcon_loss", "distillation_per_anchor", "relation_distillation_loss",
    "transfer_log_weights", "consecutive_bound_per_anchor", "consecutive_margin_per_anchor", "max_contrastive_loss",
    "BoundTerms", "bound_terms", "continual_bound", "bound_margins", "buffer_rho", "gamma_bound", "descent_check",
    "cila_lambdas",
]


# --------------------------------------------------------------------------- validation helpers
def _temperature(value: Any, name: str) -> float:
    """A temperature or other positive parameter: a finite real ``> 0`` (bools and strings are TypeErrors)."""
    return check_positive_real(value, name)


def _embeddings(z: Any, name: str, min_rows: int = 2) -> torch.Tensor:
    """Validate a representation matrix and return its rows normalised to unit length.

    Each row is divided by its largest absolute entry before the Euclidean normalisation, so rows of any
    magnitude representable in the dtype normalise correctly (no overflow of the squared norm at 1e200, no
    underflow to an "all-zero row" at 1e-25 in float32). The scale is detached: the result, and its gradient, are
    those of :math:`z_i / \\lVert z_i \\rVert`.
    """
    check_not_complex(z, name)
    t = as_tensor(z, name, ndim=2)
    if t.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows (samples), got {t.shape[0]}")
    if t.shape[1] < 1:
        raise ValueError(f"{name} needs at least one column, got shape {tuple(t.shape)}")
    scale = t.detach().abs().amax(dim=1, keepdim=True)
    if bool((scale == 0).any()):
        raise ValueError(f"{name} has an all-zero row, which cannot be normalised")
    return F.normalize(t / scale, dim=1)


def _labels(labels: Any, n: int, device: torch.device, name: str = "labels") -> torch.Tensor:
    """Integer class labels of length ``n`` on ``device`` (validated once, by :func:`mylib._checks.check_labels`)."""
    return check_labels(labels, n, name, device)


def _mask(mask: Any, n: int, device: torch.device, name: str) -> torch.Tensor:
    """A boolean mask of length ``n`` (None: all rows). Indices and weights are refused, not cast to bool."""
    if mask is None:
        return torch.ones(n, dtype=torch.bool, device=device)
    check_not_complex(mask, name)
    m = mask.detach() if is_torch(mask) else torch.from_numpy(np.asarray(mask))
    if m.dtype != torch.bool:
        raise TypeError(f"{name} must be a boolean mask of length {n}, got dtype {m.dtype} (indices or weights are "
                        f"not accepted: build the mask with a comparison, e.g. np.isin(labels, task_classes))")
    if m.ndim != 1 or m.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D boolean mask of length {n}, got shape {tuple(m.shape)}")
    return m.to(device)


def _real_array(x: Any, name: str, **kw) -> np.ndarray:
    """:func:`check_finite_array` after refusing complex input with a TypeError naming ``name``."""
    check_not_complex(x, name)
    return check_finite_array(x, name, **kw)


def _log_softmax_offdiag(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """Row-wise log q^T_ij over candidates j != i; the diagonal is set to 0 (never used)."""
    n = z.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = (z @ z.T) / temperature
    logq = logits.masked_fill(eye, float("-inf")).log_softmax(dim=1)
    return logq.masked_fill(eye, 0.0)


def _positives(lab: torch.Tensor) -> torch.Tensor:
    n = lab.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=lab.device)
    return (lab[:, None] == lab[None, :]) & ~eye


# --------------------------------------------------------------------------- losses
def _supcon_core(z: torch.Tensor, lab: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-anchor SupCon loss for unit-norm rows ``z`` (no validation; used inside training loops)."""
    logq = _log_softmax_offdiag(z, temperature)
    pos = _positives(lab)
    npos = pos.sum(1)
    valid = npos > 0
    loss = -(logq * pos).sum(1) / npos.clamp(min=1)
    return torch.where(valid, loss, torch.zeros_like(loss)), valid


def _ird_core(zs: torch.Tensor, zt: torch.Tensor, ks: float, kt: float) -> torch.Tensor:
    """Per-anchor relation-distillation cross-entropy for unit-norm rows (teacher detached; no validation)."""
    logq = _log_softmax_offdiag(zs, ks)
    eye = torch.eye(zs.shape[0], dtype=torch.bool, device=zs.device)
    pi = _log_softmax_offdiag(zt.detach(), kt).exp().masked_fill(eye, 0.0)
    return -(pi * logq).sum(1)


def supcon_per_anchor(z: Any, labels: Any, temperature: float = 0.5):
    """Per-anchor supervised contrastive loss and a mask of the anchors that have a positive.

    For anchor ``i`` with positives ``P(i)`` (same label, ``j != i``)

    .. math:: \\ell^{T}(i) = -\\frac{1}{|P(i)|} \\sum_{p \\in P(i)} \\log q^{T}_{ip},

    the summand of {prf:ref}`def-ccl-asym-supcon` (SupCon of Khosla et al., 2020).
    Anchors without a positive get loss 0 and ``valid = False``.

    Parameters
    ----------
    z : (n, d) array or tensor
        Representations, one row per sample (rows are normalised here; an all-zero row is an error).
    labels : (n,) integer array or tensor
        Class labels (>= 0).
    temperature : float
        :math:`T > 0` (Co2L: :math:`\\tau = 0.5`).

    Returns
    -------
    loss, valid : tensors of shape (n,) (numpy arrays for numpy input)
        The per-anchor losses and the mask of anchors that have a positive.

    Raises
    ------
    TypeError
        For complex input or a temperature that is not a real number (e.g. a string or a bool).
    ValueError
        For NaN/inf, fewer than two rows, an all-zero row, non-integer, negative or mismatched labels,
        or a temperature that is not ``> 0``.
    """
    numpy_out = not is_torch(z)
    temperature = _temperature(temperature, "temperature")
    zt = _embeddings(z, "z")
    lab = _labels(labels, zt.shape[0], zt.device)
    loss, valid = _supcon_core(zt, lab, temperature)
    if numpy_out:
        return loss.detach().cpu().numpy(), valid.cpu().numpy()
    return loss, valid


def asym_supcon_loss(z: Any, labels: Any, anchor_mask: Any = None, temperature: float = 0.5):
    """Asymmetric supervised contrastive loss of Co2L, {prf:ref}`def-ccl-asym-supcon`.

    .. math:: L_{\\mathrm{con}} = \\frac{1}{|A|} \\sum_{i \\in A} -\\frac{1}{|P(i)|}
              \\sum_{p \\in P(i)} \\log \\frac{e^{s_{ip}/\\tau}}{\\sum_{k \\ne i} e^{s_{ik}/\\tau}},

    where the anchors ``A`` are the rows selected by ``anchor_mask`` (Co2L: the current task's
    samples) that have at least one positive; every other row (e.g. replay-buffer samples)
    is still a candidate, i.e. a negative in the denominators. With no valid anchor the loss
    is ``0`` (connected to the graph for torch input).

    This is the theory's unscaled loss. Co2L's code multiplies it by :math:`\\tau/0.07` and averages over all
    rows of the batch ({prf:ref}`rem-ccl-scale`); that objective is :func:`mylib.contrastive.co2l_loss`.

    Parameters
    ----------
    z, labels : (n, d) and (n,) arrays or tensors
        The batch (current task and buffer rows) and its class labels, as for :func:`supcon_per_anchor`.
    anchor_mask : (n,) booleans, optional
        The anchors :math:`A` (default: every row). Indices or weights are refused, not cast.
    temperature : float
        :math:`\\tau > 0`.

    Returns
    -------
    float or 0-d tensor
        A float for numpy input, a 0-d tensor (autograd intact) for torch input.

    Raises
    ------
    TypeError
        For a non-boolean ``anchor_mask``, and as :func:`supcon_per_anchor`.
    ValueError
        For a mask of the wrong length, and as :func:`supcon_per_anchor`.
    """
    numpy_out = not is_torch(z)
    if numpy_out:
        z = torch.as_tensor(_real_array(z, "z", ndim=2))
    loss, valid = supcon_per_anchor(z,
                                    labels, temperature)
    m = _mask(anchor_mask, loss.shape[0], loss.device, "anchor_mask") & valid
    out = loss[m].mean() if bool(m.any()) else loss.sum() * 0.0
    return to_output(out, numpy_out)


def distillation_per_anchor(z_student: Any, z_teacher: Any, student_temperature: float = 0.2,
                            teacher_temperature: float = 0.01):
    """Per-anchor instance-wise relation distillation cross-entropy, {prf:ref}`def-ccl-ird`.

    .. math:: \\mathrm{CE}_i = -\\sum_{j \\ne i} \\pi_{ij} \\log q^{\\kappa}_{ij}(Z_{\\mathrm{student}}),
              \\qquad \\pi_{ij} = q^{\\kappa^*}_{ij}(Z_{\\mathrm{teacher}}),

    with the teacher detached (no gradient).

    Parameters
    ----------
    z_student, z_teacher : (n, d) arrays or tensors
        Representations of the same samples under the student and the (frozen) teacher.
    student_temperature, teacher_temperature : float
        :math:`\\kappa > 0` and :math:`\\kappa^* > 0` (Co2L: 0.2 and 0.01).

    Returns
    -------
    (n,) tensor or array
        :math:`\\mathrm{CE}_i` per anchor (numpy for numpy input).

    Raises
    ------
    TypeError
        For complex input or non-real temperatures.
    ValueError
        If the two matrices differ in their number of rows, for NaN/inf or all-zero rows, or temperatures
        that are not ``> 0``.
    """
    numpy_out = not is_torch(z_student)
    ks = _temperature(student_temperature, "student_temperature")
    kt = _temperature(teacher_temperature, "teacher_temperature")
    zs = _embeddings(z_student, "z_student")
    zt = _embeddings(z_teacher, "z_teacher").detach().to(device=zs.device, dtype=zs.dtype)
    if zs.shape[0] != zt.shape[0]:
        raise ValueError(f"z_student and z_teacher must have the same number of rows, got {zs.shape[0]} "
                         f"and {zt.shape[0]}")
    ce = _ird_core(zs, zt, ks, kt)
    return ce.detach().cpu().numpy() if numpy_out else ce


def relation_distillation_loss(z_student: Any, z_teacher: Any, student_temperature: float = 0.2,
                               teacher_temperature: float = 0.01, anchor_mask: Any = None):
    """Instance-wise relation distillation (IRD) loss of Co2L, {prf:ref}`def-ccl-ird`.

    .. math:: L_{\\mathrm{dis}} = \\frac{1}{|A|} \\sum_{i \\in A} \\mathrm{CE}_i,

    the mean of :func:`distillation_per_anchor` over the anchors in ``anchor_mask`` (default: all rows, as in Co2L).

    Parameters
    ----------
    z_student, z_teacher : (n, d) arrays or tensors
        Representations under the student and the teacher.
    student_temperature, teacher_temperature : float
        :math:`\\kappa > 0`, :math:`\\kappa^* > 0`.
    anchor_mask : (n,) booleans, optional
        Rows to average over (indices or weights are refused).

    Returns
    -------
    float or 0-d tensor
        :math:`L_{\\mathrm{dis}}`: a Python float when ``z_student`` is numpy, else a 0-d tensor with its graph.

    Raises
    ------
    TypeError
        For complex input, non-real temperatures or a non-boolean ``anchor_mask``.
    ValueError
        As :func:`distillation_per_anchor`, or if ``anchor_mask`` selects no row.
    """
    numpy_out = not is_torch(z_student)
    if numpy_out:
        z_student = torch.as_tensor(_real_array(z_student, "z_student", ndim=2))
    ce = distillation_per_anchor(z_student, z_teacher, student_temperature, teacher_temperature)
    m = _mask(anchor_mask, ce.shape[0], ce.device, "anchor_mask")
    if not bool(m.any()):
        raise ValueError("anchor_mask selects no anchor")
    return to_output(ce[m].mean(), numpy_out)


def max_contrastive_loss(n_candidates: int, temperature: float) -> float:
    """Largest value of any per-anchor contrastive loss, :math:`\\ell_{\\max} = 2/T + \\log n`.

    On the unit sphere :math:`s_{ik} - s_{ip} \\le 2`, so :math:`-\\log q_{ip} \\le \\log(n e^{2/T})`; the
    *trivial ceiling* against which the bound of {prf:ref}`thm-ccl-bound` is judged ({prf:ref}`rem-ccl-sharper`).

    Parameters
    ----------
    n_candidates : int
        Number of candidates :math:`n \\ge 1` of an anchor.
    temperature : float
        :math:`T > 0`.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        For a non-real temperature.
    ValueError
        For a non-positive ``n_candidates`` or temperature.
    """
    n = check_positive_int(n_candidates, "n_candidates")
    return 2.0 / _temperature(temperature, "temperature") + math.log(n)


# --------------------------------------------------------------------------- constants of the bound
def transfer_log_weights(z_teacher: Any, labels: Any, teacher_temperature: float = 0.01):
    """Log of the transfer weights of {prf:ref}`lem-ccl-transfer`,

    .. math:: \\log \\omega_i = -\\log |P(i)| - \\min_{p \\in P(i)} \\log \\pi_{ip},
              \\qquad \\pi_{ip} = q^{\\kappa^*}_{ip}(Z_{\\mathrm{teacher}}),

    i.e. ``omega_i = 1 / (|P(i)| min_p pi_ip)``: how badly the teacher's relation distribution
    covers the anchor's least-favoured positive. ``omega_i >= 1``; it is ``exp(loss)`` in the case
    of one positive. Computed in log space (with a sharp teacher ``omega`` overflows a float).

    Parameters
    ----------
    z_teacher : (n, d) array or tensor
        The teacher's representations.
    labels : (n,) integer array or tensor
    teacher_temperature : float
        :math:`\\kappa^* > 0`.

    Returns
    -------
    log_omega, valid : arrays (tensors for torch input) of shape (n,)
        Anchors without a positive have ``log_omega = nan`` and ``valid = False``.

    Raises
    ------
    TypeError
        For complex input or a non-real temperature.
    ValueError
        For NaN/inf, all-zero rows, invalid labels or a temperature that is not ``> 0``.
    """
    numpy_out = not is_torch(z_teacher)
    kt = _temperature(teacher_temperature, "teacher_temperature")
    zt = _embeddings(z_teacher, "z_teacher").detach()
    lab = _labels(labels, zt.shape[0], zt.device)
    logpi = _log_softmax_offdiag(zt.double(), kt)
    pos = _positives(lab)
    npos = pos.sum(1)
    valid = npos > 0
    min_log = torch.where(pos, logpi, torch.full_like(logpi, float("inf"))).min(dim=1).values
    log_omega = -torch.log(npos.clamp(min=1).double()) - min_log
    log_omega = torch.where(valid, log_omega, torch.full_like(log_omega, float("nan")))
    if numpy_out:
        return log_omega.cpu().numpy(), valid.cpu().numpy()
    return log_omega, valid


def _check_temperatures(tau: float, kappa: float, kappa_star: float) -> tuple[float, float, float]:
    tau = _temperature(tau, "tau")
    kappa = _temperature(kappa, "kappa")
    kappa_star = _temperature(kappa_star, "kappa_star")
    if kappa > tau:
        raise ValueError(f"the bound needs the student distillation temperature kappa <= tau, got kappa={kappa} "
                         f"> tau={tau}")
    return tau, kappa, kappa_star


def consecutive_bound_per_anchor(z_new: Any, z_old: Any, labels: Any, tau: float = 0.5, kappa: float = 0.2,
                                 kappa_star: float = 0.01) -> np.ndarray:
    """Right-hand side of the one-step inequality of {prf:ref}`lem-ccl-consecutive` for every anchor,

    .. math:: \\ell^{\\tau}(f_{\\mathrm{new}}; i) \\le \\Bigl(1 - \\frac{\\kappa}{\\tau}\\Bigr)\\log n
              + \\frac{\\kappa}{\\tau}\\, \\omega_i(f_{\\mathrm{old}})\\,
              \\mathrm{CE}\\bigl(\\pi_i(f_{\\mathrm{old}}), q^{\\kappa}_i(f_{\\mathrm{new}})\\bigr),

    with ``n`` the number of candidates. :func:`consecutive_margin_per_anchor` gives the margin in log space.

    Parameters
    ----------
    z_new, z_old : (n, d) arrays or tensors
        Representations of the same samples under the new model (student) and the old one (teacher).
    labels : (n,) integer array or tensor
    tau, kappa, kappa_star : float
        Contrastive, student and teacher temperatures, ``0 < kappa <= tau`` ({prf:ref}`asm-ccl-temperatures`).

    Returns
    -------
    (n,) float64 array
        The right side per anchor (``inf`` only if the true value overflows); ``nan`` for anchors without a
        positive.

    Raises
    ------
    TypeError
        For complex input or non-real temperatures.
    ValueError
        For NaN/inf, mismatched rows, invalid labels, temperatures that are not ``> 0``, or ``kappa > tau``.
    """
    tau, kappa, kappa_star = _check_temperatures(tau, kappa, kappa_star)
    zn = torch.as_tensor(_real_array(z_new, "z_new", ndim=2))
    zo = torch.as_tensor(_real_array(z_old, "z_old", ndim=2))
    if zn.shape[0] != zo.shape[0]:
        raise ValueError(f"z_new and z_old must have the same number of rows, got {zn.shape[0]} and {zo.shape[0]}")
    ce = distillation_per_anchor(zn.double(), zo.double(), kappa, kappa_star).detach().numpy()
    log_omega, valid = transfer_log_weights(zo.double(), labels, kappa_star)
    log_omega = log_omega.numpy()
    n = zn.shape[0] - 1
    with np.errstate(over="ignore"):
        rhs = (1 - kappa / tau) * math.log(n) + (kappa / tau) * np.exp(log_omega) * ce
    return np.where(valid.numpy(), rhs, np.nan)



def consecutive_margin_per_anchor(z_new: Any, z_old: Any, labels: Any, tau: float = 0.5, kappa: float = 0.2,
                                  kappa_star: float = 0.01) -> np.ndarray:
    """Per-anchor margin :math:`\\log_{10}\\mathrm{RHS} - \\log_{10}\\mathrm{LHS}` of {prf:ref}`lem-ccl-consecutive`.

    The right side is that of :func:`consecutive_bound_per_anchor`, evaluated in log space (no overflow with a
    sharp teacher), the left side :math:`\\ell^{\\tau}(f_{\\mathrm{new}}; i)`. A margin near 0 means the inequality is
    nearly tight for that anchor (as in the one-negative case of {ref}`ex-ccl-one-negative`).

    Parameters
    ----------
    z_new, z_old : (n, d) arrays or tensors
        Representations of the same samples under the student (new model) and the teacher (old model).
    labels : (n,) ints
    tau, kappa, kappa_star : float
        Contrastive, student and teacher temperatures, ``0 < kappa <= tau``.

    Returns
    -------
    (n,) float64 array
        ``nan`` for anchors without a positive, ``+inf`` where the left side is 0.

    Raises
    ------
    TypeError
        For complex input or non-real temperatures.
    ValueError
        For NaN/inf, mismatched rows, invalid labels, or ``kappa > tau``.
    """
    tau, kappa, kappa_star = _check_temperatures(tau, kappa, kappa_star)
    zn = torch.as_tensor(_real_array(z_new, "z_new", ndim=2)).double()
    zo = torch.as_tensor(_real_array(z_old, "z_old", ndim=2)).double()
    if zn.shape[0] != zo.shape[0]:
        raise ValueError(f"z_new and z_old must have the same number of rows, got {zn.shape[0]} and {zo.shape[0]}")
    ce = distillation_per_anchor(zn, zo, kappa, kappa_star).detach().numpy()
    log_omega, valid = transfer_log_weights(zo, labels, kappa_star)
    ell, _ = supcon_per_anchor(zn, labels, tau)
    n = zn.shape[0] - 1
    c0 = (1 - kappa / tau) * math.log(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rhs = np.logaddexp(math.log(c0) if c0 > 0 else -np.inf,
                               math.log(kappa / tau) + log_omega.numpy() + np.log(ce))
        m = (log_rhs - np.log(ell.detach().numpy())) / math.log(10)
    return np.where(valid.numpy(), m, np.nan)

@dataclass
class BoundTerms:
    """Losses logged at the end of every task on a fixed probe set, the inputs of {prf:ref}`thm-ccl-bound`.

    Indices are 0-based: ``t`` is the model ``f_{t+1}`` after task ``t+1``, ``s`` the task of the anchors.

    Attributes
    ----------
    phi : (T, T) array
        ``phi[t, s]`` = contrastive loss of model ``t`` on the anchors of task ``s`` (all probe rows
        are candidates).
    dis : (T, T) array
        ``dis[t, s]`` = distillation cross-entropy from teacher ``t-1`` to student ``t`` on task ``s``
        (``nan`` for ``t = 0``).
    self_dis : (T, T) array
        ``self_dis[t, s]`` = the same with the teacher as student (the value at the start of task ``t``).
    log_omega_max : (T, T) array
        ``max_{i in task s} log omega_i(f_{t-1})`` (``nan`` for ``t = 0``).
    per_anchor : dict
        Per-anchor arrays ``ell`` (T, m), ``ce`` (T, m), ``self_ce`` (T, m), ``log_omega`` (T, m) for the
        sample-wise form of {prf:ref}`rem-ccl-sharper`.
    task_of_anchor : (m,) int array
    n_candidates : int
    tau, kappa, kappa_star : float
    """

    phi: np.ndarray
    dis: np.ndarray
    self_dis: np.ndarray
    log_omega_max: np.ndarray
    per_anchor: dict[str, np.ndarray]
    task_of_anchor: np.ndarray
    n_candidates: int
    tau: float
    kappa: float
    kappa_star: float

    @property
    def num_tasks(self) -> int:
        return int(self.phi.shape[0])


def bound_terms(embeddings: Sequence[Any], labels: Any, task_of_anchor: Any, tau: float = 0.5,
                kappa: float = 0.2, kappa_star: float = 0.01) -> BoundTerms:
    """Evaluate every loss that {prf:ref}`thm-ccl-bound` needs from the probe-set representations.

    Parameters
    ----------
    embeddings : sequence of T arrays (m, d)
        ``embeddings[t]`` are the (projected) representations of the same ``m`` probe samples under
        the model after task ``t+1``.
    labels : (m,) ints
    task_of_anchor : (m,) ints in ``0..T-1``
        The task each probe sample belongs to (every task must have at least two samples of some class).
    tau, kappa, kappa_star : float
        Contrastive, student and teacher distillation temperatures (``kappa <= tau``).

    Every anchor uses all ``m`` probe samples as candidates ({prf:ref}`def-ccl-probe`), so ``phi[t, t]`` is *not*
    the loss task ``t+1`` trained on: samples of later tasks are among its negatives.

    Returns
    -------
    BoundTerms
        The probe-set losses :math:`\\Phi_t^s`, distillation losses, their values at the start of each task, the
        transfer weights and the per-anchor arrays.

    Raises
    ------
    TypeError
        For complex input or non-real temperatures.
    ValueError
        For mismatched shapes, NaN/inf, a task id outside ``0..T-1``, a task without anchors that have
        a positive, or ``kappa > tau``.
    """
    tau, kappa, kappa_star = _check_temperatures(tau, kappa, kappa_star)
    if len(embeddings) == 0:
        raise ValueError("embeddings is empty: pass one representation matrix per task")
    Z = [torch.as_tensor(_real_array(e, f"embeddings[{t}]", ndim=2)) for t, e in enumerate(embeddings)]
    m = Z[0].shape[0]
    for t, e in enumerate(Z):
        if e.shape[0] != m:
            raise ValueError(f"embeddings[{t}] has {e.shape[0]} rows, embeddings[0] has {m}")
    T = len(Z)
    task = _real_array(task_of_anchor, "task_of_anchor", ndim=1)
    if task.shape[0] != m:
        raise ValueError(f"task_of_anchor has {task.shape[0]} entries but there are {m} probe samples")
    if not np.all(task == np.round(task)) or task.min() < 0 or task.max() > T - 1:
        raise ValueError(f"task_of_anchor must hold integers in 0..{T - 1}")
    task = task.astype(int)
    lab = _labels(labels, m, torch.device("cpu")).numpy()

    ell = np.zeros((T, m))
    ce = np.full((T, m), np.nan)
    self_ce = np.full((T, m), np.nan)
    log_om = np.full((T, m), np.nan)
    valid = None
    for t in range(T):
        l, v = supcon_per_anchor(Z[t].double().numpy(), lab, tau)
        ell[t] = l
        valid = v
        if t > 0:
            ce[t] = distillation_per_anchor(Z[t].double(), Z[t - 1].double(), kappa, kappa_star).numpy()
            self_ce[t] = distillation_per_anchor(Z[t - 1].double(), Z[t - 1].double(), kappa, kappa_star).numpy()
            log_om[t] = transfer_log_weights(Z[t - 1].double(), lab, kappa_star)[0].numpy()
    phi = np.zeros((T, T))
    dis = np.full((T, T), np.nan)
    self_dis = np.full((T, T), np.nan)
    lom = np.full((T, T), np.nan)
    for s in range(T):
        sel = (task == s) & valid
        if not sel.any():
            raise ValueError(f"task {s} has no probe sample with a positive (need >= 2 samples of a class)")
        phi[:, s] = ell[:, sel].mean(1)
        for t in range(1, T):
            dis[t, s] = ce[t, sel].mean()
            self_dis[t, s] = self_ce[t, sel].mean()
            lom[t, s] = log_om[t, sel].max()
    return BoundTerms(phi=phi, dis=dis, self_dis=self_dis, log_omega_max=lom,
                      per_anchor={"ell": ell, "ce": ce, "self_ce": self_ce, "log_omega": log_om, "valid": valid},
                      task_of_anchor=task, n_candidates=m - 1, tau=tau, kappa=kappa, kappa_star=kappa_star)


def _log_add_real(log_u: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log(u + x) for u = exp(log_u) >= 0 and real x with u + x >= 0 (tiny negative results clip to 0)."""
    log_u = np.asarray(log_u, dtype=float)
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        pos = np.logaddexp(log_u, np.log(np.where(x > 0, x, 1.0)))
        ratio = x * np.exp(-log_u)  # x / u, 0 when u overflows
        neg = np.where(1.0 + ratio > 0, log_u + np.log1p(np.maximum(ratio, -1.0)), -np.inf)
    return np.where(x > 0, pos, np.where(x == 0, log_u, neg))


def _chain(log_phi0: np.ndarray, log_alpha: np.ndarray, c0: float, eps: np.ndarray, delta: np.ndarray,
           cap: float | None = None) -> np.ndarray:
    """Run U_t = c0 + alpha_t (U_{t-1} + eps + delta_t) in log space; rows of log_alpha/delta are steps."""
    log_u = np.asarray(log_phi0, dtype=float)
    log_c0 = math.log(c0) if c0 > 0 else -np.inf
    for k in range(len(log_alpha)):
        inner = _log_add_real(log_u, eps + delta[k])
        log_u = np.logaddexp(log_c0, log_alpha[k] + inner)
        if cap is not None:
            log_u = np.minimum(log_u, math.log(cap))
    return log_u


def _log10_sum(log_values: np.ndarray) -> float:
    lv = np.asarray(log_values, dtype=float)
    return float(np.logaddexp.reduce(lv) / math.log(10)) if lv.size else -math.inf


def _lemma_log_margins(terms: BoundTerms, c0: float) -> np.ndarray:
    """Per-anchor ``log(rhs) - log(lhs)`` (natural log) of the one-step inequality of {prf:ref}`lem-ccl-consecutive`,
    ``ell(f_t; i) <= c0 + (kappa/tau) omega_i(f_{t-1}) CE_i``, shape (T, m); ``nan`` for t = 0 and anchors without a
    positive, ``+inf`` where the left side is 0."""
    pa = terms.per_anchor
    T, m = pa["ell"].shape
    out = np.full((T, m), np.nan)
    log_c0 = math.log(c0) if c0 > 0 else -np.inf
    log_ratio = math.log(terms.kappa / terms.tau)
    v = pa["valid"]
    with np.errstate(divide="ignore", invalid="ignore"):
        for t in range(1, T):
            log_rhs = np.logaddexp(log_c0, log_ratio + pa["log_omega"][t] + np.log(pa["ce"][t]))
            out[t] = np.where(v, log_rhs - np.log(pa["ell"][t]), np.nan)
    return out


def continual_bound(terms: BoundTerms) -> dict[str, Any]:
    """Both sides of {prf:ref}`thm-ccl-bound` (and of its sharper forms) from the logged losses, with their margins.

    With ``c0 = (1 - kappa/tau) log n``, ``eps = (kappa*/kappa) log n``, the transfer factors
    ``alpha_t^s = (kappa/tau) max_{i in task s} omega_i(f_{t-1})`` and ``alpha = max_{s < t} alpha_t^s``,
    the theorem states (1-based indices)

    .. math:: \\sum_{s=1}^{T} \\Phi_T^s \\le \\sum_{t=1}^{T} \\alpha^{T-t} \\Bigl[ \\Phi_t^t
              + \\sum_{s<t} \\bigl( c_0 + \\alpha\\,\\varepsilon + \\alpha\\, \\Delta_t^s \\bigr) \\Bigr],
              \\qquad \\Delta_t^s = \\mathrm{dis}_t^s - \\mathrm{self\\_dis}_t^s .

    The right side is evaluated in log space (with Co2L's sharp teacher it exceeds any float).

    Parameters
    ----------
    terms : BoundTerms
        The logged losses returned by :func:`bound_terms` (or a copy of them with fields replaced, as the tests do
        to check that a mutated proof fails).

    Returns
    -------
    dict
        ``lhs`` (float); ``log10_rhs`` (theorem, uniform alpha); ``rhs`` (float, ``inf`` if it overflows);
        ``log10_rhs_product`` (exact products of the ``alpha_t^s``, {prf:ref}`rem-ccl-sharper`);
        ``rhs_samplewise`` (per-anchor chain capped at the trivial ceiling); ``ceiling``
        (``T (2/tau + log n)``, the largest value the left side can take); ``log10_alpha``, ``c0``, ``eps``;
        the margins ``margin_log10`` (:math:`\\log_{10}\\mathrm{RHS} - \\log_{10}\\mathrm{LHS}` of the theorem),
        ``margin_log10_product``, ``margin_log10_samplewise`` and ``lemma_margin_log10`` (the smallest per-anchor
        margin of {prf:ref}`lem-ccl-consecutive` over all anchors and steps; ``inf`` for one task); the checks
        ``holds``, ``holds_samplewise``, ``lemma_holds`` (margin ``>= -1e-12``); and ``weights_log10``
        (``log10 alpha^{T-t}``, t = 1..T).

    Raises
    ------
    TypeError
        If ``terms`` is not a :class:`BoundTerms`.
    """
    if not isinstance(terms, BoundTerms):
        raise TypeError("continual_bound expects the BoundTerms returned by bound_terms(), got "
                        f"{type(terms).__name__}")
    T = terms.num_tasks
    n = terms.n_candidates
    tau, kappa, ks = terms.tau, terms.kappa, terms.kappa_star
    c0 = (1 - kappa / tau) * math.log(n)
    eps = (ks / kappa) * math.log(n)
    phi, dis, self_dis = terms.phi, terms.dis, terms.self_dis
    lhs = float(phi[T - 1].sum())
    ceiling = T * max_contrastive_loss(n, tau)
    log_ratio = math.log(kappa / tau)
    if T == 1:
        log_alpha = -np.inf
    else:
        log_alpha = log_ratio + max(terms.log_omega_max[t, s] for t in range(1, T) for s in range(t))
    out_uniform, out_product = [], []
    for s in range(T):
        steps = list(range(s + 1, T))
        delta = np.array([dis[t, s] - self_dis[t, s] for t in steps])
        log_phi0 = math.log(phi[s, s]) if phi[s, s] > 0 else -np.inf
        la_u = np.full(len(steps), log_alpha)
        la_p = np.array([log_ratio + terms.log_omega_max[t, s] for t in steps])
        out_uniform.append(_chain(log_phi0, la_u, c0, eps, delta))
        out_product.append(_chain(log_phi0, la_p, c0, eps, delta))
    log10_rhs = _log10_sum(np.array(out_uniform))
    log10_prod = _log10_sum(np.array(out_product))

    # sample-wise chain (per anchor omega_i, capped at the trivial ceiling per anchor)
    pa = terms.per_anchor
    cap = max_contrastive_loss(n, tau)
    log_c0 = math.log(c0) if c0 > 0 else -np.inf
    sw_total = 0.0
    for s in range(T):
        sel = (terms.task_of_anchor == s) & pa["valid"]
        ell0 = pa["ell"][s, sel]
        log_u = np.where(ell0 > 0, np.log(np.where(ell0 > 0, ell0, 1.0)), -np.inf)
        for t in range(s + 1, T):
            la = log_ratio + pa["log_omega"][t, sel]
            delta = pa["ce"][t, sel] - pa["self_ce"][t, sel]
            inner = _log_add_real(log_u, eps + delta)
            log_u = np.minimum(np.logaddexp(log_c0, la + inner), math.log(cap))
        sw_total += float(np.exp(log_u).mean())
    lemma = _lemma_log_margins(terms, c0)
    lemma_vals = lemma[~np.isnan(lemma)]
    lemma_min = float(lemma_vals.min() / math.log(10)) if lemma_vals.size else math.inf
    log10_lhs = math.log10(lhs) if lhs > 0 else -math.inf
    with np.errstate(over="ignore"):
        rhs = float(10.0 ** log10_rhs) if log10_rhs < 308 else math.inf
    margin = log10_rhs - log10_lhs
    margin_sw = (math.log10(sw_total) if sw_total > 0 else -math.inf) - log10_lhs
    return {
        "lhs": lhs, "rhs": rhs, "log10_rhs": log10_rhs, "log10_rhs_product": log10_prod,
        "rhs_samplewise": sw_total, "ceiling": ceiling,
        "log10_alpha": float(log_alpha / math.log(10)), "c0": c0, "eps": eps,
        "margin_log10": float(margin), "margin_log10_product": float(log10_prod - log10_lhs),
        "margin_log10_samplewise": float(margin_sw), "lemma_margin_log10": lemma_min,
        "holds": bool(margin >= -1e-12),
        "holds_samplewise": bool(margin_sw >= -1e-12),
        "lemma_holds": bool(lemma_min >= -1e-12),
        "weights_log10": [float((T - t) * log_alpha / math.log(10)) if T > 1 else 0.0 for t in range(1, T + 1)],
    }


def bound_margins(terms: BoundTerms) -> dict[str, Any]:
    """Margins :math:`m = \\log_{10}\\mathrm{RHS} - \\log_{10}\\mathrm{LHS}` of the bound of a run and of its lemma.

    A check is ``m >= 0``; its power is judged by how small ``m`` gets ({prf:ref}`thm-ccl-bound`,
    {prf:ref}`rem-ccl-sharper`, {prf:ref}`lem-ccl-consecutive`; the page's section on checking the bound).

    Parameters
    ----------
    terms : BoundTerms
        The logged losses of one run (:func:`bound_terms`).

    Returns
    -------
    dict
        ``theorem``, ``product``, ``samplewise`` (floats: margins of {eq}`eq-ccl-bound` with uniform
        :math:`\\alpha`, with the products of the :math:`\\alpha_t^s`, and of the capped sample-wise chain);
        ``lemma`` (float: the smallest per-anchor margin of the one-step inequality, ``inf`` for one task) and
        ``lemma_per_anchor`` ((T, m) array of those margins; ``nan`` for the first model and anchors without a
        positive).

    Raises
    ------
    TypeError
        If ``terms`` is not a :class:`BoundTerms`.
    """
    out = continual_bound(terms)
    c0 = out["c0"]
    return {"theorem": out["margin_log10"], "product": out["margin_log10_product"],
            "samplewise": out["margin_log10_samplewise"], "lemma": out["lemma_margin_log10"],
            "lemma_per_anchor": _lemma_log_margins(terms, c0) / math.log(10)}


def buffer_rho(terms: BoundTerms, pool_drift: Any) -> np.ndarray:
    """The buffer transfer ratios :math:`\\rho_t` of {prf:ref}`asm-ccl-buffer`, from logged drifts.

    .. math:: \\rho_t = \\frac{\\bigl(\\sum_{s<t} \\Delta_t^s\\bigr)^+}{(t-1)\\,\\Delta_t(B_t)^+},

    the smallest :math:`\\rho_t \\ge 0` with :math:`\\sum_{s<t}\\Delta_t^s \\le \\rho_t (t-1) \\Delta_t(B_t)^+`, where
    :math:`\\Delta_t^s` are the probe-set drifts of ``terms`` and :math:`\\Delta_t(B_t)` the drift of the distillation
    loss on task ``t``'s training pool (end minus start, as logged by the trainer's descent check).

    Parameters
    ----------
    terms : BoundTerms
        The probe-set losses of the run (:func:`bound_terms`).
    pool_drift : array of length T
        ``pool_drift[t]`` = :math:`\\Delta_{t+1}(B_{t+1})` for 0-based ``t``; entry 0 (the first task has no
        teacher) is ignored and may be ``nan``.

    Returns
    -------
    (T,) float array
        ``rho[0] = nan``; ``rho[t] = 0`` where the probe drift sum is ``<= 0``; ``+inf`` where it is positive while
        the pool drift is ``<= 0`` (no finite ratio exists: the corollary says nothing for that task).

    Raises
    ------
    TypeError
        If ``terms`` is not a :class:`BoundTerms`, or ``pool_drift`` is complex.
    ValueError
        If ``pool_drift`` is not 1-D of length T, or holds NaN/inf after its first entry.
    """
    if not isinstance(terms, BoundTerms):
        raise TypeError(f"terms must be the BoundTerms returned by bound_terms(), got {type(terms).__name__}")
    T = terms.num_tasks
    check_not_complex(pool_drift, "pool_drift")
    pd = np.asarray(pool_drift.detach().cpu().numpy() if is_torch(pool_drift) else pool_drift, dtype=np.float64)
    if pd.ndim != 1 or pd.shape[0] != T:
        raise ValueError(f"pool_drift must be 1-D with one entry per task ({T}), got shape {pd.shape}")
    if not np.all(np.isfinite(pd[1:])):
        raise ValueError("pool_drift contains NaN or inf after its first entry")
    rho = np.full(T, np.nan)
    for t in range(1, T):
        num = max(0.0, float(np.sum(terms.dis[t, :t] - terms.self_dis[t, :t])))
        den = t * max(0.0, float(pd[t]))
        rho[t] = 0.0 if num == 0 else (num / den if den > 0 else math.inf)
    return rho


def gamma_bound(terms: BoundTerms, lambdas: Any, phi_train: Any, pool_dis: Any, pool_drift: Any) -> dict[str, Any]:
    """Both sides of {prf:ref}`thm-ccl-gamma`, the bound in the paper's form, with the measured ratios.

    .. math:: \\sum_s \\Phi_T^s \\le \\sum_{t=1}^{T} \\frac{\\alpha^{T-t}}{\\gamma_t(\\lambda_t)} J_t(f_t)
              + \\sum_{t=2}^{T} \\alpha^{T-t} (t-1)(c_0 + \\alpha\\varepsilon),
              \\qquad \\gamma_t(\\lambda) = \\min\\Bigl\\{\\frac{1}{r_t}, \\frac{\\lambda}{\\alpha\\rho_t(t-1)}\\Bigr\\},

    with :math:`J_t(f_t) = \\hat\\Phi_t^t + \\lambda_t \\hat D_t`, :math:`r_t = \\Phi_t^t/\\hat\\Phi_t^t` and
    :math:`\\rho_t` from :func:`buffer_rho` (:math:`\\gamma_1 = 1/r_1`).

    Parameters
    ----------
    terms : BoundTerms
        The probe-set losses of the run.
    lambdas : array of length T
        The distillation coefficients in the theory's units ({prf:ref}`rem-ccl-scale`); entries for
        ``t >= 2`` must be ``> 0``.
    phi_train : array of length T
        :math:`\\hat\\Phi_t^t`, the unscaled contrastive loss of task ``t``'s anchors on its pool at the end of the
        task, with the negatives it trained with (``> 0``).
    pool_dis : array of length T
        :math:`\\hat D_t = L_{\\mathrm{dis}}(f_t; f_{t-1}; B_t)` at the end of task ``t`` (entry 0 ignored).
    pool_drift : array of length T
        :math:`\\Delta_t(B_t)`, as for :func:`buffer_rho`.

    Returns
    -------
    dict
        ``log10_rhs``, ``lhs``, ``margin_log10``, ``r`` (T,), ``rho`` (T,), ``log10_gamma`` (T,),
        ``lambda_star`` (T,; :math:`\\alpha\\rho_t(t-1)/r_t`, the coefficient minimising the right side at fixed
        losses; ``nan`` for t = 1).

    Raises
    ------
    TypeError
        For a ``terms`` that is not a :class:`BoundTerms` or complex arrays.
    ValueError
        For arrays of the wrong length, NaN/inf, non-positive ``phi_train``, negative ``pool_dis``, or
        ``lambdas[t] <= 0`` for ``t >= 1``.
    """
    rho = buffer_rho(terms, pool_drift)
    T = terms.num_tasks

    def arr(x, name, first_free=False):
        check_not_complex(x, name)
        a = np.asarray(x.detach().cpu().numpy() if is_torch(x) else x, dtype=np.float64)
        if a.ndim != 1 or a.shape[0] != T:
            raise ValueError(f"{name} must be 1-D with one entry per task ({T}), got shape {a.shape}")
        body = a[1:] if first_free else a
        if not np.all(np.isfinite(body)):
            raise ValueError(f"{name} contains NaN or inf")
        return a

    lam = arr(lambdas, "lambdas", True)
    ph = arr(phi_train, "phi_train")
    dd = arr(pool_dis, "pool_dis", True)
    if np.any(ph <= 0):
        raise ValueError("phi_train must be > 0")
    if np.any(lam[1:] <= 0):
        raise ValueError("lambdas must be > 0 for every task after the first")
    if np.any(dd[1:] < 0):
        raise ValueError("pool_dis must be >= 0 (it is a cross-entropy)")
    out = continual_bound(terms)
    ln10 = math.log(10)
    log_alpha = out["log10_alpha"] * ln10
    c0, eps = out["c0"], out["eps"]
    r = np.diag(terms.phi) / ph
    log_terms = []
    log_gamma = np.full(T, np.nan)
    lam_star = np.full(T, np.nan)
    with np.errstate(divide="ignore"):
        for t in range(T):  # 0-based: task t+1, t old tasks
            if t == 0:
                lg = -math.log(r[0])
                J = ph[0]
            else:
                log_b = log_alpha + math.log(rho[t]) + math.log(t) - math.log(lam[t]) if rho[t] > 0 else -math.inf
                lg = -max(math.log(r[t]), log_b)
                J = ph[t] + lam[t] * dd[t]
                with np.errstate(over="ignore"):
                    lam_star[t] = float(np.exp(log_alpha + math.log(rho[t]) + math.log(t) - math.log(r[t]))) \
                        if rho[t] > 0 else 0.0
                const = np.logaddexp(math.log(c0) if c0 > 0 else -np.inf, log_alpha + math.log(eps))
                log_terms.append((T - 1 - t) * log_alpha + math.log(t) + const)
            log_gamma[t] = lg / ln10
            log_terms.append((T - 1 - t) * log_alpha + math.log(J) - lg)
    log10_rhs = _log10_sum(np.array(log_terms))
    lhs = out["lhs"]
    return {"log10_rhs": log10_rhs, "lhs": lhs,
            "margin_log10": float(log10_rhs - (math.log10(lhs) if lhs > 0 else -math.inf)),
            "r": r, "rho": rho, "log10_gamma": log_gamma, "lambda_star": lam_star}


def descent_check(con_start: float, con_end: float, dis_start: float, dis_end: float, lam: float
                  ) -> dict[str, float | bool]:
    """The inequality of {prf:ref}`prop-ccl-descent` on one task's training pool.

    If the objective did not increase, ``con_end + lam dis_end <= con_start + lam dis_start``, then the
    distillation drift ``dis_end - dis_start`` is at most ``(con_start - con_end) / lam``.

    Parameters
    ----------
    con_start, con_end : float
        :math:`L_{\\mathrm{con}}` of the new task's anchors on the pool under :math:`f_{t-1}` and :math:`f_t`.
    dis_start, dis_end : float
        :math:`L_{\\mathrm{dis}}(\\cdot; f_{t-1}; B_t)` under :math:`f_{t-1}` and :math:`f_t`.
    lam : float
        :math:`\\lambda_t \\ge 0` in the theory's units ({prf:ref}`rem-ccl-scale`).

    Returns
    -------
    dict
        ``descent`` (bool), ``drift`` (:math:`\\Delta_t(B_t)`, the ``pool_drift`` of :func:`buffer_rho`) and
        ``drift_bound`` (:math:`G_t/\\lambda_t`, ``inf`` for ``lam = 0``).

    Raises
    ------
    TypeError
        For complex values.
    ValueError
        For NaN/inf or non-scalar losses, or a negative ``lam``.
    """
    vals = [_real_array(v, n, ndim=0).item() for v, n in
            ((con_start, "con_start"), (con_end, "con_end"), (dis_start, "dis_start"), (dis_end, "dis_end"))]
    lam = check_nonnegative(lam, "lam")
    c0, c1, d0, d1 = vals
    return {"descent": bool(c1 + lam * d1 <= c0 + lam * d0 + 1e-12), "drift": d1 - d0,
            "drift_bound": (c0 - c1) / lam if lam > 0 else math.inf}


# --------------------------------------------------------------------------- CILA
def cila_lambdas(con_avg: Any, dis_avg: Any, kappa: float) -> np.ndarray:
    """Adaptive distillation coefficients of CILA, {prf:ref}`def-ccl-cila` (Wen et al., 2024).

    .. math:: \\lambda_1 = 0,\\quad \\lambda_2 = 1,\\quad
              \\lambda_t = \\max\\Bigl(1,\\ \\kappa\\,
              \\frac{\\sum_{j=2}^{t-1} \\bar L_{\\mathrm{dis}}(j)}{\\sum_{j=2}^{t-1} \\bar L_{\\mathrm{con}}(j)}\\Bigr)
              \\quad (t \\ge 3),

    where ``con_avg[j-1]``, ``dis_avg[j-1]`` are the average contrastive and distillation losses
    recorded while training task ``j``. ``lambda_t`` uses tasks ``2..t-1`` only, so during training
    the entries of the current and later tasks may hold any non-negative placeholder.

    Parameters
    ----------
    con_avg, dis_avg : arrays of length T
    kappa : float
        Balance hyperparameter, ``> 0``.

    Returns
    -------
    (T,) float array
        :math:`\\lambda_1, \\dots, \\lambda_T`, on the scale of the averages passed ({prf:ref}`rem-ccl-scale`).

    Raises
    ------
    TypeError
        If ``kappa`` is not a real number (a string, a bool, a complex number, an array) or the averages are
        complex.
    ValueError
        If the arrays are not 1-D of the same non-zero length, contain negative, NaN or inf values,
        if ``kappa`` is not finite and ``> 0``, or if the contrastive averages that enter a ratio sum to zero.
    """
    con = _real_array(con_avg, "con_avg", ndim=1, nonnegative=True)
    dis = _real_array(dis_avg, "dis_avg", ndim=1, nonnegative=True)
    if con.shape != dis.shape:
        raise ValueError(f"con_avg and dis_avg must have the same length, got {con.shape[0]} and {dis.shape[0]}")
    if con.size == 0:
        raise ValueError("con_avg is empty: pass one average per task")
    kappa = _temperature(kappa, "kappa")
    T = con.size
    lam = np.zeros(T)
    if T >= 2:
        lam[1] = 1.0
    for t in range(3, T + 1):  # 1-based task index
        c = con[1:t - 1].sum()
        d = dis[1:t - 1].sum()
        if c <= 0:
            raise ValueError(f"the contrastive averages of tasks 2..{t - 1} sum to zero; the ratio is undefined")
        lam[t - 1] = max(1.0, kappa * d / c)
    return lam
