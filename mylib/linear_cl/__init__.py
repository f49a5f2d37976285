"""Part III. Regularized linear continual learning ({doc}`../book/part3_linear_cl`).

==========================================  ==============================================================
:mod:`mylib.linear_cl.tasks`                task sequences: fixed / Gaussian designs, covariate shift, ridge-gap family
:mod:`mylib.linear_cl.estimators`           GR and its special cases, batched; the Monte Carlo driver
:mod:`mylib.linear_cl.theory`               closed forms: the error recursion, oracle, minimum norm, optimal GR, tuned ridge
:mod:`mylib.linear_cl.experiments`          profiles and drivers of the Part III notebooks
==========================================  ==============================================================

Every public name of the four modules is re-exported here (``from mylib import linear_cl as lc; lc.gr_error``).
"""
from . import tasks, estimators, theory, experiments
from .tasks import *  # noqa: F401,F403
from .estimators import *  # noqa: F401,F403
from .theory import *  # noqa: F401,F403
from .experiments import *  # noqa: F401,F403
from ._common import _psd_solve  # noqa: F401  (used by tests)
from .theory import _ridge_grid  # noqa: F401  (used by tests)

__all__ = [*tasks.__all__, *estimators.__all__, *theory.__all__, *experiments.__all__]
