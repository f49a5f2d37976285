"""One training stack for every experiment of the book: models, augmentation, the training loop
(fit, evaluate, checkpoint/resume, learning-rate schedules) and the linear probe."""
from . import augment, models, probe, training
from .augment import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403
from .probe import *  # noqa: F401,F403
from .training import *  # noqa: F401,F403
from .training import __all__ as _training_all

__all__ = [*augment.__all__, *models.__all__, *probe.__all__, *_training_all]
