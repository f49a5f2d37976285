"""Part I. Matrix information and Neural Collapse ({doc}`../book/part1_matrix_information`).

:mod:`~mylib.information.matrix_info`  matrix entropy, mutual information, MIR, HDR
:mod:`~mylib.information.collapse`     simplex ETF, Neural Collapse closed forms, NC1-NC4
:mod:`~mylib.information.experiments`  drivers of the Part I experiments and their profiles
:mod:`~mylib.information.terminal`     training into collapse: unconstrained features, a network in its terminal phase
"""
from . import matrix_info, collapse, experiments
from . import terminal
from .matrix_info import *  # noqa: F401,F403
from .collapse import *  # noqa: F401,F403
from .experiments import *  # noqa: F401,F403
from .terminal import *  # noqa: F401,F403

__all__ = [*matrix_info.__all__, *collapse.__all__, *experiments.__all__]
__all__ += terminal.__all__
