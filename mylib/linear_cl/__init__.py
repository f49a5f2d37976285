"""Part III. Regularized linear continual learning: estimators, exact error recursion, closed forms."""
from . import core
from .core import *  # noqa: F401,F403

__all__ = list(core.__all__)
