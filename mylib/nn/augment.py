"""Image augmentation shared by every trainer: the one random crop-and-flip, the normalisation constants, and the
composable tensor augmentations of Part II's contrastive views (no torchvision).

The per-dataset constants are named after their dataset. CIFAR-10 has two published standard deviations: the
per-pixel standard deviation over the training set (:data:`CIFAR10_STD`, used by Part I) and the one in the code of
SupCon and Co2L (:data:`CIFAR10_STD_CO2L`, the standard deviation of per-image channel means, smaller), which
Part II keeps in order to reproduce Co2L.

Part I's trainer uses :func:`crop_flip` and :func:`normalise`; Part II's trainer draws its two views with an
:class:`Augment`, which chains :func:`random_resized_crop`, :func:`random_crop`, :func:`random_hflip`,
:func:`color_jitter`, :func:`random_grayscale` and :func:`gaussian_noise`.
"""
from __future__ import annotations

import contextvars
import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from .._checks import check_finite_array, check_nonnegative, check_positive_int, check_unit_interval, is_torch

__all__ = ["CIFAR10_MEAN", "CIFAR10_STD", "CIFAR10_STD_CO2L", "CIFAR100_MEAN", "CIFAR100_STD",
           "TINY_IMAGENET_MEAN", "TINY_IMAGENET_STD", "crop_flip", "normalise",
           "random_crop", "random_resized_crop", "random_hflip", "color_jitter", "random_grayscale", "gaussian_noise",
           "Augment"]

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
    return _crop_window(xp, off[0], off[1], h, w, flips)


def _crop_window(xp: torch.Tensor, oy: torch.Tensor, ox: torch.Tensor, h: int, w: int,
                 flips: torch.Tensor | None = None) -> torch.Tensor:
    """The ``h x w`` window of each padded image ``xp[i]`` at offset ``(oy[i], ox[i])``, mirrored left-right where
    ``flips[i]``: the one crop (a gather, so exact) behind :func:`crop_flip` and :func:`random_crop`."""
    rows = oy[:, None] + torch.arange(h, device=xp.device)
    cols = ox[:, None] + torch.arange(w, device=xp.device)
    if flips is not None:
        cols = torch.where(flips[:, None], cols.flip(1), cols)
    idx_n = torch.arange(xp.shape[0], device=xp.device)[:, None, None]
    return xp.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


