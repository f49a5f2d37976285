"""mylib: the library behind the executable monograph *Learning theory, executed*.

One module per theory, each citing the book's labels in its docstrings:

========================  ======================================================================
:mod:`mylib.matrix_info`  matrix entropy, matrix mutual information, MIR, HDR (Part I)
:mod:`mylib.collapse`     simplex ETF, Neural Collapse closed forms, NC1-NC4 (Part I)
:mod:`mylib.training`     models and the training loop with hooks and checkpoints (Part I experiments)
:mod:`mylib.nc_experiments`  drivers of the Part I experiments (dynamics, losses, grokking, connectivity)
:mod:`mylib.contrastive`  asymmetric SupCon, relation distillation, the bound, CILA (Part II)
:mod:`mylib.contrastive_train`  encoders, continual trainer and linear probe of Part II
:mod:`mylib.linear_cl`    regularized linear continual learning: estimators and closed forms (Part III)
:mod:`mylib.hmm`          hidden-Markov features, least-squares heads and double descent risks (Part IV)
:mod:`mylib.profiles`     profile names -> experiment sizes ("smoke", "full")
:mod:`mylib.runtime`      device, seeding, progress bars, checkpoints
:mod:`mylib.data`         offline datasets (digits) and CIFAR in the full profile
:mod:`mylib.experiments`  run notebooks at a profile with run records (``python -m mylib.experiments``)
:mod:`mylib.records`      :func:`summary`: print a notebook's key numbers and record them
:mod:`mylib.style`        plotting house style (``import mylib.style``)
========================  ======================================================================
"""
from . import profiles, runtime, data, records
from . import matrix_info, collapse, training, nc_experiments, contrastive, contrastive_train, linear_cl, hmm
from .profiles import PROFILES, get_config, check_profile
from .runtime import get_device, seed_everything, progress, Checkpointer, run_dir
from .records import summary
from .matrix_info import matrix_entropy, mutual_information, mir, hdr, effective_rank
from .collapse import simplex_etf, nc_mir, nc_hdr, nc_metrics
from .contrastive import cila_lambdas, asym_supcon_loss, relation_distillation_loss
from .linear_cl import gr_error, optimal_gr_error
from .hmm import ridgeless_risk

__version__ = "0.1.0"

__all__ = [
    "PROFILES", "get_config", "check_profile",
    "get_device", "seed_everything", "progress", "Checkpointer", "run_dir", "summary",
    "matrix_entropy", "mutual_information", "mir", "hdr", "effective_rank",
    "simplex_etf", "nc_mir", "nc_hdr", "nc_metrics",
    "cila_lambdas", "asym_supcon_loss", "relation_distillation_loss",
    "gr_error", "optimal_gr_error", "ridgeless_risk",
]
