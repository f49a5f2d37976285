"""Profiles of the three Part IV notebooks (``notebooks/part4_*.md``): sizes per ``smoke`` / ``full``."""
from __future__ import annotations

from .. import profiles

# ----------------------------------------------------------------------------------------------------------------
# Profiles of the three notebooks (notebooks/part4_*.md).
profiles.register(
    "part4_double_descent",
    smoke=dict(
        n=40,                 # downstream training samples
        d=4,                  # hidden-state dimension of the linear-Gaussian HMM
        p_min=4, p_max=320,   # model sizes: log-spaced grid in [p_min, p_max] plus n-4, n-1, n, n+1, n+4
        n_p=20,
        reps=200,             # training sets per model size
        d_reveal=120,         # hidden-state dimension of the contrast (revealing) model
        n_p_reveal=20,
        reps_reveal=100,
        n_ridge=10,           # model sizes for the ridge head
        reps_intercept=400,   # training sets per size for the heads with an intercept (sizes around the peak)
    ),
    # n = 200 and model sizes up to 2000 (ten times the smoke scale; the paper tabulates no numbers). 250 training
    # sets per size (standard errors about 6 % of the spread over training sets) keep the notebook at about eight
    # CPU-minutes, so it runs on a CPU; on a GPU raise reps freely
    full=dict(
        n=200, d=10, p_min=10, p_max=2000, n_p=40, reps=250,
        d_reveal=600, n_p_reveal=40, reps_reveal=250, n_ridge=20, reps_intercept=500,
    ),
)
profiles.register(
    "part4_discrete_hmm",
    smoke=dict(
        K=6, V=12,            # hidden states and vocabulary of the degenerate experiment
        length=12,            # tokens seen by the frozen model before the prediction
        pool=20000,           # sequences in the finite population
        n=40, p_max=320, n_p=18, reps=200,
        K_ring=64,            # hidden states of the contrast (ring) HMM
        pool_ring=12000, n_ring=24, n_p_ring=20, reps_ring=150,
        K_tok=64, vocab_tok=8,  # ring HMM with a coarse vocabulary (arcs) for the next-token experiment
        pool_tok=12000, n_tok=40, n_p_tok=20, reps_tok=150,
    ),
    full=dict(
        K=10, V=40, length=32, pool=200000, n=200, p_max=2000, n_p=40, reps=800,
        K_ring=256, pool_ring=50000, n_ring=120, n_p_ring=40, reps_ring=500,
        K_tok=256, vocab_tok=8, pool_tok=50000, n_tok=120, n_p_tok=40, reps_tok=500,
    ),
)
profiles.register(
    "part4_explorer",
    # static_*: the grid of precomputed frames of the kernel-free explorer (mylib.static_explorer)
    smoke=dict(n=40, p_points=400, reveal_factor=3, check_reps=100,
               static_n=[20, 40, 80], static_strength=[0.3, 0.6, 0.8, 0.95], static_readout=[0.5, 0.9]),
    full=dict(n=200, p_points=2000, reveal_factor=3, check_reps=1000,
              static_n=[100, 200, 400], static_strength=[0.3, 0.6, 0.8, 0.95], static_readout=[0.5, 0.9]),
)
