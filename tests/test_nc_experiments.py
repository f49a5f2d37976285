"""Tests of mylib.information: metrics against closed forms, losses, and the four drivers at tiny sizes."""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mylib
from mylib.information import collapse, matrix_info
from mylib.information import experiments as E
from mylib.nn import training as nn
from mylib.data import TensorData

CPU = torch.device("cpu")
HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


# ----------------------------------------------------------------------------- minibatch information
def test_minibatch_information_equals_per_batch_summaries():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((150, 6))
    W = rng.standard_normal((4, 6))[rng.integers(0, 4, 150)]
    out = E.minibatch_information(Z, W, batch_size=64)  # batches of 64, 64 and 22
    assert out["MIR_batches"].shape == (3,)
    for b, (s, e) in enumerate([(0, 64), (64, 128), (128, 150)]):
        ref = matrix_info.information_summary(Z[s:e], W[s:e])
        assert out["MIR_batches"][b] == pytest.approx(ref["MIR"], rel=1e-9, abs=1e-12)
        assert out["HDR_batches"][b] == pytest.approx(ref["HDR"], rel=1e-9, abs=1e-12)
    assert out["MIR"] == pytest.approx(out["MIR_batches"].mean())
    # torch float32 input gives the same numbers to float32 accuracy
    out32 = E.minibatch_information(torch.tensor(Z, dtype=torch.float32), torch.tensor(W, dtype=torch.float32))
    assert out32["MIR"] == pytest.approx(out["MIR"], abs=1e-4)


def test_minibatch_information_at_neural_collapse_matches_theorem():
    C = 4
    H, y, M = collapse.collapsed_features(C, n_per_class=16, d=8, seed=1)
    perm = np.random.default_rng(0).permutation(len(y))  # each batch of 64 holds all classes
    out = E.minibatch_information(H[perm], M[y[perm]], batch_size=len(y))
    assert out["MIR"] == pytest.approx(collapse.nc_mir(C), abs=1e-10)
    assert out["HDR"] == pytest.approx(0.0, abs=1e-10)


def test_minibatch_information_skips_degenerate_batches_and_validates():
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((8, 3))
    W = np.vstack([np.ones((4, 3)), rng.standard_normal((4, 3))])  # first batch: one head -> H = 0
    out = E.minibatch_information(Z, W, batch_size=4)
    assert math.isnan(out["MIR_batches"][0]) and np.isfinite(out["MIR_batches"][1])
    assert out["MIR"] == pytest.approx(out["MIR_batches"][1])
    with pytest.raises(ValueError, match="same number of rows"):
        E.minibatch_information(Z, W[:5])
    with pytest.raises(ValueError, match="batch_size"):
        E.minibatch_information(Z, W, batch_size=1)
    Z0 = Z.copy()
    Z0[2] = 0
    with pytest.raises(ValueError, match="all-zero row"):
        E.minibatch_information(Z0, W)
    Zn = Z.copy()
    Zn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        E.minibatch_information(Zn, W)


# ----------------------------------------------------------------------------- hooks
def _collapsed_context(C=5, n_per_class=12, d=8):
    H, y, M = collapse.collapsed_features(C, n_per_class, d, seed=2)
    model = nn.MLP(3, C, width=d)
    with torch.no_grad():
        model.fc.weight.copy_(torch.tensor(M, dtype=torch.float32))
        model.fc.bias.zero_()
    feats = torch.tensor(H, dtype=torch.float32)
    labels = torch.tensor(y)
    data = TensorData(torch.zeros(len(y), 3), labels)
    return nn.EpochContext(model, 1, data, data, feats, feats @ model.fc.weight.T, labels), C


