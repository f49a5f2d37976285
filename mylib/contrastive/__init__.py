"""Part II. Contrastive continual learning.

* :mod:`~mylib.contrastive.losses`: asymmetric SupCon, relation distillation, both sides of the bound and their
  margins, the transfer ratios rho_t, CILA;
* :mod:`~mylib.contrastive.buffer`: the class-balanced replay buffer and the task split;
* :mod:`~mylib.contrastive.co2l`: Co2L's exact training objective (scaled SupCon + distillation);
* :mod:`~mylib.contrastive.continual`: the continual trainer and linear probe of Part II and their profiles.

The views' augmentations (:class:`~mylib.nn.augment.Augment` and the operations it chains) live in the one training
stack, :mod:`mylib.nn.augment`; they stay importable from here (``mylib.contrastive.Augment``).
"""
from . import losses, buffer, co2l, continual
from ..nn.augment import (Augment, color_jitter, gaussian_noise, random_crop, random_grayscale,  # noqa: F401
                          random_hflip, random_resized_crop)
from .losses import *  # noqa: F401,F403
from .buffer import *  # noqa: F401,F403
from .co2l import *  # noqa: F401,F403
from .continual import *  # noqa: F401,F403

_AUGMENT = ["random_crop", "random_resized_crop", "random_hflip", "color_jitter", "random_grayscale", "gaussian_noise",
            "Augment"]
__all__ = [*losses.__all__, *buffer.__all__, *co2l.__all__, *continual.__all__, *_AUGMENT]
