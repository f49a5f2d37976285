"""The explorer's figure of Part IV."""
from __future__ import annotations

import numpy as np

from .._checks import check_positive_int
from .theory import (ar1_noise_signal, decaying_chain_increments, deterministic_equivalent_risk, optimal_ridge,
                     reveal_risk, ridgeless_risk_terms)

__all__ = ["plot_double_descent"]

# ----------------------------------------------------------------------------------------------------------------
# The explorer's figure
def plot_double_descent(n: int = 40, state_noise: float = 1.0, readout: float = 0.9, strength: float = 0.8,
                        alpha: float = 2.0, reveal_factor: int = 3, p_points: int = 400, axes=None):
    """Draw the theory curves of Part IV for the isotropic HMM ``A = a I``, ``Q = q I`` (two panels).

    Left, the degenerate (spread) model ({prf:ref}`cor-dd-degenerate`): :func:`ridgeless_risk` with the noise and
    signal of :func:`ar1_noise_signal`, its bias and variance parts, the null head and the optimally tuned ridge
    head (:func:`deterministic_equivalent_risk` at :func:`optimal_ridge`). Right, the revealing contrast
    ({prf:ref}`prop-dd-reveal`) for :func:`decaying_chain` of dimension ``reveal_factor * n`` (:func:`reveal_risk`),
    with its best size marked.

    Parameters
    ----------
    n : int
        Training samples, ``>= 8``.
    state_noise, readout, strength : float
        ``q``, ``c`` and ``a`` of :func:`ar1_noise_signal`.
    alpha : float
        Decay exponent of :func:`decaying_chain`.
    reveal_factor : int
        The contrast's hidden dimension is ``reveal_factor * n``.
    p_points : int
        Points of the log grid of sizes.
    axes : two matplotlib axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For invalid HMM parameters (see :func:`ar1_noise_signal`) or sizes.
    """
    import matplotlib.pyplot as plt

    n = check_positive_int(n, "n", 8)
    p_points = check_positive_int(p_points, "p_points", 10)
    reveal_factor = check_positive_int(reveal_factor, "reveal_factor", 2)
    noise, signal = ar1_noise_signal(strength, state_noise, readout)
    total, inc = decaying_chain_increments(reveal_factor * n, strength, state_noise, readout, alpha)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    else:
        fig = axes[0].figure
    p = np.unique(np.concatenate([np.geomspace(1, 10 * n, p_points), [n - 1, n, n + 1]]))
    t = ridgeless_risk_terms(p, n, noise, signal)
    total_risk = t["noise"] + t["bias"] + t["variance"]
    ax = axes[0]
    ax.plot(p, total_risk, color="C0", lw=2, label="min-norm head")
    ax.plot(p, t["noise"] + t["variance"], color="C1", ls="--", lw=1, label="noise + variance")
    ax.plot(p, t["noise"] + t["bias"], color="C2", ls=":", lw=1.5, label="noise + bias")
    pr = np.unique(np.round(p).astype(int))
    if signal > 0:
        rr = [deterministic_equivalent_risk(np.ones(q), np.full(q, signal / q), n, noise,
                                            ridge=optimal_ridge(q, n, noise, signal)) for q in pr]
        ax.plot(pr, rr, color="C3", lw=1.5, label="optimal ridge (det. equiv.)")
    ax.axvline(n, color="grey", lw=0.8)
    ax.axhline(noise + signal, color="grey", lw=0.8, ls="-.", label="null head")
    ax.set_xscale("log")
    ax.set_yscale("log")
    top = max(10 * (noise + signal), 2 * noise)
    ax.set_ylim(max(0.8 * noise, 1e-3 * top), top)
    ax.set_xlabel("model size p (representation width)")
    ax.set_ylabel("expected test risk per output")
    ax.set_title(f"degenerate: noise {noise:.3g}, signal {signal:.3g}", fontsize=10)
    ax.legend(fontsize=8)
    ps = np.arange(0, inc.size + 1)
    rv = reveal_risk(ps, n, total, inc)
    best = int(ps[np.argmin(rv)])
    ax = axes[1]
    ax.plot(ps[1:], rv[1:], color="C4", lw=2, label="revealing read-out")
    ax.plot([best], [rv[best]], "o", color="C4", ms=7, label=f"best size p = {best}")
    ax.axvline(n, color="grey", lw=0.8)
    ax.axhline(total, color="grey", lw=0.8, ls="-.", label="null head")
    ax.set_yscale("log")
    finite = rv[np.isfinite(rv)]
    ax.set_ylim(0.8 * finite.min(), 10 * total)
    ax.set_xlabel("model size p (revealed directions)")
    ax.set_ylabel("expected test risk per output")
    ax.set_title(f"contrast: D = {inc.size}, q_j ~ (j+1)^-{alpha:g}", fontsize=10)
    ax.legend(fontsize=8)
    return fig