def test_information_hook_at_neural_collapse():
    ctx, C = _collapsed_context()
    out = E.information_hook(batch_size=20, theorem_C=C)(ctx)
    assert out["mir"] == pytest.approx(collapse.nc_mir(C), abs=1e-6)
    assert out["hdr"] == pytest.approx(0.0, abs=1e-6)
    assert out["mir_gap"] == pytest.approx(0.0, abs=1e-6)
    assert out["H_features"] == pytest.approx(math.log(C - 1), abs=1e-6)
    assert out["zero_rows"] == 0
    # all-zero feature rows are left out, and counted
    ctx.test_features[:3] = 0
    out0 = E.information_hook(batch_size=20)(ctx)
    assert out0["zero_rows"] == 3 and np.isfinite(out0["mir"])
    capped = E.information_hook(batch_size=20, max_samples=30)(ctx)
    ref = matrix_info.information_summary(ctx.test_features[3:33].double(),
                                          nn.head_rows(ctx.model, ctx.test_labels[3:33]).detach().double())
    assert capped["mir"] == pytest.approx(float(ref["MIR"]))


def test_collapse_hook_at_neural_collapse_and_validation():
    ctx, C = _collapsed_context()
    out = E.collapse_hook("test")(ctx)
    assert set(out) == {"nc1", "nc2_means", "nc2_heads", "nc3", "nc4"}
    for k, v in out.items():
        assert v == pytest.approx(0.0, abs=1e-5), k
    with pytest.raises(ValueError, match="train"):
        E.collapse_hook("val")


def test_correlations():
    x = np.arange(10.0)
    out = E.correlations(x, {"lin": 2 * x + 1, "cubic": x ** 3, "neg": -x, "flat": np.ones(10)})
    assert out["lin"]["pearson"] == pytest.approx(1.0)
    assert out["cubic"]["spearman"] == pytest.approx(1.0) and out["cubic"]["pearson"] < 1
    assert out["neg"]["spearman"] == pytest.approx(-1.0)
    assert math.isnan(out["flat"]["pearson"])
    with pytest.raises(ValueError, match="shape"):
        E.correlations(x, {"short": x[:5]})


# ----------------------------------------------------------------------------- information losses
def test_info_regularized_loss_formula_and_gradients():
    torch.manual_seed(0)
    model = nn.MLP(4, 3, width=6)
    x, y = torch.randn(16, 4), torch.arange(16) % 3
    z = model.features(x)
    logits = model.fc(z)
    ce = F.cross_entropy(logits, y)
    assert torch.equal(E.info_regularized_loss()(logits, y, z, model), ce)
    s = matrix_info.information_summary(z, model.fc.weight[y])
    loss = E.info_regularized_loss(0.3, 0.2)(logits, y, z, model)
    torch.testing.assert_close(loss, ce - 0.3 * s["MI"] + 0.2 * torch.abs(s["H1"] - s["H2"]))
    loss.backward()
    assert model.fc.weight.grad is not None and torch.isfinite(model.fc.weight.grad).all()
    assert model.body[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="lam_mi"):
        E.info_regularized_loss(-0.1)


def test_paired_ci_matches_a_paired_t_test():
    from scipy import stats as sps

    rng = np.random.default_rng(3)
    b = rng.normal(0.9, 0.02, 12)
    a = b + rng.normal(0.004, 0.003, 12)
    d = E.paired_ci(a, b)
    lo, hi = sps.ttest_rel(a, b).confidence_interval(0.95)
    assert (d["lo"], d["hi"]) == pytest.approx((lo, hi), rel=1e-10)
    assert d["n"] == 12 and d["resolved"] == (lo > 0 or hi < 0)
    # an effect far below its noise is not resolved; the same effect with little noise is
    noisy = E.paired_ci(b + 0.001 + rng.normal(0, 0.02, 12), b)
    assert not noisy["resolved"] and noisy["lo"] < 0 < noisy["hi"]
    assert E.paired_ci(b + 0.001 + rng.normal(0, 1e-5, 12), b)["resolved"]
    with pytest.raises(ValueError, match="level"):
        E.paired_ci(a, b, level=1.5)
    with pytest.raises(ValueError, match="paired"):
        E.paired_ci(a, b[:5])


