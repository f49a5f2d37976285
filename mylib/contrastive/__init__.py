"""Part II. Contrastive continual learning.

:mod:`~mylib.contrastive.losses`     asymmetric SupCon, relation distillation, the bound, CILA, replay buffer
:mod:`~mylib.contrastive.continual`  the continual trainer and linear probe of Part II and their profiles
"""
from . import losses, continual
from .losses import *  # noqa: F401,F403
from .continual import *  # noqa: F401,F403

__all__ = [*losses.__all__, *continual.__all__]
