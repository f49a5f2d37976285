"""mylib: the library behind the executable monograph.

One module per theory:

=====================  ==========================================================
:mod:`mylib.matrix_info`  matrix entropy, matrix mutual information, MIR, HDR (Part I)
:mod:`mylib.collapse`     simplex ETF, Neural Collapse closed forms and NC1-NC4 (Part I)
:mod:`mylib.profiles`     profile names -> experiment sizes ("smoke", "full")
:mod:`mylib.runtime`      device, seeding, progress bars, checkpoints
:mod:`mylib.data`         offline datasets (digits) and CIFAR in the full profile
:mod:`mylib.style`        plotting house style (``import mylib.style``)
=====================  ==========================================================
"""
from . import profiles, runtime, data, experiments
from .experiments import summary
from .profiles import PROFILES, get_config, check_profile
from .runtime import get_device, seed_everything, progress, Checkpointer, run_dir

__version__ = "0.1.0"