def test_terminal_start_and_phase_correlations():
    h = {"epoch": np.arange(8.0), "train_acc": np.array([.1, .5, .9, 1, 1, 1, 1, 1]),
         "test_acc": np.array([.1, .5, .8, .85, .86, .87, .88, .89]),
         "mir": np.array([.1, .4, .6, .7, .69, .68, .67, .66])}
    assert E.terminal_start(h) == 3.0
    assert math.isnan(E.terminal_start(h, threshold=1.1))
    pc = E.phase_correlations(h, ["mir"])
    assert pc["start"] == 3.0
    assert pc["all"]["mir"]["pearson"] > 0.9  # driven by the early epochs
    assert pc["terminal"]["mir"]["pearson"] == pytest.approx(-1.0)  # inside the terminal phase: anti-correlated
    assert pc["terminal"]["mir"]["n"] == 5
    with pytest.raises(ValueError, match="train_acc"):
        E.terminal_start({"epoch": h["epoch"]})


# ----------------------------------------------------------------------------- grokking and barriers
def test_grokking_phases_on_a_synthetic_history():
    step = np.arange(0, 100, 10.0)
    h = {"step": step,
         "train_acc": np.array([0, .5, 1, 1, 1, 1, 1, 1, 1, 1]),
         "test_acc": np.array([0, .1, .2, .2, .3, .5, .95, 1, 1, 1]),
         "mir": np.array([.1, .2, .3, .25, .2, .2, .5, .6, .55, .5]),
         "hdr": np.array([.9, .3, .1, .1, .1, .4, .2, .1, .1, .1])}
    h["mir_batch"] = np.array([.1, .3, .5, .45, .3, .35, .6, .7, .7, .7])
    ph = E.grokking_phases(h)
    assert ph == {"memorized": 20.0, "generalized": 60.0, "delay": 40.0, "steepest_gain": 60.0, "mir_peak": 70.0,
                  "hdr_peak": 0.0, "hdr_peak_after_memorized": 50.0, "hdr_max_after_memorized": 0.4,
                  "hdr_median_after_memorized": 0.1, "jump": 60.0, "mir_batch_start": 0.1,
                  "mir_batch_at_memorized": 0.5, "mir_batch_plateau_peak": 0.6, "mir_batch_plateau_low": 0.6}
    h["mir_batch"][6] = 0.4  # peak on the plateau at step 20, lowest after it 0.3
    ph = E.grokking_phases(h)
    assert (ph["mir_batch_plateau_peak"], ph["mir_batch_plateau_low"]) == (0.5, 0.3)
    h["train_loss"] = np.array([2.0, 1.0, 0.1, 0.01, 0.5, 0.01, 0.2, 0.01, 0.001, 0.02])
    ph = E.grokking_phases(h)
    assert ph["loss_spikes"] == 3 and ph["first_loss_spike"] == 40.0  # x50 at step 40, x20 at 60 and at 90
    h["test_acc"] = np.zeros(10)
    assert math.isnan(E.grokking_phases(h)["generalized"])


def test_grokking_phases_of_a_capped_run_report_every_landmark():
    """A run capped at 2 steps (a dry run) memorises nothing: every landmark is present, NaN or 0, not missing."""
    full = E.grokking_phases({"step": np.arange(4.0), "train_acc": np.array([0, .5, 1, 1]),
                              "test_acc": np.array([0, .1, .2, .95]), "mir": np.ones(4), "hdr": np.ones(4),
                              "mir_batch": np.ones(4), "train_loss": np.array([2.0, 1.0, 30.0, 1.0])})
    capped = E.grokking_phases({"step": np.array([0.0, 1.0]), "train_acc": np.array([0.0, 0.01]),
                                "test_acc": np.array([0.0, 0.01]), "mir": np.array([0.1, 0.2]),
                                "hdr": np.array([0.3, 0.2]), "mir_batch": np.array([0.1, 0.2]),
                                "train_loss": np.array([4.7, 4.6])})
    assert set(capped) == set(full)  # the same keys as a run that reaches every landmark
    assert capped["loss_spikes"] == 0 and isinstance(capped["loss_spikes"], int)
    for key in ("memorized", "generalized", "delay", "jump", "first_loss_spike", "hdr_peak_after_memorized",
                "hdr_max_after_memorized", "mir_batch_plateau_peak"):
        assert math.isnan(capped[key]), key
    assert f"{capped['hdr_peak_after_memorized'] - capped['first_loss_spike']:+6.0f}" == "  +nan"  # the page's table


