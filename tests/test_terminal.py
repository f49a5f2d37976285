"""Tests of mylib.information.terminal: the UFM reaches the theorem, the network driver, the bound along runs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import mylib
from mylib.data import TensorData
from mylib.information import collapse as nc
from mylib.information import terminal as tc


def test_profiles_registered():
    for profile in mylib.PROFILES:
        cfg = mylib.get_config("part1_terminal_collapse", profile)
        assert cfg.net_width >= 9 and min(cfg.ufm_C) >= 3 and len(cfg.net_seeds) >= 3


@pytest.mark.parametrize("C", [3, 10])
def test_ufm_reaches_neural_collapse(C):
    h = tc.train_ufm(C, 5, C + 1, 1000, eval_every=250, seed=1)
    v = tc.terminal_values(h)
    assert h["train_acc"][-1] == 1.0
    assert max(v.values()) < 1e-3
    assert h["nc1"][-1] < 1e-6 and h["nc3"][-1] < 1e-3 and h["nc4"][-1] == 0.0
    # it starts far from collapse (the check can fail)
    assert abs(h["MIR"][0] - h["mir_nc"]) > 0.05
    # the final features are collapsed onto an ETF: the theorem's value from the library's MIR
    s = mylib.information.information_summary(nc.center_rows(h["H"]), h["W"][h["y"]])
    assert abs(s["MIR"] - nc.nc_mir(C)) < 1e-3


def test_ufm_without_enough_steps_is_not_collapsed():
    """Mutation of the recipe: 20 steps are far from the terminal phase, and the checks above fail."""
    h = tc.train_ufm(10, 5, 11, 20, eval_every=10, seed=1)
    assert max(tc.terminal_values(h).values()) > 1e-3


def test_ufm_deterministic_and_seeded():
    a = tc.train_ufm(3, 4, 3, 30, eval_every=10, seed=2)
    b = tc.train_ufm(3, 4, 3, 30, eval_every=10, seed=2)
    c = tc.train_ufm(3, 4, 3, 30, eval_every=10, seed=3)
    assert np.array_equal(a["H"], b["H"]) and not np.array_equal(a["H"], c["H"])


@pytest.mark.parametrize("kwargs,msg", [
    (dict(C=2), "C must be"), (dict(d=1), "d must be >= C - 1"), (dict(steps=0), "steps"),
    (dict(lr=0.0), "lr and weight_decay"), (dict(weight_decay=-1.0), "weight_decay"), (dict(seed=-1), "seed"),
])
def test_ufm_bad_input(kwargs, msg):
    args = dict(C=3, n_per_class=2, d=3, steps=5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=msg):
        tc.train_ufm(**args)


def test_balanced_subset():
    y = torch.tensor([0, 1, 1, 2, 2, 2, 0, 1])
    d = tc.balanced_subset(TensorData(torch.arange(8.0)[:, None], y))
    assert torch.equal(torch.bincount(d.y), torch.tensor([2, 2, 2]))
    assert d.x[:, 0].tolist() == [0.0, 6.0, 1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="per_class"):
        tc.balanced_subset(TensorData(torch.zeros(8, 1), y), per_class=3)


def test_collapse_history_record_at_exact_collapse():
    H, y, M = nc.collapsed_features(5, 4, 6, seed=0)
    r = tc.collapse_history_record(H + 0.3, y, 2.0 * M)  # uncentred features: the record centres them
    assert set(r) == set(tc.HISTORY_KEYS)
    assert abs(r["MIR"] - nc.nc_mir(5)) < 1e-10 and abs(r["MIR_class"] - nc.nc_mir(5)) < 1e-10
    assert r["HDR"] < 1e-10 and r["nu"] < 1e-10 and r["eps_W"] < 1e-10 and r["eps_M"] < 1e-10


def test_network_driver_smoke():
    h = tc.train_terminal_network(width=16, depth=1, epochs=40, eval_every=20, seed=0, device="cpu")
    assert list(h["epoch"]) == [0, 20, 40]
    assert h["train_acc"][-1] > 0.5 and h["n_train"] % 10 == 0
    for k in tc.HISTORY_KEYS:
        assert np.all(np.isfinite(h[k])), k
    with pytest.raises(ValueError, match="width >= C - 1"):
        tc.train_terminal_network(width=4, epochs=1)
    with pytest.raises(ValueError, match="model"):
        tc.train_terminal_network(model="wrn", epochs=1)


def test_terminal_values_errors():
    with pytest.raises(ValueError, match="MIR"):
        tc.terminal_values({"HDR": [0.0]})


def test_dry_run_caps_the_evaluation_cost(monkeypatch):
    """A dry run of the full profile (issue 14) summarises 5 samples per class in the UFM and records the classes a
    network's capped evaluation sees; outside a dry run every sample is summarised."""
    monkeypatch.setenv(mylib.runtime.DRYRUN_ENV, "1")
    h = tc.train_ufm(4, 20, 5, 5000, eval_every=10, seed=0)
    assert list(h["step"]) == [0, 10, 20]  # steps capped at two evaluations
    sub = (np.arange(4)[:, None] * 20 + np.arange(5)).ravel()  # the first 5 samples of each class
    assert tc.collapse_history_record(h["H"][sub], h["y"][sub], h["W"]) == {k: h[k][-1] for k in tc.HISTORY_KEYS}
    assert tc.collapse_history_record(h["H"], h["y"], h["W"])["MIR"] != h["MIR"][-1]  # not all 80 samples
    net = tc.train_terminal_network(width=16, depth=1, epochs=1000, eval_every=500, seed=0, device="cpu")
    assert list(net["epoch"]) == [0, 2]
    for k in tc.HISTORY_KEYS:
        assert np.all(np.isfinite(net[k])), k
    monkeypatch.setenv(mylib.runtime.DRYRUN_ENV, "0")
    h = tc.train_ufm(4, 20, 5, 20, eval_every=10, seed=0)
    assert tc.collapse_history_record(h["H"], h["y"], h["W"]) == {k: h[k][-1] for k in tc.HISTORY_KEYS}
