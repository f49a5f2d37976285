"""One training stack for every experiment of the book: models, augmentation, the training loop
(fit, evaluate, checkpoint/resume, learning-rate schedules) and the linear probe."""
from . import training
from .training import *  # noqa: F401,F403
from .training import __all__ as _training_all

__all__ = list(_training_all)