def test_barrier():
    assert E.barrier([0.9, 0.9, 0.9]) == pytest.approx(0.0)
    assert E.barrier([0.9, 0.5, 0.7]) == pytest.approx(0.3)  # line at 0.8 in the middle
    assert E.barrier([1.0, 3.0, 1.0], higher_is_better=False) == pytest.approx(2.0)
    assert E.barrier([0.5, 0.9, 0.5]) == pytest.approx(0.0)  # above the line: no barrier
    spread = E.barrier_spread([{"acc_barrier": a, "loss_barrier": 0.0, "mir_barrier": 0.0, "hdr_barrier": 1.0}
                               for a in (0.1, 0.3)])
    assert spread["acc_barrier"] == {"mean": pytest.approx(0.2), "sd": pytest.approx(math.sqrt(0.02)), "min": 0.1,
                                     "max": 0.3, "n": 2}
    with pytest.raises(ValueError):
        E.barrier_spread([])
    with pytest.raises(ValueError):
        E.barrier([1.0])
    with pytest.raises(ValueError):
        E.barrier([1.0, np.inf])


def test_interpolation_path_endpoints_are_the_two_networks():
    ds = E.load_dataset("digits")
    torch.manual_seed(0)
    a, b = nn.MLP(64, 10, width=8), nn.MLP(64, 10, width=8)
    path = E.interpolation_path(nn.MLP(64, 10, width=8), a.state_dict(), b.state_dict(), [0.0, 0.5, 1.0], ds,
                                reset_bn=False)
    for end, net in ((0, a), (-1, b)):
        ev = nn.evaluate(net, ds.test)
        assert path["test_acc"][end] == pytest.approx(ev["acc"])
        assert path["test_loss"][end] == pytest.approx(ev["loss"], rel=1e-6)


# ----------------------------------------------------------------------------- data and models
def test_load_dataset_digits_is_clean():
    ds = E.load_dataset("digits")
    assert ds.num_classes == 10 and ds.train.x.shape[1] == 64 and len(ds.test) == 450
    # zero-variance training pixels are zeroed in the test split (no 1e4-scale outliers)
    assert float(ds.test.x.abs().max()) < 1000  # the 1e-6 std floor gave 62500
    img = E.load_dataset("digits_image", seed=1)
    assert img.train.x.shape[1:] == (1, 8, 8)
    with pytest.raises(ValueError, match="unknown dataset"):
        E.load_dataset("mnist")
    with pytest.raises(ValueError, match="unknown model"):
        E.make_model("vgg", ds)


@pytest.mark.skipif(HAS_TORCHVISION, reason="torchvision installed: CIFAR would be downloaded")
@pytest.mark.parametrize("name", ["part1_training_dynamics", "part1_info_losses", "part1_mode_connectivity"])
def test_full_profile_without_torchvision_fails_with_instructions(name, tmp_path, monkeypatch):
    monkeypatch.setenv("MYLIB_RUNS", str(tmp_path))
    cfg = mylib.get_config(name, "full")
    run = {"part1_training_dynamics": E.run_training_dynamics, "part1_info_losses": E.run_info_losses,
           "part1_mode_connectivity": E.run_mode_connectivity}[name]
    with pytest.raises(ImportError, match="torchvision"):
        run(cfg, 0, device=CPU, show_progress=False)


