"""mylib: the library behind the executable monograph *Learning theory, executed*.

One subpackage per part of the book, on shared foundations:

==============================  ==================================================================
:mod:`mylib.information`        Part I: matrix entropy, MI, MIR, HDR; Neural Collapse; experiments
:mod:`mylib.contrastive`        Part II: Co2L losses, the bound, CILA; the continual trainer
:mod:`mylib.linear_cl`          Part III: regularized linear continual learning
:mod:`mylib.double_descent`     Part IV: hidden-Markov features and double descent of head tuning
:mod:`mylib.nn`                 one training stack: models, augmentation, fit/evaluate, probe
:mod:`mylib.linalg`             shared numerics (PSD solves, Haar orthonormal frames, entropies)
:mod:`mylib.stats`              shared statistics (mean and standard error, z-scores, paired differences)
:mod:`mylib.seeds`              one rule for every random stream
:mod:`mylib.profiles`           profile names -> experiment sizes ("smoke", "full")
:mod:`mylib.runtime`            device, seeding, progress bars, checkpoints
:mod:`mylib.data`               offline datasets (digits) and CIFAR in the full profile
:mod:`mylib.experiments`        run notebooks at a profile with run records (``python -m mylib.experiments``)
:mod:`mylib.records`            :func:`summary`: print a notebook's key numbers and record them
:mod:`mylib.style`              plotting house style (``import mylib.style``)
==============================  ==================================================================
"""
from . import profiles, runtime, data, records
from . import linalg, stats, seeds, nn, information, contrastive, linear_cl, double_descent
from .profiles import PROFILES, get_config, check_profile
from .runtime import get_device, seed_everything, progress, Checkpointer, run_dir
from .records import summary
from .information import matrix_entropy, mutual_information, mir, hdr, effective_rank
from .information import simplex_etf, nc_mir, nc_hdr, nc_metrics
from .contrastive import cila_lambdas, asym_supcon_loss, relation_distillation_loss
from .contrastive import co2l_loss
from .linear_cl import gr_error, optimal_gr_error
from .double_descent import ridgeless_risk

__version__ = "0.1.0"

__all__ = [
    "PROFILES", "get_config", "check_profile",
    "get_device", "seed_everything", "progress", "Checkpointer", "run_dir", "summary",
    "matrix_entropy", "mutual_information", "mir", "hdr", "effective_rank",
    "simplex_etf", "nc_mir", "nc_hdr", "nc_metrics",
    "cila_lambdas", "asym_supcon_loss", "relation_distillation_loss",
    "co2l_loss",
    "gr_error", "optimal_gr_error", "ridgeless_risk",
]
