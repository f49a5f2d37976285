"""Part II. Contrastive continual learning.

:mod:`~mylib.contrastive.losses`     asymmetric SupCon, relation distillation, both sides of the bound and their
                                     margins, the transfer ratios rho_t, CILA
:mod:`~mylib.contrastive.buffer`     the class-balanced replay buffer and the task split
:mod:`~mylib.contrastive.co2l`       Co2L's exact training objective (scaled SupCon + distillation)
:mod:`~mylib.contrastive.continual`  the continual trainer and linear probe of Part II and their profiles
"""
from . import losses, buffer, co2l, continual
from .losses import *  # noqa: F401,F403
from .buffer import *  # noqa: F401,F403
from .co2l import *  # noqa: F401,F403
from .continual import *  # noqa: F401,F403

__all__ = [*losses.__all__, *buffer.__all__, *co2l.__all__, *continual.__all__]
