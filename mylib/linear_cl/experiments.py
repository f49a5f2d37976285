"""Part III experiment drivers and profiles: the explorer's curves, Monte Carlo tables, averages over task draws.

Profiles (``mylib.get_config(name, profile)``): ``part3_theory_vs_mc``, ``part3_paper_experiment``,
``part3_explorer``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import profiles, seeds, stats
from .._checks import check_positive_int
from ..runtime import dry_run_cap
from ._common import _real_scalar
from .estimators import mc_summary, memory_floats, memory_xis
from .tasks import TaskSequence, covariate_shift_tasks, isotropic_tasks
from .theory import (gr_error_design, memory_error, minnorm_error, optimal_gr_error, oracle_error, ridge_error, tune_ridge)

__all__ = ["PAPER_METHODS", "closed_form_errors", "paper_tasks", "draw_study", "memory_study", "mc_table",
           "full_profile_comparison",
           "explorer_curves", "explorer_plot"]

#: The learners of the paper's experiment, in the order the figures and tables show them.
PAPER_METHODS = ("oracle", "minimum norm", "ridge (greedy)", "ridge (joint)", "practical GR", "optimal GR")

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
               reps_fixed=50, reps_random=2, random_chunk=2, kappas_mc=(2.0, 8.0), reps_family=4000,
               draws=8, draws_memory=2, ranks=(1, 5, 20, 50, 100)),
    full=dict(p=200, T=20, n=150, sigmas2=(1.0, 5.0), shift_k=5, shift_value=100.0,
              reps_fixed=100, reps_random=100, random_chunk=10, kappas_mc=(2.0, 8.0), reps_family=100000,
              draws=100, draws_memory=20, ranks=(1, 5, 20, 50, 100)),
)
profiles.register(
    "part3_explorer",
    smoke=dict(p=200, T=20, n=150, k=5, sigma2=1.0, lam=1.0, heterogeneity=100.0,
               static_sigma2=(0.1, 1.0, 10.0), static_lam=(0.1, 1.0, 10.0), static_h=(1.0, 10.0, 100.0, 1000.0)),
    full=dict(p=200, T=20, n=150, k=5, sigma2=1.0, lam=1.0, heterogeneity=100.0,
              static_sigma2=(0.1, 1.0, 10.0), static_lam=(0.1, 1.0, 10.0), static_h=(1.0, 10.0, 100.0, 1000.0)),
)



def closed_form_errors(gammas: Any, ns: Any, sigma2: float, e0: Any,
                       methods: Sequence[str] = PAPER_METHODS) -> dict[str, np.ndarray]:
    """Expected error after each task of the named learners in the fixed design, from their closed forms.

    The method -> closed-form map of Part III: ``"oracle"`` and ``"practical GR"`` ({prf:ref}`thm-lcl-oracle`,
    {prf:ref}`prop-lcl-practical`: :func:`oracle_error`), ``"minimum norm"`` ({prf:ref}`thm-lcl-minnorm-floor`:
    :func:`minnorm_error`), ``"ridge (greedy)"``, ``"ridge (joint)"``, ``"ridge (constant)"`` (oracle-tuned ridge,
    :func:`tune_ridge` with that mode, {prf:ref}`thm-lcl-recursion`), ``"optimal GR"`` ({prf:ref}`thm-lcl-optimal`:
    :func:`optimal_gr_error`).

    Parameters
    ----------
    gammas, ns, sigma2, e0
        As in :func:`gr_error`.
    methods : sequence of str
        Names from the list above.

    Returns
    -------
    dict
        name -> ``(T,)`` expected errors.

    Raises
    ------
    ValueError
        For an unknown method name.
    """
    out = {}
    for name in methods:
        if name in ("oracle", "practical GR"):
            out[name] = oracle_error(gammas, ns, sigma2, e0)
        elif name == "minimum norm":
            out[name] = minnorm_error(gammas, ns, sigma2, e0)
        elif name == "optimal GR":
            out[name] = optimal_gr_error(gammas, ns, sigma2, e0)
        elif name.startswith("ridge (") and name[7:-1] in ("greedy", "joint", "constant"):
            out[name] = tune_ridge(gammas, ns, sigma2, e0, mode=name[7:-1])[1]
        else:
            raise ValueError(f"unknown method {name!r}; known: {PAPER_METHODS + ('ridge (constant)',)}")
    return out


def paper_tasks(cfg: Any, shift: bool, design: str, rng: Any) -> TaskSequence:
    """The task sequence of the paper's experiment ({doc}`../notebooks/part3_paper_experiment`) for profile ``cfg``.

    ``cfg.T`` tasks of ``cfg.n`` samples in dimension ``cfg.p``, :math:`\\lVert w^*\\rVert^2 = p`; with ``shift``,
    ``cfg.shift_k`` directions per task have eigenvalue ``cfg.shift_value`` (:func:`covariate_shift_tasks`), else
    :func:`isotropic_tasks`.

    Parameters
    ----------
    cfg : Config
        ``mylib.get_config("part3_paper_experiment", profile)``.
    shift : bool
    design : {"fixed", "random"}
    rng : int or numpy.random.Generator

    Returns
    -------
    TaskSequence
    """
    w_norm = np.sqrt(cfg.p)
    if shift:
        return covariate_shift_tasks(cfg.T, cfg.p, cfg.n, k=cfg.shift_k, value=cfg.shift_value, design=design,
                                     w_norm=w_norm, rng=rng)
    return isotropic_tasks(cfg.T, cfg.p, cfg.n, design=design, w_norm=w_norm, rng=rng)


def draw_study(cfg: Any, sigma2: float, shift: bool, draws: int, seed: int = 0,
               methods: Sequence[str] = PAPER_METHODS) -> dict[str, np.ndarray]:
    """Closed-form errors over independent draws of the fixed-design task sequence (which directions each task
    observes, which are spiked, :math:`V`, :math:`w^*`).

    Draw ``d`` uses the stream ``seeds.numpy_rng("part3-task-draw", seed, d)``, so draw 0 of one setting is the
    same sequence whatever ``draws`` is.

    Returns
    -------
    dict
        name -> ``(draws, T)`` expected errors (:func:`closed_form_errors`).

    Implements the averages over draws of {doc}`../notebooks/part3_paper_experiment`.

    Parameters
    ----------
    cfg : Config
        As in :func:`paper_tasks`.
    sigma2 : float
    shift : bool
    draws : int
    seed : int
    methods : sequence of str
        Names known to :func:`closed_form_errors`.

    Raises
    ------
    ValueError
        ``draws < 1`` or an unknown method.
    """
    draws = dry_run_cap(check_positive_int(draws, "draws"), 3)  # a dry run of the full profile: 3 draws
    out = {name: [] for name in methods}
    for d in range(draws):
        tasks = paper_tasks(cfg, shift, "fixed", seeds.numpy_rng("part3-task-draw", int(seed), d))
        for name, err in closed_form_errors(tasks.gammas, tasks.ns, sigma2, tasks.e0, methods).items():
            out[name].append(err)
    return {name: np.array(v) for name, v in out.items()}


def memory_study(tasks: TaskSequence, sigma2: float, ranks: Sequence[int] = (1, 5, 20, 50, 100)
                 ) -> dict[str, dict[str, Any]]:
    """Error against memory for one task sequence: what each learner stores between tasks and its exact error.

    Learners: minimum norm (stores nothing), greedy-tuned ridge (one scalar), the diagonal Fisher of EWC, the
    online rank-``k`` Gram for each ``k`` in ``ranks``, the last task's Gram, and the full Gram (= oracle,
    {prf:ref}`prop-lcl-practical`); see :func:`memory_xis` and :func:`memory_floats`. The errors are exact given
    the designs: :func:`gr_error_design` for the diagonal Fisher, the recursion (:func:`memory_error`,
    :func:`minnorm_error`, :func:`tune_ridge`) for the others, so for a fixed design they are the expected errors.
    The rank-``k`` truncation is the one aligned with the common basis (see :func:`memory_lams`).

    Returns
    -------
    dict
        name -> ``{"memory": int, "errors": (T,) array, "kind": str}``.

    Parameters
    ----------
    tasks : TaskSequence
        A fixed design (the memory-limited errors are exact given the designs).
    sigma2 : float
    ranks : sequence of int
        Ranks of the low-rank memories.

    Raises
    ------
    ValueError
        A rank outside ``[1, p]``, negative ``sigma2``.
    """
    s2 = _real_scalar(sigma2, "sigma2")
    p, n = tasks.p, int(tasks.ns[0])
    g, ns, e0 = tasks.gammas, tasks.ns, tasks.e0
    out = {"minimum norm": {"kind": "minnorm", "memory": 0, "errors": minnorm_error(g, ns, s2, e0)},
           "ridge (greedy)": {"kind": "ridge", "memory": 1, "errors": tune_ridge(g, ns, s2, e0)[1]}}
    out["diagonal Fisher (EWC)"] = {"kind": "diagonal", "memory": memory_floats("diagonal", p),
                                    "errors": gr_error_design(tasks.X, memory_xis(tasks.X, "diagonal"),
                                                              tasks.w_star, s2)}
    plan = [(f"rank-{k} Gram", "lowrank", int(k)) for k in ranks]
    plan += [("last task's Gram", "last", None), ("full Gram (= oracle)", "full", None)]
    for name, kind, k in plan:
        out[name] = {"kind": kind, "memory": memory_floats(kind, p, k, n),
                     "errors": memory_error(g, ns, s2, e0, kind, k)}
    return out


def mc_table(mc: dict[str, np.ndarray], theory: dict[str, Any], steps: Sequence[int] | None = None):
    """Monte Carlo against theory per method and task, as a :class:`pandas.DataFrame`.

    Columns ``method``, ``t``, ``theory`` (6 significant digits), ``MC mean``, ``SE``, ``z``, ``rel. err`` (strings,
    for printing) and the numbers ``_z``, ``_rel`` (:func:`mc_summary`), with ``rel. err``
    :math:`= |\\bar e - e|/e` and ``z`` :math:`= (\\bar e - e)/\\mathrm{SE}` from :func:`mylib.stats.mc_agreement`.
    Part IV's :func:`mylib.double_descent.experiments.format_curve` prints the same comparison for a curve that is
    already summarised (mean and SE per model size), as fixed-width text with a signed relative error; the two
    formats are kept because the notebooks print them.

    Parameters
    ----------
    mc : dict
        name -> ``(reps, T)`` squared errors (:func:`monte_carlo`).
    theory : dict
        name -> ``(T,)`` closed form; every name of ``mc`` must be present.
    steps : sequence of int, optional
        Task indices (0-based) to show; default all.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValueError
        A method of ``mc`` without theory.
    """
    import pandas as pd

    rows = []
    for name, errors in mc.items():
        if name not in theory:
            raise ValueError(f"theory has no entry for method {name!r}")
        s = mc_summary(errors, theory[name])
        for t in (range(errors.shape[1]) if steps is None else steps):
            rows.append({"method": name, "t": t + 1, "theory": f"{s['theory'][t]:.6g}",
                         "MC mean": f"{s['mean'][t]:.4f}", "SE": f"{s['se'][t]:.4f}", "z": f"{s['z'][t]:+.2f}",
                         "rel. err": f"{s['rel'][t]:.4f}", "_z": s["z"][t], "_rel": s["rel"][t]})
    return pd.DataFrame(rows)


def full_profile_comparison(notebook: str, recorded: dict[str, Any], results: str = "../results",
                            seed: int = 0):
    """This run's key numbers next to those of the committed full-profile run record of ``notebook``.

    Parameters
    ----------
    notebook : str
        Notebook stem, e.g. ``"part3_paper_experiment"``.
    recorded : dict
        The numbers this run reported (what :func:`mylib.summary` returned).
    results : str
        The results folder (``results/full/<notebook>-seed<seed>.json`` is read).
    seed : int
        Seed of the full-profile record.

    Returns
    -------
    (pandas.DataFrame, dict) or None
        One row per key (``this run``, ``full profile``; ``-`` where a side lacks the key) and the record's
        metadata (device, wall time, finished); None when no record is committed.
    """
    import json
    from pathlib import Path

    import pandas as pd

    path = Path(results) / "full" / f"{notebook}-seed{int(seed)}.json"
    if not path.exists():
        return None
    rec = json.loads(path.read_text())
    theirs = rec.get("numbers", {})
    keys = list(recorded) + [k for k in theirs if k not in recorded]  # this run's order, then the record's extras
    table = pd.DataFrame({"this run": [str(recorded[k]) if k in recorded else "-" for k in keys],
                          "full profile": [str(theirs[k]) if k in theirs else "-" for k in keys]}, index=keys)
    meta = {k: rec.get(k) for k in ("device", "wall_time_s", "finished", "status")}
    return table, meta


def explorer_curves(sigma2: float = 1.0, n: int = 150, T: int = 20, lam: float = 1.0,
                    heterogeneity: float = 100.0, p: int = 200, k: int = 5, seed: int = 0,
                    w_norm2: float | None = None) -> dict[str, np.ndarray]:
    r"""Theory curves (expected error after each task) for the fixed-design covariate-shift sequence of
    :func:`covariate_shift_tasks` with spike value ``heterogeneity`` (1 = homogeneous tasks) and
    :math:`\lVert w^*\rVert^2` = ``w_norm2`` (default ``p``): minimum norm ({prf:ref}`thm-lcl-minnorm-floor`),
    ridge with ``lam`` and greedily oracle-tuned ridge (:func:`tune_ridge`, {prf:ref}`thm-lcl-recursion`), practical GR = oracle
    ({prf:ref}`prop-lcl-practical`) and optimal GR ({prf:ref}`thm-lcl-optimal`).

    Parameters
    ----------
    sigma2, n, T, lam, heterogeneity, p, k, seed
        Noise, sample size per task, number of tasks, fixed ridge parameter, spike value, dimension, spiked
        directions per task, seed of the task sequence.
    w_norm2 : float, optional
        :math:`\lVert w^*\rVert^2` (default ``p``).

    Returns
    -------
    dict
        name -> ``(T,)`` expected errors.

    Raises
    ------
    ValueError
        Bad sizes or negative parameters.
    """
    w_norm2 = float(p) if w_norm2 is None else _real_scalar(w_norm2, "w_norm2")
    tasks = covariate_shift_tasks(T, p, n, k=k, value=heterogeneity, design="fixed", w_norm=np.sqrt(w_norm2),
                                  rng=seed)
    g, ns, e0 = tasks.gammas, tasks.ns, tasks.e0
    lam = _real_scalar(lam, "lam")
    return {
        "minimum norm": minnorm_error(g, ns, sigma2, e0),
        f"ridge (λ={lam:g})": minnorm_error(g, ns, sigma2, e0) if lam == 0 else ridge_error(g, lam, ns, sigma2, e0),
        "ridge (greedy-tuned)": tune_ridge(g, ns, sigma2, e0)[1],
        "practical GR = oracle": oracle_error(g, ns, sigma2, e0),
        "optimal GR": optimal_gr_error(g, ns, sigma2, e0),
    }


def explorer_plot(sigma2: float = 1.0, n: int = 150, T: int = 20, lam: float = 1.0,
                  heterogeneity: float = 100.0, p: int = 200, k: int = 5, seed: int = 0,
                  w_norm2: float | None = None, ax=None):
    """Plot :func:`explorer_curves` (log scale, labelled axes); returns the matplotlib figure.

    Parameters
    ----------
    sigma2, n, T, lam, heterogeneity, p, k, seed, w_norm2
        As in :func:`explorer_curves`.
    ax : matplotlib.axes.Axes, optional
        Draw there instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
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
