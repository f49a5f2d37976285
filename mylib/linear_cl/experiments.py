"""Part III experiment drivers and profiles: the explorer's curves, Monte Carlo tables, averages over task draws.

Profiles (``mylib.get_config(name, profile)``): ``part3_theory_vs_mc``, ``part3_paper_experiment``,
``part3_explorer``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import profiles
from ._common import _real_scalar
from .tasks import covariate_shift_tasks
from .theory import minnorm_error, optimal_gr_error, oracle_error, ridge_error, tune_ridge

__all__ = ["explorer_curves", "explorer_plot"]

profiles.register(
    "part3_theory_vs_mc",
    smoke=dict(p=12, T=6, n=8, shift_k=2, shift_value=10.0, sigma2=1.0, ridge_lam=0.5, reps_fixed=4000,
               p_under=6, n_under=14, T_under=4, p_over=20, n_over=4, T_over=3, reps_random=2000, es_steps=40),
    full=dict(p=12, T=6, n=8, shift_k=2, shift_value=10.0, sigma2=1.0, ridge_lam=0.5, reps_fixed=200000,
              p_under=6, n_under=14, T_under=4, p_over=20, n_over=4, T_over=3, reps_random=100000, es_steps=40),
)
profiles.register(
    "part3_paper_experiment",
    smoke=dict(p=200, T=20, n=150, sigmas2=(1.0, 5.0), shift_k=5, shift_value=100.0,
               reps_fixed=50, reps_random=2, random_chunk=2, kappas_mc=(2.0, 8.0), reps_family=4000),
    full=dict(p=200, T=20, n=150, sigmas2=(1.0, 5.0), shift_k=5, shift_value=100.0,
              reps_fixed=100, reps_random=100, random_chunk=10, kappas_mc=(2.0, 8.0), reps_family=100000),
)
profiles.register(
    "part3_explorer",
    smoke=dict(p=200, T=20, n=150, k=5, sigma2=1.0, lam=1.0, heterogeneity=100.0),
    full=dict(p=200, T=20, n=150, k=5, sigma2=1.0, lam=1.0, heterogeneity=100.0),
)



def explorer_curves(sigma2: float = 1.0, n: int = 150, T: int = 20, lam: float = 1.0,
                    heterogeneity: float = 100.0, p: int = 200, k: int = 5, seed: int = 0,
                    w_norm2: float | None = None) -> dict[str, np.ndarray]:
    r"""Theory curves (expected error after each task) for the fixed-design covariate-shift sequence of
    :func:`covariate_shift_tasks` with spike value ``heterogeneity`` (1 = homogeneous tasks) and
    :math:`\lVert w^*\rVert^2` = ``w_norm2`` (default ``p``): minimum norm ({prf:ref}`thm-lcl-minnorm-floor`),
    ridge with ``lam`` and oracle-tuned ridge ({prf:ref}`thm-lcl-recursion`), practical GR = oracle
    ({prf:ref}`prop-lcl-practical`) and optimal GR ({prf:ref}`thm-lcl-optimal`)."""
    w_norm2 = float(p) if w_norm2 is None else _real_scalar(w_norm2, "w_norm2")
    tasks = covariate_shift_tasks(T, p, n, k=k, value=heterogeneity, design="fixed", w_norm=np.sqrt(w_norm2),
                                  rng=seed)
    g, ns, e0 = tasks.gammas, tasks.ns, tasks.e0
    lam = _real_scalar(lam, "lam")
    return {
        "minimum norm": minnorm_error(g, ns, sigma2, e0),
        f"ridge (λ={lam:g})": minnorm_error(g, ns, sigma2, e0) if lam == 0 else ridge_error(g, lam, ns, sigma2, e0),
        "ridge (tuned)": tune_ridge(g, ns, sigma2, e0)[1],
        "practical GR = oracle": oracle_error(g, ns, sigma2, e0),
        "optimal GR": optimal_gr_error(g, ns, sigma2, e0),
    }


def explorer_plot(sigma2: float = 1.0, n: int = 150, T: int = 20, lam: float = 1.0,
                  heterogeneity: float = 100.0, p: int = 200, k: int = 5, seed: int = 0,
                  w_norm2: float | None = None, ax=None):
    """Plot :func:`explorer_curves` (log scale, labelled axes); returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    curves = explorer_curves(sigma2, n, T, lam, heterogeneity, p, k, seed, w_norm2)
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    t = np.arange(1, int(T) + 1)
    styles = ["--", "-.", "-.", ":", "-"]
    for (name, y), ls in zip(curves.items(), styles):
        ax.plot(t, y, ls, marker="o", ms=3, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("number of tasks t")
    ax.set_ylabel(r"expected error $E\|\hat w_t - w^*\|^2$")
    ax.set_title(f"σ² = {sigma2:g}, n_t = {n}, p = {p}, spike h = {heterogeneity:g}", fontsize=10)
    ax.legend(fontsize=9)
    return fig