# ----------------------------------------------------------------------------- drivers at tiny sizes
def test_run_training_dynamics_tiny():
    cfg = mylib.get_config("part1_training_dynamics", "smoke",
                           runs=[dict(dataset="digits_image", model="cnn", model_kwargs={"width": 4}, epochs=2,
                                      lr=0.02, weight_decay=1e-3)], n_seeds=2)
    out = E.run_training_dynamics(cfg, 0, device=CPU, show_progress=False)
    res = out["digits_image/cnn"]
    assert len(res["histories"]) == len(res["phases"]) == 2
    h = res["histories"][0]
    assert h["epoch"].tolist() == [0, 1, 2]
    for k in ("test_acc", "mir", "hdr", "mir_batch", "hdr_batch", "mir_gap", "nc1", "nc3", "nc4", *E.DYNAMICS_SERIES):
        assert np.all(np.isfinite(h[k])), k
    assert res["mir_theorem"] == pytest.approx(collapse.nc_mir(10))
    np.testing.assert_allclose(h["mir_gap"], np.abs(h["mir"] - collapse.nc_mir(10)))
    assert set(res["phases"][0]["all"]) == set(E.DYNAMICS_SERIES)
    assert not np.array_equal(h["test_loss"], res["histories"][1]["test_loss"])  # two different seeds


def test_run_info_losses_tiny_is_paired_and_deterministic():
    cfg = mylib.get_config("part1_info_losses", "smoke", n_runs=2, epochs=1, methods=("ce", "mi", "hdr", "mi+hdr"),
                           datasets=[dict(dataset="digits", model="mlp", model_kwargs={"width": 8, "depth": 1},
                                          weight_decay=1e-3)])
    out = E.run_info_losses(cfg, 0, device=CPU, show_progress=False)["digits/mlp"]
    assert set(out["acc"]) == {"ce", "mi", "hdr", "mi+hdr"}
    assert all(v.shape == (2,) and np.all((v > 0) & (v <= 1)) for v in out["acc"].values())
    assert out["acc"]["ce"][0] != out["acc"]["ce"][1]  # each run has its own split, initialisation and order
    again = E.run_info_losses(mylib.get_config("part1_info_losses", "smoke", n_runs=1, epochs=1, methods=("ce",),
                                               datasets=cfg.datasets), 0, device=CPU, show_progress=False)
    assert again["digits/mlp"]["acc"]["ce"][0] == out["acc"]["ce"][0]
    with pytest.raises(ValueError, match="unknown method"):
        E.run_info_losses(mylib.get_config("part1_info_losses", "smoke", methods=("ce", "l2")), 0, device=CPU)


def test_run_grokking_seeds_tiny():
    cfg = mylib.get_config("part1_grokking", "smoke", p=5, d_model=8, n_heads=2, d_mlp=16, steps=4, eval_every=2,
                           n_seeds=2)
    hs = E.run_grokking_seeds(cfg, 0, device=CPU, show_progress=False)
    assert len(hs) == 2 and not np.array_equal(hs[0]["train_loss"], hs[1]["train_loss"])


def test_run_grokking_tiny():
    cfg = mylib.get_config("part1_grokking", "smoke", p=5, d_model=8, n_heads=2, d_mlp=16, steps=6, eval_every=3,
                           train_info=True)
    h = E.run_grokking(cfg, 0, device=CPU, show_progress=False)
    assert h["step"].tolist() == [0, 3, 6]
    for k in ("train_acc", "test_acc", "mir", "hdr", "train_mir", "train_hdr"):
        assert np.all(np.isfinite(h[k])), k


