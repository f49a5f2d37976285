"""Image augmentation shared by every trainer: the one random crop-and-flip and the normalisation constants.

The per-dataset constants are named after their dataset. CIFAR-10 has two published standard deviations: the
per-pixel standard deviation over the training set (:data:`CIFAR10_STD`, used by Part I) and the one in the code of
SupCon and Co2L (:data:`CIFAR10_STD_CO2L`, the standard deviation of per-image channel means, smaller), which
Part II keeps in order to reproduce Co2L.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from .._checks import check_positive_int, check_unit_interval

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "CIFAR10_STD_CO2L", "CIFAR100_MEAN", "CIFAR100_STD",
           "TINY_IMAGENET_MEAN", "TINY_IMAGENET_STD", "crop_flip", "normalise"]

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2471, 0.2435, 0.2616)
CIFAR10_STD_CO2L = (0.2023, 0.1994, 0.2010)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
TINY_IMAGENET_MEAN = (0.4802, 0.4481, 0.3975)
TINY_IMAGENET_STD = (0.2302, 0.2265, 0.2262)

_PAD_MODES = ("constant", "reflect", "replicate")


def crop_flip(x: torch.Tensor, padding: int = 4, flip: float = 0.5, generator: torch.Generator | None = None,
              padding_mode: str = "reflect") -> torch.Tensor:
    """Random crop of the ``padding``-padded image back to its size, then a horizontal flip with probability ``flip``.

    The offsets are drawn first (``randint(0, 2 p + 1, (2, n))``: rows, then columns), then the flips
    (``rand(n) < flip``), all from ``generator`` on the CPU, so a CPU generator drives data on any device and an
    epoch's views are reproduced after a resume.

    Parameters
    ----------
    x : (n, c, h, w) float tensor
    padding : int
        :math:`p \\ge 0` pixels on every side (0: no crop).
    flip : float
        Flip probability in [0, 1] (0: no flip).
    generator : torch.Generator, optional
    padding_mode : {"reflect", "constant", "replicate"}
        ``"constant"`` pads with zeros.

    Returns
    -------
    (n, c, h, w) tensor, contiguous.

    Raises
    ------
    ValueError
        For a tensor that is not 4-D, a negative padding, a flip probability outside [0, 1] or an unknown mode.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a 4-D tensor (n, c, h, w), got {getattr(x, 'shape', type(x))}")
    p = check_positive_int(padding, "padding", minimum=0)
    flip = check_unit_interval(flip, "flip")
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"unknown padding_mode {padding_mode!r}; valid: {_PAD_MODES}")
    n, _, h, w = x.shape
    off = torch.randint(0, 2 * p + 1, (2, n), generator=generator).to(x.device)
    flips = (torch.rand(n, generator=generator) < flip).to(x.device)
    xp = F.pad(x, (p, p, p, p), mode=padding_mode) if p else x
    rows = off[0][:, None] + torch.arange(h, device=x.device)
    cols = off[1][:, None] + torch.arange(w, device=x.device)
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    idx_n = torch.arange(n, device=x.device)[:, None, None]
    return xp.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


def normalise(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Per-channel :math:`(x - \\mu_c)/\\sigma_c` of a batch ``(n, c, h, w)``.

    Raises
    ------
    ValueError
        If ``mean``/``std`` do not have one entry per channel or a standard deviation is not positive.
    """
    if len(mean) != x.shape[1] or len(std) != x.shape[1]:
        raise ValueError(f"mean and std need {x.shape[1]} entries, got {len(mean)} and {len(std)}")
    if min(std) <= 0:
        raise ValueError(f"std must be positive, got {tuple(std)}")
    m = torch.as_tensor(mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    s = torch.as_tensor(std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    return (x - m) / s
