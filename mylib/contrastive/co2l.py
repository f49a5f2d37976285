"""Co2L's training objective exactly as its public code computes it (Cha, Lee & Shin, ICCV 2021).

The theory of {doc}`../book/part2_contrastive_cl` works with the *unscaled* asymmetric SupCon loss, a mean over
the anchors ({func}`mylib.contrastive.asym_supcon_loss`). Co2L's code (``losses_negative_only.py`` and the
distillation in ``main.py`` of github.com/chaht01/Co2L) minimises a rescaled version of it:

.. math:: L_{\\mathrm{Co2L}} = \\frac{\\tau}{\\tau_b}\\,\\frac{1}{M} \\sum_{i \\in A} \\ell^{\\tau}(i)
          \\;+\\; \\lambda\\,\\frac{1}{M} \\sum_{i=1}^{M} \\mathrm{CE}_i ,

over the :math:`M = 2N` rows of a two-view batch: the contrastive term is multiplied by
:math:`\\tau/\\tau_b` (:math:`\\tau_b = 0.07`, SupCon's "base temperature"; 7.14 at :math:`\\tau = 0.5`) and averaged
over *all* rows, rows that are not anchors (replay-buffer samples) counting as zero; the relation distillation
term is the mean over all rows. With :math:`|A|` anchors the two objectives are related by

.. math:: L_{\\mathrm{Co2L}} = \\frac{\\tau}{\\tau_b}\\frac{|A|}{M}\\Bigl(L_{\\mathrm{con}} +
          \\lambda\\,\\frac{\\tau_b M}{\\tau |A|}\\, L_{\\mathrm{dis}}\\Bigr),

so Co2L's :math:`\\lambda` is :math:`\\lambda_{\\mathrm{theory}} = \\lambda\\,\\tau_b M/(\\tau |A|)` in the theory's
units ({prf:ref}`def-ccl-asym-supcon`, {prf:ref}`def-ccl-ird`), about :math:`0.14\\,\\lambda` when every row
is an anchor, and the learning rate of the contrastive part is scaled by :math:`(\\tau/\\tau_b)(|A|/M)`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import is_torch
from .losses import _embeddings, _ird_core, _labels, _mask, _supcon_core, _temperature

__all__ = ["co2l_loss", "co2l_terms"]


def co2l_terms(z: torch.Tensor, labels: torch.Tensor, anchors: torch.Tensor, z_teacher: torch.Tensor | None,
               temperature: float, base_temperature: float, student_temperature: float,
               teacher_temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of :func:`co2l_loss` without validation (the trainer's hot path; no host synchronisation).

    Parameters
    ----------
    z : (M, d) tensor of unit-norm rows
    labels : (M,) long tensor
    anchors : (M,) bool tensor, the rows whose contrastive loss counts
    z_teacher : (M, d) tensor of unit-norm rows, or None
    temperature, base_temperature, student_temperature, teacher_temperature : float
        Positive (not checked here).

    Returns
    -------
    con, dis : 0-d tensors
        :math:`(\\tau/\\tau_b)\\,M^{-1}\\sum_{i\\in A}\\ell^{\\tau}(i)` and
        :math:`M^{-1}\\sum_i \\mathrm{CE}_i` (``dis`` is a zero connected to the graph when ``z_teacher`` is None).
    """
    loss, valid = _supcon_core(z, labels, temperature)
    con = (temperature / base_temperature) * (loss * (anchors & valid)).sum() / z.shape[0]
    if z_teacher is None:
        return con, con * 0.0
    return con, _ird_core(z, z_teacher, student_temperature, teacher_temperature).mean()