def test_run_mode_connectivity_tiny():
    cfg = mylib.get_config("part1_mode_connectivity", "smoke", epochs=1, smoothing=(0.0, 0.2), n_alphas=3,
                           model="cnn", dataset="digits_image", model_kwargs={"width": 4}, reset_bn=True,
                           spawn_epochs=1, n_pairs=2)
    out = E.run_mode_connectivity(cfg, 0, device=CPU, show_progress=False)
    assert set(out) == {0.0, 0.2}
    for eps in out:
        assert len(out[eps]["same"]) == len(out[eps]["independent"]) == 2
        for pair in ("same", "independent"):
            for r in out[eps][pair]:
                p = r["path"]
                assert p["alpha"].tolist() == [0.0, 0.5, 1.0]
                # the recorded barriers are those of the recorded path (a wrong sign or endpoint fails here)
                assert r["acc_barrier"] == E.barrier(p["test_acc"])
                assert r["loss_barrier"] == E.barrier(p["test_loss"], higher_is_better=False)
                assert r["hdr_barrier"] == E.barrier(p["hdr"], higher_is_better=False)
        # both pairs start from the same trained network
        for k in range(2):
            assert out[eps]["same"][k]["path"]["test_acc"][0] == out[eps]["independent"][k]["path"]["test_acc"][0]
        # the two pairs are independent draws
        assert out[eps]["same"][0]["path"]["test_loss"][0] != out[eps]["same"][1]["path"]["test_loss"][0]


def test_barrier_of_a_path_sees_a_broken_midpoint():
    """A path from a network to itself has no barrier; a path through an inverted head has one (the mutation)."""
    ds = E.load_dataset("digits")
    torch.manual_seed(0)
    net = nn.MLP(64, 10, width=16)
    nn.fit(net, ds.train, None, nn.TrainConfig(epochs=3, lr=0.05), device=CPU, show_progress=False)
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    flat = E.interpolation_path(nn.MLP(64, 10, width=16), sd, sd, [0.0, 0.5, 1.0], ds, reset_bn=False)
    assert E.barrier(flat["test_acc"]) == 0.0 and flat["test_acc"][0] > 0.5
    broken = {k: (-3 * v if k.startswith("fc.") else v) for k, v in sd.items()}  # midpoint head: -w
    path = E.interpolation_path(nn.MLP(64, 10, width=16), sd, broken, [0.0, 0.5, 1.0], ds, reset_bn=False)
    line_mid = 0.5 * (path["test_acc"][0] + path["test_acc"][2])
    assert E.barrier(path["test_acc"]) == pytest.approx(line_mid - path["test_acc"][1])
    assert E.barrier(path["test_acc"]) > 0.2


# ----------------------------------------------------------------------------- pruning
def test_magnitude_prune_removes_the_smallest_weights_globally():
    torch.manual_seed(0)
    net = nn.MLP(6, 3, width=5, depth=1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    E.magnitude_prune(net, 0.4)
    ws = [k for k in before if k.endswith("weight")]
    n = sum(before[k].numel() for k in ws)
    assert E.sparsity_of(net) == math.floor(0.4 * n) / n
    removed = torch.cat([before[k][net.state_dict()[k] == 0].abs() for k in ws])
    kept = torch.cat([before[k][net.state_dict()[k] != 0].abs() for k in ws])
    assert removed.max() <= kept.min()  # pruning by largest magnitude (the mutation) fails here
    for k in before:
        if k.endswith("bias"):
            assert torch.equal(before[k], net.state_dict()[k])
    E.magnitude_prune(net, 0.0)
    assert E.sparsity_of(net) == math.floor(0.4 * n) / n
    with pytest.raises(ValueError, match="sparsity"):
        E.magnitude_prune(net, 1.0)


def test_run_pruning_tiny():
    cfg = mylib.get_config("part1_pruning", "smoke", epochs=2, n_seeds=2, sparsities=(0.0, 0.5, 0.97),
                           model_kwargs={"width": 32, "depth": 1})
    out = E.run_pruning(cfg, 0, device=CPU, show_progress=False)
    assert out["test_acc"].shape == (2, 3)
    np.testing.assert_allclose(out["sparsity"], [0.0, 0.5, 0.97], atol=1e-3)
    assert np.all(out["test_acc"][:, 2] < out["test_acc"][:, 0])  # 97 % of the weights removed hurts
    for k in ("mir", "hdr", "c_mir", "c_hdr"):
        assert np.all(np.isfinite(out[k])), k


def _fake_cifar_dataset(C, n=8, size=32):
    g = torch.Generator().manual_seed(C)
    mk = lambda: TensorData(torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8),
                            torch.arange(n) % C)
    return E.Dataset(f"fake{C}", mk(), mk(), C, nn.cifar_transform(True), nn.cifar_transform(False))