def normalise(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Per-channel :math:`(x - \\mu_c)/\\sigma_c` of a batch ``(n, c, h, w)``.

    Parameters
    ----------
    x : (n, c, h, w) tensor
    mean, std : sequences of c floats
        Per-channel means :math:`\\mu_c` and standard deviations :math:`\\sigma_c > 0` (e.g. :data:`CIFAR10_MEAN`,
        :data:`CIFAR10_STD`).

    Returns
    -------
    (n, c, h, w) tensor
        Same dtype and device as ``x``.

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


# --------------------------------------------------------------------------- Part II's composable views
#: Set by :class:`Augment` after it has checked a batch once, so the ops it chains skip the full-tensor
#: finiteness scan (a host synchronisation on CUDA) on every training step.
_CHECKED = contextvars.ContextVar("mylib_images_checked", default=False)


def _images(x: Any, name: str = "x") -> torch.Tensor:
    if not is_torch(x):
        x = torch.as_tensor(check_finite_array(x, name, ndim=4), dtype=torch.float32)
    if x.ndim != 4:
        raise ValueError(f"{name} must be a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if not torch.is_floating_point(x):
        raise ValueError(f"{name} must be floating point (scale uint8 images to [0, 1] first)")
    if not _CHECKED.get() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or inf")
    return x


def _prob(p: Any, name: str) -> float:
    return check_unit_interval(p, name)


def _gen_device(generator, device):
    return generator.device if generator is not None else device


def _rand(n: int, generator, device) -> torch.Tensor:
    """Uniform [0, 1) draws made on the generator's device (so a CPU generator also drives CUDA data)."""
    return torch.rand(n, generator=generator, device=_gen_device(generator, device)).to(device)


def _uniform(n: int, lo: float, hi: float, generator, device) -> torch.Tensor:
    return lo + (hi - lo) * _rand(n, generator, device)


def random_crop(x: Any, padding: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero-pad by ``padding`` pixels and crop back to the original size at a random offset per image.

    With :math:`p` = ``padding``, each image gets offsets :math:`(o_y, o_x)` uniform on
    :math:`\\{0, \\dots, 2p\\}^2` (rows drawn first, then columns) and
    :math:`y_{i, c, r, s} = \\tilde x_{i, c, o_y + r, o_x + s}` with :math:`\\tilde x` the zero-padded batch. Values
    stay in the input's range if it contains 0 (e.g. images in ``[0, 1]``). Unlike :func:`crop_flip` it pads with
    zeros only, draws nothing when ``padding`` is 0 and does not flip; both share the same crop. One of the views of
    {prf:ref}`def-ccl-asym-supcon` (digits: a random shift).

    Parameters
    ----------
    x : (n, c, h, w) float tensor or array
        A non-empty batch of finite floating-point images (arrays are converted to float32 tensors).
    padding : int, default 4
        :math:`p \\ge 0` pixels on every side (0: the batch is returned unchanged, as a copy).
    generator : torch.Generator, optional
        Source of the random draws (on its own device, so a CPU generator also drives CUDA data).

    Returns
    -------
    (n, c, h, w) tensor
        The cropped batch, contiguous, on ``x``'s device.

    Raises
    ------
    ValueError
        If ``x`` is not a non-empty 4-D floating-point batch or contains NaN or inf,
        or if ``padding`` is not an integer :math:`\\ge 0`.
    """
    x = _images(x)
    p = check_positive_int(padding, "padding", minimum=0)
    if p == 0:
        return x.clone()
    N, C, H, W = x.shape
    xp = F.pad(x, (p, p, p, p))
    gd = _gen_device(generator, x.device)
    oy = torch.randint(0, 2 * p + 1, (N,), generator=generator, device=gd).to(x.device)
    ox = torch.randint(0, 2 * p + 1, (N,), generator=generator, device=gd).to(x.device)
    return _crop_window(xp, oy, ox, H, W)


def random_resized_crop(x: Any, scale: tuple[float, float] = (0.2, 1.0),
                        ratio: tuple[float, float] = (3 / 4, 4 / 3),
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """Crop a random area fraction in ``scale`` with aspect ratio in ``ratio`` and resize it back
    (bilinear), per image, as torchvision's ``RandomResizedCrop`` used by Co2L (implemented with
    ``affine_grid``/``grid_sample``; the crop is clipped to the image).

    Per image, the area fraction :math:`a \\sim U[s_0, s_1]` and the log aspect ratio
    :math:`\\log r \\sim U[\\log r_0, \\log r_1]` give the crop's relative width
    :math:`\\min(1, \\sqrt{a r H / W})` and height :math:`\\min(1, \\sqrt{a W / (r H)})`; its centre is uniform
    among the positions that keep it inside the image. Draws, in order: areas, ratios, horizontal and vertical centres
    (``n`` each). Co2L's view of CIFAR ({prf:ref}`def-ccl-co2l`).

    Parameters
    ----------
    x : (n, c, h, w) float tensor or array
        A non-empty batch of finite floating-point images (arrays are converted to float32 tensors).
    scale : (float, float), default (0.2, 1.0)
        Range :math:`[s_0, s_1]` of the area fraction, :math:`0 < s_0 \\le s_1 \\le 1`.
    ratio : (float, float), default (3/4, 4/3)
        Range :math:`[r_0, r_1]` of the aspect ratio width / height, :math:`0 < r_0 \\le r_1`.
    generator : torch.Generator, optional
        Source of the random draws (on its own device, so a CPU generator also drives CUDA data).

    Returns
    -------
    (n, c, h, w) tensor
        The resized crops (bilinear, border padding), same dtype and device as ``x``.

    Raises
    ------
    ValueError
        If ``x`` is not a non-empty 4-D floating-point batch or contains NaN or inf,
        or if ``scale`` or ``ratio`` violates its bounds.
    """
    x = _images(x)
    lo, hi = float(scale[0]), float(scale[1])
    if not 0 < lo <= hi <= 1:
        raise ValueError(f"scale must satisfy 0 < lo <= hi <= 1, got {scale}")
    rlo, rhi = float(ratio[0]), float(ratio[1])
    if not 0 < rlo <= rhi:
        raise ValueError(f"ratio must satisfy 0 < lo <= hi, got {ratio}")
    N = x.shape[0]
    dev = x.device
    area = _uniform(N, lo, hi, generator, dev)
    logr = _uniform(N, math.log(rlo), math.log(rhi), generator, dev)
    r = logr.exp()
    H, W = x.shape[-2:]
    w = torch.sqrt(area * r * H / W).clamp(max=1.0)  # width / height in pixels = r, area fraction = area
    h = torch.sqrt(area * W / (r * H)).clamp(max=1.0)
    cx = (2 * _rand(N, generator, dev) - 1) * (1 - w)
    cy = (2 * _rand(N, generator, dev) - 1) * (1 - h)
    theta = torch.zeros(N, 2, 3, device=dev, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 2] = w, cx
    theta[:, 1, 1], theta[:, 1, 2] = h, cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def random_hflip(x: Any, p: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Flip each image left-right with probability ``p``.

    One uniform draw :math:`u_i` per image; image :math:`i` is mirrored where :math:`u_i < p`.

    Parameters
    ----------
    x : (n, c, h, w) float tensor or array
        A non-empty batch of finite floating-point images (arrays are converted to float32 tensors).
    p : float, default 0.5
        Flip probability in :math:`[0, 1]`.
    generator : torch.Generator, optional
        Source of the random draws (on its own device, so a CPU generator also drives CUDA data).

    Returns
    -------
    (n, c, h, w) tensor
        The batch with the drawn images mirrored.

    Raises
    ------
    ValueError
        If ``p`` is outside :math:`[0, 1]`, or if ``x`` is not a non-empty 4-D floating-point batch or contains NaN
        or inf.
    """
    x = _images(x)
    p = _prob(p, "p")
    flip = _rand(x.shape[0], generator, x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def _gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)
    return (x[:, :3] * w[None, :, None, None]).sum(1, keepdim=True)


def color_jitter(x: Any, brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.4,
                 hue: float = 0.1, p: float = 0.8, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness, contrast, saturation and hue changes (in that order), applied with probability ``p``.

    Factors are drawn per image uniformly in :math:`[1 - b, 1 + b]` (hue: a rotation by
    :math:`2 \\pi h` with :math:`h` uniform in ``[-hue, hue]`` around the grey axis :math:`(1, 1, 1)/\\sqrt 3` of RGB
    space, by Rodrigues' formula). Brightness multiplies the image; contrast scales it about its mean luminance;
    saturation about each pixel's luminance (ITU-R 601 weights 0.299, 0.587, 0.114). Inputs are images in ``[0, 1]``;
    each step clamps to ``[0, 1]``. Saturation and hue need 3 channels and are skipped for 1-channel images. Draws, in
    order: the apply coins, then brightness, contrast, saturation and hue factors (``n`` each, all drawn whatever
    the coins say).

    Parameters
    ----------
    x : (n, c, h, w) float tensor or array
        A non-empty batch of finite floating-point images (arrays are converted to float32 tensors).
    brightness, contrast, saturation : float, default 0.4
        Half-widths :math:`b \\ge 0` of the factor ranges.
    hue : float, default 0.1
        Half-width of the hue range, in :math:`[0, 0.5]` (fractions of a full turn).
    p : float, default 0.8
        Probability, per image, that the jitter is applied (otherwise the image is returned unchanged).
    generator : torch.Generator, optional
        Source of the random draws (on its own device, so a CPU generator also drives CUDA data).

    Returns
    -------
    (n, c, h, w) tensor
        Jittered images in ``[0, 1]`` (unchanged images keep their values).

    Raises
    ------
    ValueError
        If ``x`` is not a non-empty 4-D floating-point batch or contains NaN or inf,
        if a half-width is negative or not finite, if ``hue`` exceeds 0.5, or if ``p`` is outside
        :math:`[0, 1]`.
    """
    x = _images(x)
    for v, nm in ((brightness, "brightness"), (contrast, "contrast"), (saturation, "saturation")):
        check_nonnegative(v, nm)
    hue = check_nonnegative(hue, "hue")
    if hue > 0.5:
        raise ValueError(f"hue must lie in [0, 0.5], got {hue}")
    p = _prob(p, "p")
    N, dev = x.shape[0], x.device
    apply = (_rand(N, generator, dev) < p)[:, None, None, None]
    b = _uniform(N, 1 - brightness, 1 + brightness, generator, dev)[:, None, None, None]
    c = _uniform(N, 1 - contrast, 1 + contrast, generator, dev)[:, None, None, None]
    s = _uniform(N, 1 - saturation, 1 + saturation, generator, dev)[:, None, None, None]
    h = _uniform(N, -hue, hue, generator, dev)
    y = (x * b).clamp(0, 1)
    m = _gray(y).mean(dim=(1, 2, 3), keepdim=True)
    y = ((y - m) * c + m).clamp(0, 1)
    if x.shape[1] == 3:
        g = _gray(y)
        y = ((y - g) * s + g).clamp(0, 1)
        # hue: rotate around the (1,1,1) axis by angle 2*pi*h (Rodrigues' formula)
        ang = 2 * math.pi * h
        cos, sin = torch.cos(ang), torch.sin(ang)
        k = 1 / math.sqrt(3)
        one = torch.ones_like(cos)
        K = torch.tensor([[0, -k, k], [k, 0, -k], [-k, k, 0]], device=dev, dtype=x.dtype)
        I = torch.eye(3, device=dev, dtype=x.dtype)
        kk = torch.full((3, 3), k * k, device=dev, dtype=x.dtype)
        R = (cos[:, None, None] * I + sin[:, None, None] * K + (one - cos)[:, None, None] * kk)
        y = torch.einsum("nij,njhw->nihw", R, y).clamp(0, 1)
    return torch.where(apply, y, x)


def random_grayscale(x: Any, p: float = 0.2, generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace each image by its luminance (ITU-R 601 weights, repeated over channels) with probability ``p``.

    The luminance is :math:`0.299 R + 0.587 G + 0.114 B` (a 1-channel image is its own luminance).

    Parameters
    ----------
    x : (n, c, h, w) float tensor or array
        A non-empty batch of finite floating-point images (arrays are converted to float32 tensors).
    p : float, default 0.2
        Probability, per image, of the replacement, in :math:`[0, 1]`.
    generator : torch.Generator, optional
        Source of the random draws (on its own device, so a CPU generator also drives CUDA data).

    Returns
    -------
    (n, c, h, w) tensor
        The batch with the drawn images replaced by their luminance (same number of channels).

    Raises
    ------
    ValueError
        If ``x`` is not a non-empty 4-D floating-point batch or contains NaN or inf,
        or if ``p`` is outside :math:`[0, 1]`.
    """
    x = _images(x)
    p = _prob(p, "p")
    g = _gray(x).expand_as(x)
    mask = (_rand(x.shape[0], generator, x.device) < p)[:, None, None, None]
    return torch.where(mask, g, x)


def gaussian_noise(x: Any, std: float = 0.1, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add i.i.d. :math:`\\mathcal N(0, \\sigma^2)` noise (for standardised inputs such as the digits).

    Parameters
    ----------
    x : (n, c, h, w) float tensor or array
        A non-empty batch of finite floating-point images (arrays are converted to float32 tensors).
    std : float, default 0.1
        :math:`\\sigma \\ge 0`.
    generator : torch.Generator, optional
        Source of the random draws (on its own device, so a CPU generator also drives CUDA data).

    Returns
    -------
    (n, c, h, w) tensor
        :math:`x + \\sigma \\varepsilon`, not clamped.

    Raises
    ------
    ValueError
        If ``x`` is not a non-empty 4-D floating-point batch or contains NaN or inf,
        or if ``std`` is negative or not finite.
    """
    x = _images(x)
    std = check_nonnegative(std, "std")
    noise = torch.randn(x.shape, generator=generator, device=_gen_device(generator, x.device), dtype=x.dtype)
    return x + std * noise.to(x.device)


@dataclass
class Augment:
    """A composed augmentation: scale -> crop -> flip -> colour jitter -> grayscale -> noise -> normalise.

    ``__call__(x, generator)`` returns one random view; :meth:`plain` applies only the
    deterministic part (scaling and normalisation) for evaluation. uint8 inputs are scaled to
    ``[0, 1]`` first. It draws the two views of every sample in Part II's trainer ({prf:ref}`def-ccl-co2l`).

    Attributes
    ----------
    resized_crop : tuple or None
        ``scale`` of :func:`random_resized_crop` (Co2L uses ``(0.2, 1.0)``), or None.
    crop_padding : int
        Padding of :func:`random_crop` (0: off).
    hflip : float
        Probability of :func:`random_hflip`.
    jitter : tuple of 4 floats or None
        ``(brightness, contrast, saturation, hue)`` of :func:`color_jitter`, applied with probability ``jitter_p``.
    jitter_p : float
        Probability with which the colour jitter is applied.
    grayscale : float
        Probability of :func:`random_grayscale`.
    noise_std : float
        Standard deviation of :func:`gaussian_noise`.
    mean, std : sequences or None
        Per-channel normalisation applied last.
    """

    resized_crop: tuple[float, float] | None = None
    crop_padding: int = 0
    hflip: float = 0.0
    jitter: tuple[float, float, float, float] | None = None
    jitter_p: float = 0.8
    grayscale: float = 0.0
    noise_std: float = 0.0
    mean: Sequence[float] | None = None
    std: Sequence[float] | None = None

    def _scale(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8:
            return x.float() / 255.0
        return _images(x)

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        if self.mean is None:
            return x
        m = torch.as_tensor(self.mean, device=x.device, dtype=x.dtype)[None, :, None, None]
        s = torch.as_tensor(self.std, device=x.device, dtype=x.dtype)[None, :, None, None]
        return (x - m) / s

    def plain(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic evaluation transform (scale and normalise only)."""
        return self._normalise(self._scale(x))

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        y = self._scale(x)  # validated once here; the chained ops below skip the finiteness scan
        token = _CHECKED.set(True)
        try:
            return self._normalise(self._augment(y, generator))
        finally:
            _CHECKED.reset(token)

    def _augment(self, y: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self.resized_crop is not None:
            y = random_resized_crop(y, scale=self.resized_crop, generator=generator)
        if self.crop_padding:
            y = random_crop(y, self.crop_padding, generator=generator)
        if self.hflip:
            y = random_hflip(y, self.hflip, generator=generator)
        if self.jitter is not None:
            y = color_jitter(y, *self.jitter, p=self.jitter_p, generator=generator)
        if self.grayscale:
            y = random_grayscale(y, self.grayscale, generator=generator)
        if self.noise_std:
            y = gaussian_noise(y, self.noise_std, generator=generator)
        return y