def co2l_loss(z: Any, labels: Any, anchor_mask: Any, z_teacher: Any = None, distill_weight: float = 1.0,
              temperature: float = 0.5, base_temperature: float = 0.07, student_temperature: float = 0.2,
              teacher_temperature: float = 0.01):
    """Co2L's objective on the rows of a two-view batch: scaled asymmetric SupCon plus relation distillation.

    .. math:: L = \\frac{\\tau}{\\tau_b}\\,\\frac{1}{M}\\sum_{i \\in A} -\\frac{1}{|P(i)|}\\sum_{p\\in P(i)}
              \\log\\frac{e^{z_i\\cdot z_p/\\tau}}{\\sum_{k\\ne i} e^{z_i\\cdot z_k/\\tau}}
              \\;+\\; w\\,\\frac{1}{M}\\sum_{i=1}^{M} -\\sum_{j\\ne i} \\pi_{ij}\\log q^{\\kappa}_{ij},

    with :math:`M` the number of rows (``2N`` for ``N`` samples and two views), :math:`A` the rows of
    ``anchor_mask`` (Co2L: the current task's samples; the replay-buffer rows are negatives only and count as
    zero in the mean), :math:`P(i)` the other rows with the label of row ``i`` (an anchor without one, which
    cannot happen in a two-view batch, counts as zero), :math:`q^{\\kappa}_{ij}` the student's softmax over
    :math:`j \\ne i` of :math:`z_i\\cdot z_j/\\kappa` and :math:`\\pi_{ij}` the teacher's at
    :math:`\\kappa^*` (no gradient). This is what Co2L's code minimises ({prf:ref}`def-ccl-asym-supcon`,
    {prf:ref}`def-ccl-ird`); :mod:`mylib.contrastive.co2l` explains how it relates to the unscaled loss of the
    theory.

    Parameters
    ----------
    z : (M, d) array or tensor
        Student embeddings (rows are L2-normalised here; all-zero rows are rejected).
    labels : (M,) integers
        Class label of every row.
    anchor_mask : (M,) booleans
        Rows whose contrastive loss counts.
    z_teacher : (M, d) array or tensor, optional
        The past model's embeddings of the same rows; without it there is no distillation term.
    distill_weight : float
        :math:`w \\ge 0` (Co2L's ``distill_power``, the :math:`\\lambda` of the trainer).
    temperature, base_temperature : float
        :math:`\\tau` and :math:`\\tau_b` (Co2L: 0.5 and 0.07).
    student_temperature, teacher_temperature : float
        :math:`\\kappa` and :math:`\\kappa^*` (Co2L: 0.2 and 0.01).

    Returns
    -------
    float for numpy input; a 0-d tensor (autograd intact) for torch input.

    Raises
    ------
    ValueError
        For NaN/inf, fewer than two rows, an all-zero row, labels or mask of the wrong length, non-integer labels,
        a teacher with a different number of rows, a negative ``distill_weight`` or a non-positive temperature.
    TypeError
        If ``distill_weight`` or a temperature is not a real number.
    """
    numpy_out = not is_torch(z)
    for value, name in ((distill_weight, "distill_weight"), (temperature, "temperature"),
                        (base_temperature, "base_temperature"), (student_temperature, "student_temperature"),
                        (teacher_temperature, "teacher_temperature")):
        if isinstance(value, (bool, str)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a real number, got {value!r}")
    tau = _temperature(temperature, "temperature")
    tau_b = _temperature(base_temperature, "base_temperature")
    ks = _temperature(student_temperature, "student_temperature")
    kt = _temperature(teacher_temperature, "teacher_temperature")
    w = float(distill_weight)
    if not np.isfinite(w) or w < 0:
        raise ValueError(f"distill_weight must be a finite number >= 0, got {distill_weight!r}")
    zs = _embeddings(torch.as_tensor(np.asarray(z, dtype=np.float64)) if numpy_out else z, "z")
    lab = _labels(labels, zs.shape[0], zs.device)
    anchors = _mask(anchor_mask, zs.shape[0], zs.device, "anchor_mask")
    zt = None
    if z_teacher is not None:
        zt = _embeddings(torch.as_tensor(np.asarray(z_teacher, dtype=np.float64)) if not is_torch(z_teacher)
                         else z_teacher, "z_teacher").detach().to(device=zs.device, dtype=zs.dtype)
        if zt.shape[0] != zs.shape[0]:
            raise ValueError(f"z and z_teacher must have the same number of rows, got {zs.shape[0]} and "
                             f"{zt.shape[0]}")
    con, dis = co2l_terms(zs, lab, anchors, zt, tau, tau_b, ks, kt)
    out = con + w * dis if zt is not None else con
    return float(out.detach().cpu()) if numpy_out else out