def test_full_profile_paths_run_one_step_on_tiny_stand_ins(tmp_path, monkeypatch):
    """The full configurations (WRN-28-2/WRN-28-8, bf16 and channels-last flags) on fake CIFAR images.

    WRN-28-8 gets two 8x8 images (the network is size-agnostic) to keep the CPU cost small; with
    2 of 100 classes present its NC metrics are NaN by design.
    """
    monkeypatch.setenv("MYLIB_RUNS", str(tmp_path))  # the full profile checkpoints; keep them out of the repo
    fake = {"cifar10": _fake_cifar_dataset(10, n=10), "cifar100": _fake_cifar_dataset(100, n=2, size=8)}
    cfg = mylib.get_config("part1_training_dynamics", "full", batch_size=5, n_seeds=1,
                           runs=[dict(r, epochs=1) for r in mylib.get_config("part1_training_dynamics", "full").runs])
    out = E.run_training_dynamics(cfg, 0, device=CPU, data=fake, show_progress=False)
    assert set(out) == {"cifar10/wrn-28-2", "cifar100/wrn-28-8"}
    assert out["cifar100/wrn-28-8"]["mir_theorem"] == pytest.approx(collapse.nc_mir(100))
    assert np.all(np.isfinite(out["cifar10/wrn-28-2"]["histories"][0]["nc1"]))
    lc = mylib.get_config("part1_info_losses", "full", epochs=1, n_runs=1, batch_size=8, methods=("mi+hdr",),
                          datasets=[dict(dataset="cifar10", model="wrn-28-2", model_kwargs={}, weight_decay=5e-4)])
    res = E.run_info_losses(lc, 0, device=CPU, data=fake, show_progress=False)
    assert np.isfinite(res["cifar10/wrn-28-2"]["mir"]["mi+hdr"][0])


def test_full_grokking_configuration_builds_and_steps(tmp_path, monkeypatch):
    monkeypatch.setenv("MYLIB_RUNS", str(tmp_path))
    cfg = mylib.get_config("part1_grokking", "full", steps=1, eval_every=1, info_max_samples=128)
    assert (cfg.p, cfg.train_fraction, cfg.d_model, cfg.n_heads, cfg.d_mlp) == (113, 0.3, 128, 4, 512)
    h = E.run_grokking(cfg, 0, device=CPU, show_progress=False)
    assert h["step"].tolist() == [0, 1] and np.all(np.isfinite(h["train_mir"]))


def test_checkpointed_driver_resumes_to_identical_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("MYLIB_RUNS", str(tmp_path))
    cfg = mylib.get_config("part1_grokking", "smoke", p=5, d_model=8, n_heads=2, d_mlp=16, steps=8, eval_every=2)
    first = E.run_grokking(cfg, 0, device=CPU, show_progress=False)
    assert list(tmp_path.rglob("checkpoint.pt"))
    second = E.run_grokking(cfg, 0, device=CPU, show_progress=False)  # resumes from the finished checkpoint
    for k in first:
        np.testing.assert_array_equal(first[k], second[k])


def test_collapse_hook_returns_nan_when_a_class_is_missing():
    ctx, C = _collapsed_context()
    keep = ctx.test_labels != 0
    ctx.test_features, ctx.test_labels = ctx.test_features[keep], ctx.test_labels[keep]
    out = E.collapse_hook("test")(ctx)
    assert all(math.isnan(v) for v in out.values())
